/*
 * ngx-gateway: where the API server is and how to authenticate (see
 * kube.h): a kubeconfig file (--kubeconfig, else the first file of
 * $KUBECONFIG) or the pod's service account (in-cluster).
 *
 * A kubeconfig is read with our YAML reader (source/yaml.h), which gives
 * the same JSON kubectl would see.  Only what a controller needs is
 * supported: a bearer token (inline or from a file) or a client
 * certificate; exec plugins and auth providers are refused.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/gw_buf.h"
#include "kube/kube.h"
#include "kube/kube_int.h"
#include "source/yaml.h"

#define GW_KUBE_SA_DIR       "/var/run/secrets/kubernetes.io/serviceaccount"
#define GW_KUBE_FILE_MAX     (16 * 1024 * 1024)


/* What the kubeconfig reader collects: its first document. */
typedef struct {
    cJSON       *doc;
    char         problem[512];
    int          line;
} gw_kube_yaml_t;


int
gw_kube_read_file(const char *path, gw_buf_t *out, gw_err_t *err)
{
    int           rc;
    FILE         *f;
    char          chunk[4096];
    size_t        n;

    rc = GW_ERR;
    gw_buf_reset(out);

    f = fopen(path, "rb");
    if (f == NULL) {
        gw_err_set(err, "%s: %s", path, strerror(errno));
        return GW_ERR;
    }

    for ( ;; ) {
        n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0) {
            break;
        }

        if (out->len + n > GW_KUBE_FILE_MAX) {
            gw_err_set(err, "%s: larger than %d bytes", path,
                       GW_KUBE_FILE_MAX);
            goto out;
        }

        gw_buf_append(out, chunk, n);
    }

    if (ferror(f)) {
        gw_err_set(err, "%s: read error", path);
        goto out;
    }

    rc = GW_OK;

out:

    fclose(f);
    return rc;
}


static int
gw_kube_b64_value(int c)
{
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }

    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 26;
    }

    if (c >= '0' && c <= '9') {
        return c - '0' + 52;
    }

    if (c == '+' || c == '-') {
        return 62;
    }

    if (c == '/' || c == '_') {
        return 63;
    }

    return -1;
}


/*
 * Standard base64 (the URL-safe alphabet is accepted too); white space is
 * skipped, padding is optional, anything after padding is an error.
 */
int
gw_kube_base64_decode(const char *in, gw_buf_t *out)
{
    int            v, n, pad;
    unsigned long  acc;
    const char    *p;

    gw_buf_reset(out);
    acc = 0;
    n = 0;
    pad = 0;

    for (p = in; *p != '\0'; p++) {
        if (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t') {
            continue;
        }

        if (*p == '=') {
            pad++;
            continue;
        }

        v = gw_kube_b64_value((unsigned char) *p);
        if (v < 0 || pad > 0) {
            return GW_ERR;
        }

        acc = (acc << 6) | (unsigned long) v;
        n++;

        if (n == 4) {
            gw_buf_putc(out, (char) ((acc >> 16) & 0xff));
            gw_buf_putc(out, (char) ((acc >> 8) & 0xff));
            gw_buf_putc(out, (char) (acc & 0xff));
            acc = 0;
            n = 0;
        }
    }

    switch (n) {

    case 0:
        return pad == 0 ? GW_OK : GW_ERR;

    case 2:
        gw_buf_putc(out, (char) ((acc >> 4) & 0xff));
        return pad == 0 || pad == 2 ? GW_OK : GW_ERR;

    case 3:
        gw_buf_putc(out, (char) ((acc >> 10) & 0xff));
        gw_buf_putc(out, (char) ((acc >> 2) & 0xff));
        return pad == 0 || pad == 1 ? GW_OK : GW_ERR;

    default:
        return GW_ERR;
    }
}


static void
gw_kube_yaml_doc(void *ctx, cJSON *doc, const char *file, int line)
{
    gw_kube_yaml_t  *y = ctx;

    (void) file;
    (void) line;

    if (y->doc == NULL) {
        y->doc = doc;
        return;
    }

    cJSON_Delete(doc);
}


static void
gw_kube_yaml_err(void *ctx, const char *file, int line, int column,
    const char *problem)
{
    gw_kube_yaml_t  *y = ctx;

    (void) file;
    (void) column;

    if (y->problem[0] == '\0') {
        snprintf(y->problem, sizeof(y->problem), "%s", problem);
        y->line = line;
    }
}


