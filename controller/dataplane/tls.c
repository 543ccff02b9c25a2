/*
 * ngx-gateway: TLS termination in the data plane: the certificate files
 * of HTTPS servers and the SNI map that tells misdirected requests apart.
 *
 * Every server of an HTTPS listen socket serves the certificates of the
 * listener it is counted under (gw_dp_server_tag_t): the most specific
 * listener for its hostname, and for the catch-all server (no SNI, or a
 * name no listener has) the listener without hostname, else the first.
 * nginx picks the server for the handshake by SNI and the server for the
 * request by Host, with the same precedence, so both name a listener.
 * When they name different listeners of the port, the request was
 * misdirected (421): the map below gives SNI's listener.
 */

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/gw_buf.h"
#include "dataplane/dataplane_int.h"
#include "validate/cert.h"

#define GW_DP_CERT_HASH_BYTES  16

/* The decoded value of a Secret's data[name], or NULL. */
static char *
gw_dp_secret_value(const gw_obj_t *secret, const char *name, size_t *len)
{
    char          *out;
    const cJSON   *v;

    v = cJSON_GetObjectItemCaseSensitive(secret->u.secret.data, name);
    if (!cJSON_IsString(v)
        || gw_base64_decode(v->valuestring, &out, len) != GW_OK)
    {
        return NULL;
    }

    return out;
}


static void
gw_dp_secret_free(char *data, size_t len)
{
    if (data != NULL) {
        OPENSSL_cleanse(data, len);
        free(data);
    }
}


/*
 * The file of content pem (len bytes), named by its hash and labelled
 * what; NULL when the hash cannot be computed.
 */
