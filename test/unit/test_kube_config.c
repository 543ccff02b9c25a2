/*
 * Unit tests: where the API server is and how to authenticate
 * (controller/kube/config.c): kubeconfig files, $KUBECONFIG, in-cluster.
 *
 * Run from the repository root (fixtures are read from
 * test/unit/fixtures/kube/).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "kube/kube.h"
#include "kube/kube_int.h"


#define FIXTURES  "test/unit/fixtures/kube/"


static void
assert_contains(const char *s, const char *part)
{
    if (s == NULL || strstr(s, part) == NULL) {
        fail_msg("\"%s\" does not contain \"%s\"", s ? s : "(null)", part);
    }
}


/* Loads a kubeconfig that must be good. */
static void
load_ok(gw_kube_config_t *cfg, const char *path)
{
    gw_err_t  err;

    err.msg[0] = '\0';
    if (gw_kube_config_load(cfg, path, &err) != GW_OK) {
        fail_msg("%s: %s", path ? path : "(KUBECONFIG or in-cluster)",
                 err.msg);
    }
}


/* Loads a kubeconfig that must be refused with a message naming part. */
static void
load_fails(const char *path, const char *part)
{
    gw_err_t          err;
    gw_kube_config_t  cfg;

    err.msg[0] = '\0';
    assert_int_equal(gw_kube_config_load(&cfg, path, &err), GW_ERR);
    assert_contains(err.msg, part);

    /* nothing is left allocated or half-filled */
    assert_null(cfg.server);
    assert_null(cfg.token);
}


static void
test_token_and_relative_ca(void **state)
{
    gw_kube_config_t  cfg;

    (void) state;

    load_ok(&cfg, FIXTURES "token.yaml");

    /* current-context "dev", not the first context */
    assert_string_equal(cfg.server, "https://127.0.0.1:6443");
    assert_string_equal(cfg.token, "dev-token");
    assert_null(cfg.token_file);
    assert_string_equal(cfg.ca_file, FIXTURES "certs/ca.pem");
    assert_null(cfg.ca_data);
    assert_null(cfg.cert_data);
    assert_null(cfg.cert_file);
    assert_int_equal(cfg.insecure, 0);
    assert_string_equal(cfg.namespace, "team-a");

    gw_kube_config_release(&cfg);
    assert_null(cfg.server);
}


static void
test_inline_data(void **state)
{
    gw_kube_config_t  cfg;

    (void) state;

    load_ok(&cfg, FIXTURES "certdata.yaml");

    assert_string_equal(cfg.server, "https://[::1]:34567");
    assert_null(cfg.token);
    assert_string_equal(cfg.ca_data, "-----BEGIN CERTIFICATE-----\n"
                        "CA-FIXTURE\n-----END CERTIFICATE-----\n");
    /* the data wins over a file, as with kubectl */
    assert_null(cfg.ca_file);
    assert_string_equal(cfg.cert_data, "-----BEGIN CERTIFICATE-----\n"
                        "CLIENT-FIXTURE\n-----END CERTIFICATE-----\n");
    assert_string_equal(cfg.key_data, "-----BEGIN PRIVATE KEY-----\n"
                        "KEY-FIXTURE\n-----END PRIVATE KEY-----\n");
    assert_null(cfg.namespace);

    gw_kube_config_release(&cfg);
}


static void
test_insecure_token_file_cert_files(void **state)
{
    gw_kube_config_t  cfg;

    (void) state;

    load_ok(&cfg, FIXTURES "insecure.yaml");

    assert_string_equal(cfg.server, "http://localhost:8001");
    assert_int_equal(cfg.insecure, 1);
    assert_null(cfg.token);
    assert_string_equal(cfg.token_file, FIXTURES "certs/token");
    assert_string_equal(cfg.cert_file, "/etc/absolute/client.crt");
    assert_string_equal(cfg.key_file, FIXTURES "certs/client.key");

    gw_kube_config_release(&cfg);
}


static void
test_refused(void **state)
{
    (void) state;

    load_fails(FIXTURES "exec.yaml", "exec is not supported: use a token "
               "or client certificate");
    load_fails(FIXTURES "exec.yaml", "user \"aws\"");
    load_fails(FIXTURES "authprovider.yaml", "auth-provider is not "
               "supported");
    load_fails(FIXTURES "no-current-context.yaml", "no current-context");
    load_fails(FIXTURES "missing-context.yaml",
               "current-context \"staging\" is not in contexts");
    load_fails(FIXTURES "missing-cluster.yaml",
               "cluster \"gone\" (of context \"c\") is not in clusters");
    load_fails(FIXTURES "bad-base64.yaml",
               "certificate-authority-data is not valid base64");
    load_fails(FIXTURES "does-not-exist.yaml", "does-not-exist.yaml");
}


