/*
 * ngx-gateway: TLS certificate and key checks (OpenSSL) for the Secrets a
 * listener's tls.certificateRefs name.  Messages say what is wrong with
 * the certificate or key; they never contain key material.
 */

#ifndef GW_VALIDATE_CERT_H
#define GW_VALIDATE_CERT_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"

#define GW_CERT_NOTE_LEN  512

typedef struct {
    int   nchain;                     /* certificates in tls.crt */
    char  note[GW_CERT_NOTE_LEN];     /* "" or a warning on a usable pair */
} gw_cert_info_t;

/*
 * Checks a PEM certificate chain (leaf first, then each issuer) and the
 * PEM private key of the leaf.  GW_OK when nginx could serve them; an
 * expired or not yet valid leaf is still GW_OK, with info->note saying so.
 */
int gw_cert_check_pem(const char *crt, size_t crt_len, const char *key,
    size_t key_len, gw_cert_info_t *info, gw_err_t *err);

/*
 * The same checks on the data of a kubernetes.io/tls Secret: base64
 * values under "tls.crt" and "tls.key".
 */
int gw_cert_check_secret(const cJSON *data, gw_cert_info_t *info,
    gw_err_t *err);

/*
 * Decodes base64 (line breaks allowed) into a new NUL-terminated buffer
 * the caller frees.  GW_ERR when in is not base64.
 */
int gw_base64_decode(const char *in, char **out, size_t *outlen);

#endif /* GW_VALIDATE_CERT_H */
