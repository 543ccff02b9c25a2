/*
 * ngx-gateway: name and value validation.
 */

#include <string.h>
#include <ctype.h>
#include <arpa/inet.h>

#include "validate/names.h"


static int
gw_valid_label(const char *s, size_t n)
{
    size_t  i;

    if (n == 0 || n > 63) {
        return 0;
    }

    for (i = 0; i < n; i++) {
        if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i])
              || s[i] == '-'))
        {
            return 0;
        }
    }

    return s[0] != '-' && s[n - 1] != '-';
}


int
gw_valid_hostname(const char *s, int allow_wildcard, gw_err_t *err)
{
    size_t       n;
    const char  *p, *dot;

    n = strlen(s);
    if (n == 0 || n > 253) {
        gw_err_set(err, "hostname must be 1 to 253 characters");
        return GW_ERR;
    }

    p = s;
    if (s[0] == '*') {
        if (!allow_wildcard || s[1] != '.') {
            gw_err_set(err, "hostname \"%s\": a wildcard must be the whole "
                       "first label (\"*.\")", s);
            return GW_ERR;
        }
        p = s + 2;
    }

    if (*p == '\0') {
        gw_err_set(err, "hostname \"%s\" has no labels", s);
        return GW_ERR;
    }

    for ( ;; ) {
        dot = strchr(p, '.');
        n = dot ? (size_t) (dot - p) : strlen(p);
        if (!gw_valid_label(p, n)) {
            gw_err_set(err, "hostname \"%s\" is not a valid RFC 1123 "
                       "hostname (lower case letters, digits, '-' and '.')",
                       s);
            return GW_ERR;
        }
        if (dot == NULL) {
            break;
        }
        p = dot + 1;
    }

    if (gw_valid_ip(s, NULL)) {
        gw_err_set(err, "hostname \"%s\" must not be an IP address", s);
        return GW_ERR;
    }

    return GW_OK;
}


int
gw_valid_ip(const char *s, int *is_v6)
{
    unsigned char  buf[16];

    if (inet_pton(AF_INET, s, buf) == 1) {
        if (is_v6) {
            *is_v6 = 0;
        }
        return 1;
    }

    if (inet_pton(AF_INET6, s, buf) == 1) {
        if (is_v6) {
            *is_v6 = 1;
        }
        return 1;
    }

    return 0;
}


int
gw_valid_nginx_path(const char *s, gw_err_t *err)
{
    const char  *p;

    if (s[0] != '/') {
        gw_err_set(err, "path \"%s\" must start with '/'", s);
        return GW_ERR;
    }

    for (p = s; *p; p++) {
        if (isalnum((unsigned char) *p)
            || strchr("/-._~!&()*+,=:@%", *p) != NULL)
        {
            continue;
        }

        gw_err_set(err, "path \"%s\" contains '%c', which this "
                   "implementation does not accept in paths", s,
                   isprint((unsigned char) *p) ? *p : '?');
        return GW_ERR;
    }

    return GW_OK;
}