static void
test_kubeconfig_env(void **state)
{
    gw_kube_config_t  cfg;

    (void) state;

    /* the first file of the list; an explicit path wins */
    setenv("KUBECONFIG", ":" FIXTURES "certdata.yaml:/nonexistent", 1);
    load_ok(&cfg, NULL);
    assert_string_equal(cfg.server, "https://[::1]:34567");
    gw_kube_config_release(&cfg);

    load_ok(&cfg, FIXTURES "token.yaml");
    assert_string_equal(cfg.server, "https://127.0.0.1:6443");
    gw_kube_config_release(&cfg);

    setenv("KUBECONFIG", FIXTURES "exec.yaml", 1);
    load_fails(NULL, "exec is not supported");

    unsetenv("KUBECONFIG");
}


static void
write_file(const char *dir, const char *name, const char *text)
{
    FILE  *f;
    char   path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}


static void
remove_file(const char *dir, const char *name)
{
    char  path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    unlink(path);
}


static void
test_in_cluster(void **state)
{
    char              dir[] = "/tmp/gw-kube-sa-XXXXXX", path[512];
    gw_err_t          err;
    gw_kube_config_t  cfg;

    (void) state;

    assert_non_null(mkdtemp(dir));
    write_file(dir, "token", "sa-token\n");
    write_file(dir, "ca.crt", "-----BEGIN CERTIFICATE-----\n");
    write_file(dir, "namespace", "gateway-system\n");

    unsetenv("KUBECONFIG");
    setenv("GW_KUBE_SA_DIR", dir, 1);

    /* not in a cluster: the message says what to do */
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
    load_fails(NULL, "KUBERNETES_SERVICE_HOST");
    load_fails(NULL, "--kubeconfig");

    setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
    setenv("KUBERNETES_SERVICE_PORT", "443", 1);
    load_ok(&cfg, NULL);

    assert_string_equal(cfg.server, "https://10.96.0.1:443");
    /* the token is read by the client, so that rotation is seen */
    assert_null(cfg.token);
    snprintf(path, sizeof(path), "%s/token", dir);
    assert_string_equal(cfg.token_file, path);
    snprintf(path, sizeof(path), "%s/ca.crt", dir);
    assert_string_equal(cfg.ca_file, path);
    assert_string_equal(cfg.namespace, "gateway-system");
    assert_int_equal(cfg.insecure, 0);
    gw_kube_config_release(&cfg);

    /* IPv6 service address */
    setenv("KUBERNETES_SERVICE_HOST", "fd00:10:96::1", 1);
    load_ok(&cfg, NULL);
    assert_string_equal(cfg.server, "https://[fd00:10:96::1]:443");
    gw_kube_config_release(&cfg);

    /* no CA and no namespace file: system CAs, no namespace */
    remove_file(dir, "ca.crt");
    remove_file(dir, "namespace");
    load_ok(&cfg, NULL);
    assert_null(cfg.ca_file);
    assert_null(cfg.namespace);
    gw_kube_config_release(&cfg);

    /* no token: refused, naming the file */
    remove_file(dir, "token");
    err.msg[0] = '\0';
    assert_int_equal(gw_kube_config_load(&cfg, NULL, &err), GW_ERR);
    assert_contains(err.msg, "service account token");
    assert_contains(err.msg, dir);

    rmdir(dir);
    unsetenv("GW_KUBE_SA_DIR");
    unsetenv("KUBERNETES_SERVICE_HOST");
    unsetenv("KUBERNETES_SERVICE_PORT");
}


static void
assert_b64(const char *in, const char *want)
{
    gw_buf_t  b;

    gw_buf_init(&b);
    if (gw_kube_base64_decode(in, &b) != GW_OK) {
        fail_msg("\"%s\" refused", in);
    }
    assert_int_equal(b.len, strlen(want));
    assert_memory_equal(b.data, want, b.len);
    gw_buf_free(&b);
}


static void
test_base64(void **state)
{
    gw_buf_t  b;

    (void) state;

    assert_b64("", "");
    assert_b64("Zg==", "f");
    assert_b64("Zm8=", "fo");
    assert_b64("Zm9v", "foo");
    assert_b64("Zg", "f");
    assert_b64("Zm8", "fo");
    assert_b64("Zm9v\nYmFy\n", "foobar");
    assert_b64("-_8=", "\xfb\xff");
    assert_b64("+/8=", "\xfb\xff");

    gw_buf_init(&b);
    assert_int_equal(gw_kube_base64_decode("Z", &b), GW_ERR);
    assert_int_equal(gw_kube_base64_decode("Zg=", &b), GW_ERR);
    assert_int_equal(gw_kube_base64_decode("Zg==Zg==", &b), GW_ERR);
    assert_int_equal(gw_kube_base64_decode("Zm9v!", &b), GW_ERR);
    assert_int_equal(gw_kube_base64_decode("Zm9v=", &b), GW_ERR);
    gw_buf_free(&b);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_token_and_relative_ca),
        cmocka_unit_test(test_inline_data),
        cmocka_unit_test(test_insecure_token_file_cert_files),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_kubeconfig_env),
        cmocka_unit_test(test_in_cluster),
        cmocka_unit_test(test_base64),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
