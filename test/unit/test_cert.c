/*
 * ngx-gateway unit tests: certificate and key checks (validate/cert.c),
 * with keys and certificates generated here by OpenSSL (P-256 keys made
 * for the test and thrown away).
 */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "core/gw_core.h"
#include "validate/cert.h"


typedef struct {
    EVP_PKEY  *key;
    X509      *crt;
} gw_pair_t;


/*
 * A certificate for cn with a new key, signed by issuer (NULL:
 * self-signed), valid from days_from to days_to relative to now.
 */
static gw_pair_t
gw_make(const char *cn, const gw_pair_t *issuer, long days_from,
    long days_to)
{
    gw_pair_t   p;
    X509_NAME  *name;

    p.key = EVP_EC_gen("P-256");
    assert_non_null(p.key);

    p.crt = X509_new();
    assert_non_null(p.crt);
    X509_set_version(p.crt, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(p.crt), 1);
    X509_gmtime_adj(X509_getm_notBefore(p.crt), days_from * 86400);
    X509_gmtime_adj(X509_getm_notAfter(p.crt), days_to * 86400);
    X509_set_pubkey(p.crt, p.key);

    name = X509_get_subject_name(p.crt);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *) cn, -1, -1, 0);
    X509_set_issuer_name(p.crt, issuer ? X509_get_subject_name(issuer->crt)
                                       : name);

    assert_true(X509_sign(p.crt, issuer ? issuer->key : p.key,
                          EVP_sha256()) > 0);

    return p;
}


static void
gw_free_pair(gw_pair_t *p)
{
    X509_free(p->crt);
    EVP_PKEY_free(p->key);
}


/* PEM of certificates crts[0..n) or of a key, as a malloc'd string. */
static char *
gw_pem(X509 **crts, int n, EVP_PKEY *key)
{
    int    i;
    BIO   *b;
    char  *data, *out;
    long   len;

    b = BIO_new(BIO_s_mem());
    for (i = 0; i < n; i++) {
        assert_int_equal(PEM_write_bio_X509(b, crts[i]), 1);
    }
    if (key != NULL) {
        assert_int_equal(PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0,
                                                  NULL, NULL), 1);
    }

    len = BIO_get_mem_data(b, &data);
    out = calloc(1, (size_t) len + 1);
    memcpy(out, data, (size_t) len);
    BIO_free(b);

    return out;
}


static int
gw_check(const char *crt, const char *key, gw_cert_info_t *info,
    gw_err_t *err)
{
    int  rc;

    err->msg[0] = '\0';
    rc = gw_cert_check_pem(crt, strlen(crt), key, strlen(key), info, err);

    /* whatever went wrong, the message never carries the key */
    assert_null(strstr(err->msg, "PRIVATE KEY"));
    assert_null(strstr(err->msg, key + 40));

    return rc;
}


static void
test_self_signed_pair_is_valid(void **state)
{
    char            *crt, *key;
    gw_err_t         err;
    gw_pair_t        p;
    gw_cert_info_t   info;

    (void) state;

    p = gw_make("example.com", NULL, -1, 365);
    crt = gw_pem(&p.crt, 1, NULL);
    key = gw_pem(NULL, 0, p.key);

    assert_int_equal(gw_check(crt, key, &info, &err), GW_OK);
    assert_int_equal(info.nchain, 1);
    assert_string_equal(info.note, "");

    free(crt);
    free(key);
    gw_free_pair(&p);
}


static void
test_key_of_another_certificate_is_refused(void **state)
{
    char            *crt, *key;
    gw_err_t         err;
    gw_pair_t        p, q;
    gw_cert_info_t   info;

    (void) state;

    p = gw_make("example.com", NULL, -1, 365);
    q = gw_make("other.example.com", NULL, -1, 365);
    crt = gw_pem(&p.crt, 1, NULL);
    key = gw_pem(NULL, 0, q.key);

    assert_int_equal(gw_check(crt, key, &info, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "does not match"));

    free(crt);
    free(key);
    gw_free_pair(&p);
    gw_free_pair(&q);
}


static void
test_not_pem_is_refused(void **state)
{
    char            *crt, *key;
    gw_err_t         err;
    gw_pair_t        p;
    gw_cert_info_t   info;

    (void) state;

    p = gw_make("example.com", NULL, -1, 365);
    crt = gw_pem(&p.crt, 1, NULL);
    key = gw_pem(NULL, 0, p.key);

    assert_int_equal(gw_check("Hello world\n", key, &info, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "tls.crt holds no PEM certificate"));

    assert_int_equal(gw_check(crt, "Hello world, this is not a key at "
                              "all, not even close to one\n", &info, &err),
                     GW_ERR);
    assert_non_null(strstr(err.msg, "tls.key holds no usable PEM private "
                                    "key"));

    free(crt);
    free(key);
    gw_free_pair(&p);
}