/* A string field of obj, NULL when absent or empty. */
static const char *
gw_kube_str(const cJSON *obj, const char *name)
{
    const char  *s;

    s = cJSON_GetStringValue(cJSON_GetObjectItem(obj, name));

    return s != NULL && s[0] != '\0' ? s : NULL;
}


/* The "name: ..., <field>: {...}" entry of a kubeconfig list. */
static const cJSON *
gw_kube_named(const cJSON *doc, const char *list, const char *field,
    const char *name)
{
    const cJSON  *item;

    cJSON_ArrayForEach(item, cJSON_GetObjectItem(doc, list)) {
        if (gw_streq(gw_kube_str(item, "name"), name)) {
            return cJSON_GetObjectItem(item, field);
        }
    }

    return NULL;
}


/* path as is when absolute, else relative to dir. */
static char *
gw_kube_resolve(const char *dir, const char *path)
{
    gw_buf_t  b;

    if (path[0] == '/' || dir == NULL) {
        return gw_xstrdup(path);
    }

    gw_buf_init(&b);
    gw_buf_printf(&b, "%s/%s", dir, path);

    return gw_buf_detach(&b);
}


/* The decoded base64 field of obj, as a string, or NULL when absent. */
static int
gw_kube_data(const cJSON *obj, const char *name, const char *file,
    char **out, gw_err_t *err)
{
    const char  *s;
    gw_buf_t     b;

    s = gw_kube_str(obj, name);
    if (s == NULL) {
        return GW_OK;
    }

    gw_buf_init(&b);

    if (gw_kube_base64_decode(s, &b) != GW_OK || b.len == 0) {
        gw_buf_free(&b);
        gw_err_set(err, "%s: %s is not valid base64", file, name);
        return GW_ERR;
    }

    *out = gw_buf_detach(&b);

    return GW_OK;
}


static int
gw_kube_is_true(const cJSON *v)
{
    return cJSON_IsTrue(v)
           || gw_streq(cJSON_GetStringValue(v), "true");
}


static int
gw_kube_config_cluster(gw_kube_config_t *cfg, const cJSON *cluster,
    const char *file, const char *dir, const char *name, gw_err_t *err)
{
    size_t       n;
    const char  *server, *ca;

    server = gw_kube_str(cluster, "server");
    if (server == NULL) {
        gw_err_set(err, "%s: cluster \"%s\" has no server", file, name);
        return GW_ERR;
    }

    if (strncmp(server, "https://", 8) != 0
        && strncmp(server, "http://", 7) != 0)
    {
        gw_err_set(err, "%s: cluster \"%s\": server \"%s\" is not an "
                   "http:// or https:// URL", file, name, server);
        return GW_ERR;
    }

    cfg->server = gw_xstrdup(server);
    n = strlen(cfg->server);
    while (n > 0 && cfg->server[n - 1] == '/') {
        cfg->server[--n] = '\0';
    }

    cfg->insecure = gw_kube_is_true(cJSON_GetObjectItem(cluster,
                                        "insecure-skip-tls-verify"));

    if (gw_kube_data(cluster, "certificate-authority-data", file,
                     &cfg->ca_data, err)
        != GW_OK)
    {
        return GW_ERR;
    }

    ca = gw_kube_str(cluster, "certificate-authority");
    if (cfg->ca_data == NULL && ca != NULL) {
        cfg->ca_file = gw_kube_resolve(dir, ca);
    }

    return GW_OK;
}


