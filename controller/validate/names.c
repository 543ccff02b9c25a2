/*
 * ngx-gateway: name and value validation.
 */

#include <string.h>
#include <ctype.h>
#include <arpa/inet.h>

#include "validate/names.h"



/*
 * The value as a message shows it: at most 64 bytes, a control character,
 * '"' or '\\' as '?', "..." when cut; a status message or a log line never
 * carries a line break or a megabyte from a resource.
 */
static const char *
gw_valid_shown(char *buf, size_t size, const char *s)
{
    size_t  i, n;

    n = strlen(s);

    for (i = 0; i < n && i + 4 < size && i < 64; i++) {
        buf[i] = isprint((unsigned char) s[i]) && s[i] != '"' && s[i] != '\\'
                 ? s[i] : '?';
    }

    if (i < n) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }

    buf[i] = '\0';

    return buf;
}


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
    char         shown[72];
    size_t       n;
    const char  *p, *dot;

    gw_valid_shown(shown, sizeof(shown), s);

    n = strlen(s);
    if (n == 0 || n > 253) {
        gw_err_set(err, "hostname must be 1 to 253 characters");
        return GW_ERR;
    }

    p = s;
    if (s[0] == '*') {
        if (!allow_wildcard || s[1] != '.') {
            gw_err_set(err, "hostname \"%s\": a wildcard must be the whole "
                       "first label (\"*.\")", shown);
            return GW_ERR;
        }
        p = s + 2;
    }

    if (*p == '\0') {
        gw_err_set(err, "hostname \"%s\" has no labels", shown);
        return GW_ERR;
    }

    for ( ;; ) {
        dot = strchr(p, '.');
        n = dot ? (size_t) (dot - p) : strlen(p);
        if (!gw_valid_label(p, n)) {
            gw_err_set(err, "hostname \"%s\" is not a valid RFC 1123 "
                       "hostname (lower case letters, digits, '-' and '.')",
                       shown);
            return GW_ERR;
        }
        if (dot == NULL) {
            break;
        }
        p = dot + 1;
    }

    if (gw_valid_ip(s, NULL)) {
        gw_err_set(err, "hostname \"%s\" must not be an IP address",
                   shown);
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
    char         shown[72];
    const char  *p;

    gw_valid_shown(shown, sizeof(shown), s);

    if (s[0] != '/') {
        gw_err_set(err, "path \"%s\" must start with '/'", shown);
        return GW_ERR;
    }

    for (p = s; *p; p++) {
        if (isalnum((unsigned char) *p)
            || strchr("/-._~!&()*+,=:@%", *p) != NULL)
        {
            continue;
        }

        gw_err_set(err, "path \"%s\" contains '%c', which this "
                   "implementation does not accept in paths", shown,
                   isprint((unsigned char) *p) ? *p : '?');
        return GW_ERR;
    }

    return GW_OK;
}


static int
gw_valid_name_chars(const char *s, size_t n, int label)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!(islower((unsigned char) s[i]) || isdigit((unsigned char) s[i])
              || s[i] == '-' || (s[i] == '.' && !label)))
        {
            return 0;
        }
    }

    return isalnum((unsigned char) s[0]) && isalnum((unsigned char) s[n - 1]);
}


int
gw_valid_object_name(const char *what, const char *s, int label,
    gw_err_t *err)
{
    char         shown[72];
    size_t       n, max;
    const char  *kind;

    n = strlen(s);
    max = label ? 63 : 253;
    kind = label ? "label" : "subdomain";

    gw_valid_shown(shown, sizeof(shown), s);

    if (n == 0 || n > max) {
        gw_err_set(err, "%s: Invalid value: \"%s\": must be 1 to %zu "
                   "characters (a lowercase RFC 1123 %s)", what, shown, max,
                   kind);
        return GW_ERR;
    }

    if (!gw_valid_name_chars(s, n, label)) {
        gw_err_set(err, "%s: Invalid value: \"%s\": a lowercase RFC 1123 "
                   "%s must consist of lower case alphanumeric characters, "
                   "'-'%s, and must start and end with an alphanumeric "
                   "character", what, shown, kind,
                   label ? "" : " or '.'");
        return GW_ERR;
    }

    return GW_OK;
}
