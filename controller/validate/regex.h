/*
 * ngx-gateway: regular expressions of HTTPRoute matches (RegularExpression
 * paths, headers and query parameters), checked with PCRE2 the way our
 * nginx module compiles them for gateway_match, so that nginx -t never
 * refuses a regex the graph accepted.
 */

#ifndef GW_VALIDATE_REGEX_H
#define GW_VALIDATE_REGEX_H

#include "core/gw_core.h"

/*
 * GW_OK when re compiles as nginx's PCRE2 compiles it (no options): on its
 * own, and anchored to the whole value as the module does, ^(?:RE\E)\z.
 * Else GW_ERR and err says why: PCRE2's message and the offset in re.
 */
int gw_valid_regex(const char *re, gw_err_t *err);

#endif /* GW_VALIDATE_REGEX_H */