static int
gw_kube_config_user(gw_kube_config_t *cfg, const cJSON *user,
    const char *file, const char *dir, const char *name, gw_err_t *err)
{
    const char  *s;

    if (cJSON_GetObjectItem(user, "exec") != NULL
        || cJSON_GetObjectItem(user, "auth-provider") != NULL)
    {
        gw_err_set(err, "%s: user \"%s\": %s is not supported: use a token "
                   "or client certificate", file, name,
                   cJSON_GetObjectItem(user, "exec") != NULL
                   ? "exec" : "auth-provider");
        return GW_ERR;
    }

    s = gw_kube_str(user, "token");
    if (s != NULL) {
        cfg->token = gw_xstrdup(s);

    } else {
        s = gw_kube_str(user, "tokenFile");
        if (s != NULL) {
            cfg->token_file = gw_kube_resolve(dir, s);
        }
    }

    if (gw_kube_data(user, "client-certificate-data", file, &cfg->cert_data,
                     err)
        != GW_OK
        || gw_kube_data(user, "client-key-data", file, &cfg->key_data, err)
           != GW_OK)
    {
        return GW_ERR;
    }

    s = gw_kube_str(user, "client-certificate");
    if (cfg->cert_data == NULL && s != NULL) {
        cfg->cert_file = gw_kube_resolve(dir, s);
    }

    s = gw_kube_str(user, "client-key");
    if (cfg->key_data == NULL && s != NULL) {
        cfg->key_file = gw_kube_resolve(dir, s);
    }

    if ((cfg->cert_data != NULL || cfg->cert_file != NULL)
        != (cfg->key_data != NULL || cfg->key_file != NULL))
    {
        gw_err_set(err, "%s: user \"%s\": a client certificate needs a "
                   "client key and the other way round", file, name);
        return GW_ERR;
    }

    if (cfg->token == NULL && cfg->token_file == NULL
        && cfg->cert_data == NULL && cfg->cert_file == NULL
        && (gw_kube_str(user, "username") != NULL
            || gw_kube_str(user, "password") != NULL))
    {
        gw_err_set(err, "%s: user \"%s\": basic authentication is not "
                   "supported: use a token or client certificate", file,
                   name);
        return GW_ERR;
    }

    return GW_OK;
}


static int
gw_kube_config_kubeconfig(gw_kube_config_t *cfg, const char *file,
    gw_err_t *err)
{
    int              rc;
    char            *dir, *slash;
    gw_buf_t         text;
    const char      *current, *cluster_name, *user_name, *ns;
    const cJSON     *context, *cluster, *user;
    gw_kube_yaml_t   y;

    rc = GW_ERR;
    dir = NULL;
    memset(&y, 0, sizeof(y));
    gw_buf_init(&text);

    if (gw_kube_read_file(file, &text, err) != GW_OK) {
        goto out;
    }

    if (gw_yaml_parse(file, text.data, text.len, gw_kube_yaml_doc,
                      gw_kube_yaml_err, &y)
        < 0)
    {
        gw_err_set(err, "%s: out of memory reading YAML", file);
        goto out;
    }

    if (y.doc == NULL) {
        if (y.problem[0] != '\0') {
            gw_err_set(err, "%s:%d: %s", file, y.line, y.problem);
        } else {
            gw_err_set(err, "%s: empty kubeconfig", file);
        }
        goto out;
    }

    dir = gw_xstrdup(file);
    slash = strrchr(dir, '/');
    if (slash == NULL) {
        free(dir);
        dir = NULL;
    } else if (slash == dir) {
        slash[1] = '\0';
    } else {
        *slash = '\0';
    }

    current = gw_kube_str(y.doc, "current-context");
    if (current == NULL) {
        gw_err_set(err, "%s: no current-context (set one with `kubectl "
                   "config use-context NAME`)", file);
        goto out;
    }

    context = gw_kube_named(y.doc, "contexts", "context", current);
    if (context == NULL) {
        gw_err_set(err, "%s: current-context \"%s\" is not in contexts",
                   file, current);
        goto out;
    }

    cluster_name = gw_kube_str(context, "cluster");
    if (cluster_name == NULL) {
        gw_err_set(err, "%s: context \"%s\" names no cluster", file,
                   current);
        goto out;
    }

    cluster = gw_kube_named(y.doc, "clusters", "cluster", cluster_name);
    if (cluster == NULL) {
        gw_err_set(err, "%s: cluster \"%s\" (of context \"%s\") is not in "
                   "clusters", file, cluster_name, current);
        goto out;
    }

    if (gw_kube_config_cluster(cfg, cluster, file, dir, cluster_name, err)
        != GW_OK)
    {
        goto out;
    }

    user_name = gw_kube_str(context, "user");
    if (user_name != NULL) {
        user = gw_kube_named(y.doc, "users", "user", user_name);
        if (user == NULL) {
            gw_err_set(err, "%s: user \"%s\" (of context \"%s\") is not in "
                       "users", file, user_name, current);
            goto out;
        }

        if (gw_kube_config_user(cfg, user, file, dir, user_name, err)
            != GW_OK)
        {
            goto out;
        }
    }

    ns = gw_kube_str(context, "namespace");
    if (ns != NULL) {
        cfg->namespace = gw_xstrdup(ns);
    }

    rc = GW_OK;

out:

    free(dir);
    cJSON_Delete(y.doc);
    gw_buf_free(&text);

    return rc;
}


