/*
 * ngx-gateway: regular expression validation with PCRE2.
 *
 * nginx's gateway_match compiles a pattern twice (ngx_http_gateway_match.c):
 * as written, so that an error names what the user wrote, then as
 * ^(?:RE\E)\z, so that the whole value must match; the \E closes a \Q
 * quote left open at the end.  A pattern can pass the first and fail the
 * second (an extended-mode comment "(?x)a#" swallows the closing
 * parenthesis), so both are checked here too.
 */

#define PCRE2_CODE_UNIT_WIDTH  8

#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "validate/regex.h"

#define GW_REGEX_OPEN   "^(?:"
#define GW_REGEX_CLOSE  "\\E)\\z"


/* 1 when pattern compiles; else 0 with PCRE2's error code and offset. */
static int
gw_regex_compiles(const char *pattern, size_t len, int *code,
    size_t *offset)
{
    PCRE2_SIZE   off;
    pcre2_code  *re;

    re = pcre2_compile((PCRE2_SPTR) pattern, len, 0, code, &off, NULL);
    if (re == NULL) {
        *offset = (size_t) off;
        return 0;
    }

    pcre2_code_free(re);

    return 1;
}


static void
gw_regex_message(int code, char *buf, size_t size)
{
    if (pcre2_get_error_message(code, (PCRE2_UCHAR *) buf, size) < 0) {
        buf[0] = '\0';
    }
}


int
gw_valid_regex(const char *re, gw_err_t *err)
{
    int      rc, code;
    char     msg[256];
    char    *anchored;
    size_t   n, offset;

    n = strlen(re);

    if (!gw_regex_compiles(re, n, &code, &offset)) {
        gw_regex_message(code, msg, sizeof(msg));
        gw_err_set(err, "invalid regular expression \"%s\": %s at offset "
                   "%zu", re, msg, offset);
        return GW_ERR;
    }

    rc = GW_ERR;

    anchored = malloc(sizeof(GW_REGEX_OPEN) + n + sizeof(GW_REGEX_CLOSE));
    if (anchored == NULL) {
        gw_err_set(err, "out of memory");
        goto out;
    }

    memcpy(anchored, GW_REGEX_OPEN, sizeof(GW_REGEX_OPEN) - 1);
    memcpy(anchored + sizeof(GW_REGEX_OPEN) - 1, re, n);
    memcpy(anchored + sizeof(GW_REGEX_OPEN) - 1 + n, GW_REGEX_CLOSE,
           sizeof(GW_REGEX_CLOSE));

    if (!gw_regex_compiles(anchored, strlen(anchored), &code, &offset)) {
        gw_regex_message(code, msg, sizeof(msg));
        gw_err_set(err, "regular expression \"%s\" cannot be anchored to "
                   "the whole value: %s", re, msg);
        goto out;
    }

    rc = GW_OK;

out:

    free(anchored);

    return rc;
}
