/*
 * ngx-gateway: TLS certificate and key checks with OpenSSL: what nginx's
 * ssl_certificate / ssl_certificate_key would refuse, found before a
 * reload, and said in words a user can act on.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "validate/cert.h"

#define GW_CERT_MAX_CHAIN  16


int
gw_base64_decode(const char *in, char **out, size_t *outlen)
{
    int               n, total, rc;
    size_t            len;
    unsigned char    *buf;
    EVP_ENCODE_CTX   *ctx;

    *out = NULL;
    *outlen = 0;
    rc = GW_ERR;

    len = strlen(in);
    buf = gw_xmalloc(len / 4 * 3 + 4);
    ctx = EVP_ENCODE_CTX_new();
    if (ctx == NULL) {
        goto out;
    }

    EVP_DecodeInit(ctx);
    total = 0;

    if (EVP_DecodeUpdate(ctx, buf, &n, (const unsigned char *) in,
                         (int) len) < 0)
    {
        goto out;
    }
    total = n;

    if (EVP_DecodeFinal(ctx, buf + total, &n) < 0) {
        goto out;
    }
    total += n;

    buf[total] = '\0';
    *out = (char *) buf;
    *outlen = (size_t) total;
    buf = NULL;
    rc = GW_OK;

out:

    EVP_ENCODE_CTX_free(ctx);
    free(buf);

    return rc;
}


/* Never prompt for a passphrase: an encrypted key is refused. */
static int
gw_cert_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void) buf;
    (void) size;
    (void) rwflag;
    (void) u;

    return -1;
}


static void
gw_cert_subject(X509 *c, char *buf, size_t size)
{
    X509_NAME_oneline(X509_get_subject_name(c), buf, (int) size);
}


static void
gw_cert_time(const ASN1_TIME *t, char *buf, size_t size)
{
    int   n;
    BIO  *b;

    buf[0] = '\0';

    b = BIO_new(BIO_s_mem());
    if (b == NULL) {
        return;
    }

    if (ASN1_TIME_print(b, t) == 1) {
        n = BIO_read(b, buf, (int) size - 1);
        buf[n > 0 ? n : 0] = '\0';
    }

    BIO_free(b);
}


/* Reads every certificate of the PEM text; returns how many. */
static int
gw_cert_read_chain(const char *crt, size_t crt_len, X509 **chain)
{
    int    n;
    BIO   *b;
    X509  *c;

    b = BIO_new_mem_buf(crt, (int) crt_len);
    if (b == NULL) {
        return 0;
    }

    n = 0;
    while (n < GW_CERT_MAX_CHAIN) {
        c = PEM_read_bio_X509(b, NULL, gw_cert_no_passphrase, NULL);
        if (c == NULL) {
            break;
        }
        chain[n++] = c;
    }

    BIO_free(b);

    return n;
}


static int
gw_cert_check_chain(X509 **chain, int n, gw_err_t *err)
{
    int   i;
    char  sub[256], iss[256];

    for (i = 1; i < n; i++) {
        if (X509_check_issued(chain[i], chain[i - 1]) != X509_V_OK) {
            gw_cert_subject(chain[i - 1], sub, sizeof(sub));
            gw_cert_subject(chain[i], iss, sizeof(iss));
            gw_err_set(err, "tls.crt: certificate %d (%s) is not issued by "
                       "certificate %d (%s): put the server certificate "
                       "first, then each issuer in order", i, sub, i + 1,
                       iss);
            return GW_ERR;
        }
    }

    return GW_OK;
}


static void
gw_cert_validity(X509 *leaf, gw_cert_info_t *info)
{
    char              when[64], sub[160];
    const ASN1_TIME  *t;

    gw_cert_subject(leaf, sub, sizeof(sub));

    t = X509_get0_notAfter(leaf);
    if (X509_cmp_current_time(t) < 0) {
        gw_cert_time(t, when, sizeof(when));
        snprintf(info->note, sizeof(info->note), "warning: the certificate "
                 "%s expired on %s; clients will refuse it", sub, when);
        return;
    }

    t = X509_get0_notBefore(leaf);
    if (X509_cmp_current_time(t) > 0) {
        gw_cert_time(t, when, sizeof(when));
        snprintf(info->note, sizeof(info->note), "warning: the certificate "
                 "%s is not valid before %s", sub, when);
    }
}


int
gw_cert_check_pem(const char *crt, size_t crt_len, const char *key,
    size_t key_len, gw_cert_info_t *info, gw_err_t *err)
{
    int        i, n, rc;
    BIO       *b;
    X509      *chain[GW_CERT_MAX_CHAIN];
    EVP_PKEY  *pkey;

    memset(info, 0, sizeof(gw_cert_info_t));
    pkey = NULL;
    b = NULL;
    rc = GW_ERR;

    n = gw_cert_read_chain(crt, crt_len, chain);
    if (n == 0) {
        gw_err_set(err, "tls.crt holds no PEM certificate (expected "
                   "\"-----BEGIN CERTIFICATE-----\" blocks)");
        goto out;
    }
    info->nchain = n;

    b = BIO_new_mem_buf(key, (int) key_len);
    if (b != NULL) {
        pkey = PEM_read_bio_PrivateKey(b, NULL, gw_cert_no_passphrase, NULL);
    }

    if (pkey == NULL) {
        gw_err_set(err, "tls.key holds no usable PEM private key%s",
                   memmem(key, key_len, "ENCRYPTED", 9) != NULL
                   ? " (it is encrypted; nginx needs it unencrypted)" : "");
        goto out;
    }

    if (X509_check_private_key(chain[0], pkey) != 1) {
        gw_err_set(err, "tls.key does not match the first certificate of "
                   "tls.crt (the server certificate must come first)");
        goto out;
    }

    if (gw_cert_check_chain(chain, n, err) != GW_OK) {
        goto out;
    }

    gw_cert_validity(chain[0], info);

    rc = GW_OK;

out:

    for (i = 0; i < n; i++) {
        X509_free(chain[i]);
    }
    EVP_PKEY_free(pkey);
    BIO_free(b);
    ERR_clear_error();

    return rc;
}


/* The decoded value of data[name]; GW_ERR (err set) when unusable. */
static int
gw_cert_secret_value(const cJSON *data, const char *name, char **out,
    size_t *len, gw_err_t *err)
{
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(data, name);
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0') {
        gw_err_set(err, "the Secret has no %s", name);
        return GW_ERR;
    }

    if (gw_base64_decode(v->valuestring, out, len) != GW_OK) {
        gw_err_set(err, "%s is not base64", name);
        return GW_ERR;
    }

    return GW_OK;
}


int
gw_cert_check_secret(const cJSON *data, gw_cert_info_t *info, gw_err_t *err)
{
    int      rc;
    char    *crt, *key;
    size_t   crt_len, key_len;

    crt = NULL;
    key = NULL;
    rc = GW_ERR;
    memset(info, 0, sizeof(gw_cert_info_t));

    if (gw_cert_secret_value(data, "tls.crt", &crt, &crt_len, err) != GW_OK
        || gw_cert_secret_value(data, "tls.key", &key, &key_len, err)
           != GW_OK)
    {
        goto out;
    }

    rc = gw_cert_check_pem(crt, crt_len, key, key_len, info, err);

out:

    if (key != NULL) {
        OPENSSL_cleanse(key, key_len);
    }
    free(crt);
    free(key);

    return rc;
}