static char *
gw_kube_path_join(const char *dir, const char *name)
{
    gw_buf_t  b;

    gw_buf_init(&b);
    gw_buf_printf(&b, "%s/%s", dir, name);

    return gw_buf_detach(&b);
}


static int
gw_kube_config_in_cluster(gw_kube_config_t *cfg, gw_err_t *err)
{
    int           rc;
    char         *path;
    size_t        n;
    gw_buf_t      b;
    const char   *dir, *host, *port;
    struct stat   st;

    rc = GW_ERR;
    path = NULL;
    gw_buf_init(&b);

    host = getenv("KUBERNETES_SERVICE_HOST");
    port = getenv("KUBERNETES_SERVICE_PORT");

    if (host == NULL || host[0] == '\0' || port == NULL || port[0] == '\0') {
        gw_err_set(err, "not running in a cluster (KUBERNETES_SERVICE_HOST "
                   "and KUBERNETES_SERVICE_PORT are not set) and no "
                   "kubeconfig given: use --kubeconfig PATH or set "
                   "KUBECONFIG");
        return GW_ERR;
    }

    dir = getenv("GW_KUBE_SA_DIR");
    if (dir == NULL || dir[0] == '\0') {
        dir = GW_KUBE_SA_DIR;
    }

    gw_buf_printf(&b, strchr(host, ':') != NULL ? "https://[%s]:%s"
                                                : "https://%s:%s",
                  host, port);
    cfg->server = gw_buf_detach(&b);

    cfg->token_file = gw_kube_path_join(dir, "token");
    if (stat(cfg->token_file, &st) != 0) {
        gw_err_set(err, "in-cluster: service account token %s: %s",
                   cfg->token_file, strerror(errno));
        goto out;
    }

    path = gw_kube_path_join(dir, "ca.crt");
    if (stat(path, &st) == 0) {
        cfg->ca_file = path;
        path = NULL;
    }

    free(path);
    path = gw_kube_path_join(dir, "namespace");
    if (gw_kube_read_file(path, &b, NULL) == GW_OK) {
        n = b.len;
        while (n > 0 && (b.data[n - 1] == '\n' || b.data[n - 1] == ' '
                         || b.data[n - 1] == '\r'))
        {
            n--;
        }

        if (n > 0) {
            b.data[n] = '\0';
            cfg->namespace = gw_xstrdup(b.data);
        }
    }

    rc = GW_OK;

out:

    free(path);
    gw_buf_free(&b);

    return rc;
}


int
gw_kube_config_load(gw_kube_config_t *cfg, const char *path, gw_err_t *err)
{
    int          rc;
    char        *first, *colon;
    const char  *env;

    memset(cfg, 0, sizeof(*cfg));

    if (path != NULL && path[0] != '\0') {
        rc = gw_kube_config_kubeconfig(cfg, path, err);

    } else {
        env = getenv("KUBECONFIG");

        /* the first non-empty entry of the list */
        while (env != NULL && *env == ':') {
            env++;
        }

        if (env != NULL && env[0] != '\0') {
            first = gw_xstrdup(env);
            colon = strchr(first, ':');
            if (colon != NULL) {
                *colon = '\0';
            }

            rc = gw_kube_config_kubeconfig(cfg, first, err);
            free(first);

        } else {
            rc = gw_kube_config_in_cluster(cfg, err);
        }
    }

    if (rc != GW_OK) {
        gw_kube_config_release(cfg);
    }

    return rc;
}


void
gw_kube_config_release(gw_kube_config_t *cfg)
{
    /* credentials must not linger in freed memory */
    if (cfg->token != NULL) {
        memset(cfg->token, 0, strlen(cfg->token));
    }

    if (cfg->key_data != NULL) {
        memset(cfg->key_data, 0, strlen(cfg->key_data));
    }

    free(cfg->server);
    free(cfg->token);
    free(cfg->token_file);
    free(cfg->ca_file);
    free(cfg->ca_data);
    free(cfg->cert_data);
    free(cfg->key_data);
    free(cfg->cert_file);
    free(cfg->key_file);
    free(cfg->namespace);

    memset(cfg, 0, sizeof(*cfg));
}
