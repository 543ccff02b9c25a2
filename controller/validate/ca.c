/*
 * ngx-gateway: CA certificate bundles: what nginx's ssl_client_certificate
 * and proxy_ssl_trusted_certificate would refuse, found before a reload.
 */

#include <string.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "validate/ca.h"

#define GW_CA_MAX_CERTS  256


int
gw_ca_check_pem(const char *pem, size_t len, int *ncerts, gw_err_t *err)
{
    int            rc;
    BIO           *b;
    X509          *c;
    unsigned long  e;

    *ncerts = 0;
    rc = GW_ERR;

    if (len == 0 || len > (size_t) 16 * 1024 * 1024) {
        gw_err_set(err, "ca.crt is empty or too large");
        return GW_ERR;
    }

    ERR_clear_error();

    b = BIO_new_mem_buf(pem, (int) len);
    if (b == NULL) {
        gw_err_set(err, "out of memory");
        return GW_ERR;
    }

    for ( ;; ) {
        c = PEM_read_bio_X509(b, NULL, NULL, NULL);
        if (c == NULL) {
            break;
        }
        X509_free(c);

        if (++*ncerts > GW_CA_MAX_CERTS) {
            gw_err_set(err, "ca.crt has more than %d certificates",
                       GW_CA_MAX_CERTS);
            goto out;
        }
    }

    /* the end of the text is "no start line"; anything else is damage */
    e = ERR_peek_last_error();
    if (e != 0 && !(ERR_GET_LIB(e) == ERR_LIB_PEM
                    && ERR_GET_REASON(e) == PEM_R_NO_START_LINE))
    {
        gw_err_set(err, "ca.crt: certificate %d cannot be read: %s",
                   *ncerts + 1, ERR_reason_error_string(e));
        goto out;
    }

    if (*ncerts == 0) {
        gw_err_set(err, "ca.crt holds no PEM certificate");
        goto out;
    }

    rc = GW_OK;

out:

    ERR_clear_error();
    BIO_free(b);

    return rc;
}


const char *
gw_ca_configmap_pem(const cJSON *data, gw_err_t *err)
{
    int           n;
    const cJSON  *v;

    v = data ? cJSON_GetObjectItemCaseSensitive(data, "ca.crt") : NULL;
    if (!cJSON_IsString(v)) {
        gw_err_set(err, "the ConfigMap has no key ca.crt");
        return NULL;
    }

    if (gw_ca_check_pem(v->valuestring, strlen(v->valuestring), &n, err)
        != GW_OK)
    {
        return NULL;
    }

    return v->valuestring;
}
