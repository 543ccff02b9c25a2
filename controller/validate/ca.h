/*
 * ngx-gateway: CA certificate bundles (OpenSSL): the trust anchors of
 * frontend client certificate validation and of BackendTLSPolicy, from the
 * "ca.crt" key of a ConfigMap.
 */

#ifndef GW_VALIDATE_CA_H
#define GW_VALIDATE_CA_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"

/*
 * Checks a PEM bundle: one or more certificates and nothing else that
 * PEM would read; *ncerts is how many.  GW_ERR says what is wrong.
 */
int gw_ca_check_pem(const char *pem, size_t len, int *ncerts, gw_err_t *err);

/*
 * The "ca.crt" value of a ConfigMap's data (plain text, not base64), or
 * NULL with err set when it is missing or not a usable bundle.
 */
const char *gw_ca_configmap_pem(const cJSON *data, gw_err_t *err);

#endif /* GW_VALIDATE_CA_H */