static gw_dp_cert_t *
gw_dp_cert_make(gw_arena_t *a, const char *pem, size_t len, const char *what)
{
    size_t          i;
    unsigned int    mdlen;
    unsigned char   md[EVP_MAX_MD_SIZE];
    char            hex[2 * EVP_MAX_MD_SIZE + 1];
    gw_dp_cert_t   *c;

    if (EVP_Digest(pem, len, md, &mdlen, EVP_sha256(), NULL) != 1) {
        return NULL;
    }

    /* 128 bits of it name the file */
    for (i = 0; i < GW_DP_CERT_HASH_BYTES && i < mdlen; i++) {
        hex[2 * i] = "0123456789abcdef"[md[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[md[i] & 0xf];
    }
    hex[2 * i] = '\0';

    c = gw_arena_alloc(a, sizeof(gw_dp_cert_t));
    c->file = gw_arena_printf(a, "%s.pem", hex);
    c->secret = what;
    c->pem = gw_arena_strndup(a, pem, len);
    c->len = len;

    return c;
}


/*
 * File c once among the files of a data plane (seen: file name -> file,
 * files: the list the runtime writes): the one already made for the same
 * content, or c, added.  NULL stays NULL.
 */
gw_dp_cert_t *
gw_dp_cert_once(gw_arena_t *a, gw_map_t *seen, gw_ptrs_t *files,
    gw_dp_cert_t *c)
{
    gw_dp_cert_t  *have;

    if (c == NULL) {
        return NULL;
    }

    have = gw_map_get(seen, c->file);
    if (have != NULL) {
        return have;
    }

    gw_map_put(seen, c->file, c);
    gw_ptrs_push(a, files, c);

    return c;
}


/* The file c of the http data plane (see gw_dp_cert_once). */
static gw_dp_cert_t *
gw_dp_cert_add(gw_dp_ctx_t *ctx, gw_dp_cert_t *c)
{
    return gw_dp_cert_once(ctx->a, &ctx->certs, &ctx->dp->certs, c);
}


/*
 * The file for a Secret the graph checked: the chain, a line break if it
 * lacks one, then the key; NULL if the Secret cannot be read (the graph
 * would not have accepted the listener).
 */
gw_dp_cert_t *
gw_dp_cert_read(gw_arena_t *a, const gw_obj_t *secret)
{
    char           *crt, *key, *pem;
    size_t          crt_len, key_len, len, i;
    gw_dp_cert_t   *c;

    c = NULL;
    pem = NULL;
    len = 0;

    crt = gw_dp_secret_value(secret, "tls.crt", &crt_len);
    key = gw_dp_secret_value(secret, "tls.key", &key_len);
    if (crt == NULL || key == NULL || crt_len == 0) {
        goto out;
    }

    len = crt_len + (crt[crt_len - 1] != '\n') + key_len;
    pem = gw_xmalloc(len + 1);

    memcpy(pem, crt, crt_len);
    i = crt_len;
    if (crt[crt_len - 1] != '\n') {
        pem[i++] = '\n';
    }
    memcpy(pem + i, key, key_len);
    pem[len] = '\0';

    c = gw_dp_cert_make(a, pem, len,
                        gw_arena_printf(a, "%s/%s", secret->meta.namespace,
                                        secret->meta.name));

out:

    gw_dp_secret_free(crt, crt_len);
    gw_dp_secret_free(key, key_len);
    gw_dp_secret_free(pem, len);

    return c;
}


/* The data plane's file of content pem (len bytes), labelled what. */
gw_dp_cert_t *
gw_dp_file(gw_dp_ctx_t *ctx, const char *pem, size_t len, const char *what)
{
    return gw_dp_cert_add(ctx, gw_dp_cert_make(ctx->a, pem, len, what));
}


/* The data plane's file for a Secret the graph checked (see above). */
gw_dp_cert_t *
gw_dp_cert(gw_dp_ctx_t *ctx, const gw_obj_t *secret)
{
    return gw_dp_cert_add(ctx, gw_dp_cert_read(ctx->a, secret));
}


/*
 * The CA bundles of listener l's client certificate validation as one
 * file (not yet part of a data plane; http{} and stream{} add it).
 */
gw_dp_cert_t *
gw_dp_client_ca_make(gw_arena_t *a, const gw_glistener_t *l)
{
    size_t         i, n;
    gw_buf_t       b;
    gw_dp_cert_t  *c;

    gw_buf_init(&b);

    for (i = 0; i < l->nca_pems; i++) {
        n = strlen(l->ca_pems[i]);
        gw_buf_append(&b, l->ca_pems[i], n);
        if (n > 0 && l->ca_pems[i][n - 1] != '\n') {
            gw_buf_putc(&b, '\n');
        }
    }

    c = gw_dp_cert_make(a, b.data, b.len,
                        gw_arena_printf(a, "%s/%s listener %s",
                                        l->gateway->obj->meta.namespace,
                                        l->gateway->obj->meta.name,
                                        l->spec->name));

    gw_buf_free(&b);

    return c;
}


void
gw_dp_tls_server(gw_dp_ctx_t *ctx, gw_dp_server_t *s)
{
    size_t         i, j;
    gw_dp_cert_t  *c;

    if (s->listener == NULL) {
        return;
    }

    /* every certificate (nginx serves RSA and ECDSA side by side), once */
    for (i = 0; i < s->listener->nsecrets; i++) {
        c = gw_dp_cert_add(ctx, gw_dp_cert_read(ctx->a,
                                                s->listener->secrets[i]));
        if (c == NULL) {
            continue;
        }

        for (j = 0; j < s->certs.n && s->certs.items[j] != c; j++) {
            /* void */
        }
        if (j == s->certs.n) {
            gw_ptrs_push(ctx->a, &s->certs, c);
        }
    }

    if (s->listener->verify != GW_VERIFY_NONE) {
        s->client_ca = gw_dp_cert_add(ctx, gw_dp_client_ca_make(ctx->a,
                                                              s->listener));
        s->verify = s->client_ca != NULL ? s->listener->verify
                                         : GW_VERIFY_NONE;
    }
}


void
gw_dp_tls_sni(gw_dp_ctx_t *ctx, gw_dp_listen_t *l)
{
    size_t                 i;
    gw_dp_sni_t           *e;
    gw_dp_server_t        *s;
    const gw_glistener_t  *gl;

    if (l->listeners.n < 2) {
        return;
    }

    for (i = 0; i < l->listeners.n; i++) {
        gl = l->listeners.items[i];
        if (gl->spec->hostname == NULL) {
            continue;
        }

        e = gw_arena_alloc(ctx->a, sizeof(gw_dp_sni_t));
        e->hostname = gl->spec->hostname;
        e->listener = gl->spec->name;
        gw_ptrs_push(ctx->a, &l->sni, e);
    }

    /* a name no listener has, or none: the catch-all server's listener */
    s = gw_map_get(l->by_host, "");
    l->sni_default = (s != NULL && s->listener != NULL)
                     ? s->listener->spec->name : "";
}


static int
gw_dp_sni_cmp(const void *a, const void *b)
{
    const gw_dp_sni_t  *x = *(gw_dp_sni_t * const *) a;
    const gw_dp_sni_t  *y = *(gw_dp_sni_t * const *) b;

    return strcmp(x->hostname, y->hostname);
}


void
gw_dp_tls_sort(gw_dp_t *dp)
{
    size_t           i;
    gw_dp_listen_t  *l;

    gw_ptrs_sort(&dp->certs, gw_dp_cert_cmp);

    for (i = 0; i < dp->listens.n; i++) {
        l = dp->listens.items[i];
        gw_ptrs_sort(&l->sni, gw_dp_sni_cmp);
    }
}
