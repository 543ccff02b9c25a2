/*
 * ngx-gateway: validation of names and values before they can reach a
 * template.  Every check errs on the side of refusing: a refused value
 * becomes a condition on the resource, never nginx syntax.
 */

#ifndef GW_VALIDATE_NAMES_H
#define GW_VALIDATE_NAMES_H

#include "core/gw_core.h"

/* RFC 1123 hostname, optionally with a leading "*." wildcard label. */
int gw_valid_hostname(const char *s, int allow_wildcard, gw_err_t *err);

/* An IPv4 or IPv6 address literal. */
int gw_valid_ip(const char *s, int *is_v6);

/*
 * An HTTP path that nginx can carry verbatim in a location or rewrite:
 * starts with '/', only RFC 3986 path characters, and none of the
 * characters nginx treats as syntax or variables ($ ; { } ' " \ # and
 * whitespace).
 */
int gw_valid_nginx_path(const char *s, gw_err_t *err);

/*
 * metadata.name or metadata.namespace as the API server accepts it: an
 * RFC 1123 subdomain (1 to 253 characters: lower case letters, digits, '-'
 * and '.', starting and ending with a letter or a digit; the names of
 * custom resources, Secrets, ConfigMaps, EndpointSlices), or with label
 * set an RFC 1123 label (1 to 63 characters, no '.'; Namespaces, Services
 * and every metadata.namespace).  The message names the field ("what",
 * e.g. "metadata.name") and at most 64 bytes of the value, printable.
 */
int gw_valid_object_name(const char *what, const char *s, int label,
    gw_err_t *err);

#endif /* GW_VALIDATE_NAMES_H */
