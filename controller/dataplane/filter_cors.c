/*
 * ngx-gateway: the CORS filter (HTTPCORSFilter) for nginx: its values
 * checked, and its allowOrigins as one PCRE2 pattern over the request's
 * Origin.
 *
 * An origin is "*" or scheme://host[:port], the host's leftmost label
 * possibly "*", which stands for one or more labels (https://STAR.bar.com
 * with STAR for '*' takes https://www.bar.com and https://a.www.bar.com,
 * not https://bar.com).  Methods are the spec's (or "*"), header names
 * letters, digits and '-' (or "*"): every value can be written in nginx's
 * configuration as it is.
 */

#include <string.h>

#include "core/gw_buf.h"
#include "dataplane/filter.h"

#define GW_CORS_VALUE_MAX  253

static const char  *gw_cors_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
    "PATCH", "*", NULL
};


static int
gw_cors_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9');
}


/* GW_OK when o is "*" or scheme://host[:port] as described above. */
static int
gw_cors_origin_ok(const char *o)
{
    const char  *p;

    if (strcmp(o, "*") == 0) {
        return GW_OK;
    }

    if (strlen(o) > GW_CORS_VALUE_MAX
        || !((o[0] >= 'a' && o[0] <= 'z') || (o[0] >= 'A' && o[0] <= 'Z')))
    {
        return GW_ERR;
    }

    for (p = o; gw_cors_alnum(*p) || *p == '+' || *p == '.' || *p == '-';
         p++)
    {
        /* void */
    }

    if (strncmp(p, "://", 3) != 0) {
        return GW_ERR;
    }
    p += 3;

    if (p[0] == '*') {
        if (p[1] != '.') {
            return GW_ERR;
        }
        p += 2;
    }

    if (!gw_cors_alnum(*p)) {
        return GW_ERR;
    }

    for ( /* void */ ; gw_cors_alnum(*p) || *p == '.' || *p == '-'; p++) {
        /* void */
    }

    if (*p == ':') {
        for (p++; *p >= '0' && *p <= '9'; p++) {
            /* void */
        }
    }

    return *p == '\0' ? GW_OK : GW_ERR;
}


/* Letters, digits and '-', or "*". */
static int
gw_cors_header_ok(const char *h)
{
    const char  *p;

    if (strcmp(h, "*") == 0) {
        return GW_OK;
    }

    if (h[0] == '\0' || strlen(h) > GW_CORS_VALUE_MAX) {
        return GW_ERR;
    }

    for (p = h; *p; p++) {
        if (!gw_cors_alnum(*p) && *p != '-') {
            return GW_ERR;
        }
    }

    return GW_OK;
}


static const char *
gw_cors_list_check(gw_arena_t *a, const char *what, const char **v,
    size_t n, int (*ok)(const char *), const char *hint)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (ok(v[i]) != GW_OK) {
            return gw_arena_printf(a, "CORS: %s \"%s\" is not supported "
                                   "(%s)", what, v[i], hint);
        }
    }

    return NULL;
}


static int
gw_cors_method_ok(const char *m)
{
    size_t  i;

    for (i = 0; gw_cors_methods[i] != NULL; i++) {
        if (strcmp(m, gw_cors_methods[i]) == 0) {
            return GW_OK;
        }
    }

    return GW_ERR;
}


/* "a, b, c", or "" when list holds "*" (the caller echoes the request). */
static const char *
gw_cors_join(gw_arena_t *a, const char **v, size_t n, int *any)
{
    size_t       i;
    gw_buf_t     b;
    const char  *s;

    *any = 0;
    gw_buf_init(&b);

    for (i = 0; i < n; i++) {
        if (strcmp(v[i], "*") == 0) {
            *any = 1;
        }
        gw_buf_printf(&b, "%s%s", i ? ", " : "", v[i]);
    }

    s = gw_arena_strndup(a, b.data ? b.data : "", b.len);
    gw_buf_free(&b);

    return s;
}


/*
 * The pattern of the allowed origins, anchored: "^(?:o1|o2)$"; NULL when
 * "*" allows every origin.
 */
static const char *
gw_cors_origins(gw_arena_t *a, const gw_cors_t *c)
{
    size_t       i;
    gw_buf_t     b;
    const char  *p, *re;

    for (i = 0; i < c->nallow_origins; i++) {
        if (strcmp(c->allow_origins[i], "*") == 0) {
            return NULL;
        }
    }

    gw_buf_init(&b);
    gw_buf_puts(&b, "^(?:");

    for (i = 0; i < c->nallow_origins; i++) {
        if (i > 0) {
            gw_buf_putc(&b, '|');
        }

        for (p = c->allow_origins[i]; *p; p++) {
            if (*p == '*') {
                gw_buf_puts(&b, "[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*");
            } else if (*p == '.' || *p == '+') {
                gw_buf_putc(&b, '\\');
                gw_buf_putc(&b, *p);
            } else {
                gw_buf_putc(&b, *p);       /* [A-Za-z0-9:/-] */
            }
        }
    }

    gw_buf_puts(&b, ")$");
    re = gw_arena_strndup(a, b.data, b.len);
    gw_buf_free(&b);

    return re;
}


const char *
gw_dp_cors_check(gw_arena_t *a, const gw_cors_t *c, gw_dp_cors_t **out)
{
    const char    *why;
    gw_dp_cors_t  *d;

    if (c->nallow_origins == 0) {
        return "CORS: allowOrigins is empty: no origin would be allowed";
    }

    why = gw_cors_list_check(a, "allowOrigins entry", c->allow_origins,
                             c->nallow_origins, gw_cors_origin_ok,
                             "\"*\" or scheme://host[:port], the host's "
                             "first label possibly \"*\"");
    if (why == NULL) {
        why = gw_cors_list_check(a, "allowMethods entry", c->allow_methods,
                                 c->nallow_methods, gw_cors_method_ok,
                                 "an HTTP method or \"*\"");
    }
    if (why == NULL) {
        why = gw_cors_list_check(a, "allowHeaders entry", c->allow_headers,
                                 c->nallow_headers, gw_cors_header_ok,
                                 "letters, digits and '-', or \"*\"");
    }
    if (why == NULL) {
        why = gw_cors_list_check(a, "exposeHeaders entry",
                                 c->expose_headers, c->nexpose_headers,
                                 gw_cors_header_ok,
                                 "letters, digits and '-', or \"*\"");
    }
    if (why != NULL) {
        return why;
    }

    d = gw_arena_alloc(a, sizeof(gw_dp_cors_t));
    d->origins = gw_cors_origins(a, c);
    d->methods = gw_cors_join(a, c->allow_methods, c->nallow_methods,
                              &d->methods_any);
    d->headers = gw_cors_join(a, c->allow_headers, c->nallow_headers,
                              &d->headers_any);
    d->expose = gw_cors_join(a, c->expose_headers, c->nexpose_headers,
                             &d->expose_any);
    d->credentials = c->allow_credentials;
    d->max_age = c->max_age;
    *out = d;

    return NULL;
}