static void
test_chain_leaf_first_is_valid(void **state)
{
    char            *crt, *key;
    X509            *chain[2];
    gw_err_t         err;
    gw_pair_t        ca, leaf;
    gw_cert_info_t   info;

    (void) state;

    ca = gw_make("Test CA", NULL, -1, 365);
    leaf = gw_make("www.example.com", &ca, -1, 90);
    chain[0] = leaf.crt;
    chain[1] = ca.crt;
    crt = gw_pem(chain, 2, NULL);
    key = gw_pem(NULL, 0, leaf.key);

    assert_int_equal(gw_check(crt, key, &info, &err), GW_OK);
    assert_int_equal(info.nchain, 2);

    free(crt);
    free(key);
    gw_free_pair(&ca);
    gw_free_pair(&leaf);
}


static void
test_chain_out_of_order_is_refused(void **state)
{
    char            *crt, *key;
    X509            *chain[2];
    gw_err_t         err;
    gw_pair_t        ca, other, leaf;
    gw_cert_info_t   info;

    (void) state;

    ca = gw_make("Test CA", NULL, -1, 365);
    other = gw_make("Other CA", NULL, -1, 365);
    leaf = gw_make("www.example.com", &ca, -1, 90);
    key = gw_pem(NULL, 0, leaf.key);

    /* the issuer given is not the leaf's issuer */
    chain[0] = leaf.crt;
    chain[1] = other.crt;
    crt = gw_pem(chain, 2, NULL);
    assert_int_equal(gw_check(crt, key, &info, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "is not issued by"));
    assert_non_null(strstr(err.msg, "www.example.com"));
    free(crt);

    /* CA first: the key belongs to the second certificate */
    chain[0] = ca.crt;
    chain[1] = leaf.crt;
    crt = gw_pem(chain, 2, NULL);
    assert_int_equal(gw_check(crt, key, &info, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "does not match the first certificate"));
    free(crt);

    free(key);
    gw_free_pair(&ca);
    gw_free_pair(&other);
    gw_free_pair(&leaf);
}


static void
test_expired_certificate_is_valid_with_a_warning(void **state)
{
    char            *crt, *key;
    gw_err_t         err;
    gw_pair_t        p;
    gw_cert_info_t   info;

    (void) state;

    p = gw_make("old.example.com", NULL, -30, -1);
    crt = gw_pem(&p.crt, 1, NULL);
    key = gw_pem(NULL, 0, p.key);

    assert_int_equal(gw_check(crt, key, &info, &err), GW_OK);
    assert_non_null(strstr(info.note, "expired on"));
    assert_non_null(strstr(info.note, "old.example.com"));

    free(crt);
    free(key);
    gw_free_pair(&p);
}


/* base64 of s, as a Secret's data carries it */
static char *
gw_b64(const char *s)
{
    int    n;
    char  *out;

    out = calloc(1, strlen(s) / 3 * 4 + 8);
    n = EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) s,
                        (int) strlen(s));
    out[n] = '\0';

    return out;
}


static void
test_secret_data(void **state)
{
    char            *crt, *key, *b;
    cJSON           *data;
    gw_err_t         err;
    gw_pair_t        p;
    gw_cert_info_t   info;

    (void) state;

    p = gw_make("example.com", NULL, -1, 365);
    crt = gw_pem(&p.crt, 1, NULL);
    key = gw_pem(NULL, 0, p.key);

    data = cJSON_CreateObject();
    b = gw_b64(crt);
    cJSON_AddStringToObject(data, "tls.crt", b);
    free(b);

    assert_int_equal(gw_cert_check_secret(data, &info, &err), GW_ERR);
    assert_string_equal(err.msg, "the Secret has no tls.key");

    cJSON_AddStringToObject(data, "tls.key", "!!not base64!!");
    assert_int_equal(gw_cert_check_secret(data, &info, &err), GW_ERR);
    assert_string_equal(err.msg, "tls.key is not base64");

    b = gw_b64(key);
    cJSON_ReplaceItemInObject(data, "tls.key", cJSON_CreateString(b));
    free(b);
    assert_int_equal(gw_cert_check_secret(data, &info, &err), GW_OK);

    /* the upstream conformance suite's malformed Secret: "Hello world" */
    cJSON_ReplaceItemInObject(data, "tls.crt",
                              cJSON_CreateString("SGVsbG8gd29ybGQK"));
    assert_int_equal(gw_cert_check_secret(data, &info, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "tls.crt holds no PEM certificate"));

    cJSON_Delete(data);
    free(crt);
    free(key);
    gw_free_pair(&p);
}


static void
test_base64_with_line_breaks(void **state)
{
    char    *out;
    size_t   len;

    (void) state;

    assert_int_equal(gw_base64_decode("aGVsbG8g\nd29y\nbGQ=", &out, &len),
                     GW_OK);
    assert_int_equal(len, 11);
    assert_string_equal(out, "hello world");
    free(out);

    assert_int_equal(gw_base64_decode("a$b", &out, &len), GW_ERR);
    assert_null(out);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_self_signed_pair_is_valid),
        cmocka_unit_test(test_key_of_another_certificate_is_refused),
        cmocka_unit_test(test_not_pem_is_refused),
        cmocka_unit_test(test_chain_leaf_first_is_valid),
        cmocka_unit_test(test_chain_out_of_order_is_refused),
        cmocka_unit_test(test_expired_certificate_is_valid_with_a_warning),
        cmocka_unit_test(test_secret_data),
        cmocka_unit_test(test_base64_with_line_breaks),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
