
/*
 * ngx_http_gateway_match_module: the content handler of a dispatcher
 * location. It tries the location's candidates in order and sends the
 * request to the named location of the first that matches, or answers
 * with gateway_match_status (a gRPC call: gateway_match_grpc_status).
 *
 * The request's headers and query parameters are each read at most once,
 * and only when a candidate tests one: the values of the names the
 * location's candidates test are collected in one pass into an array
 * (on the stack for up to NGX_HTTP_GATEWAY_MATCH_STACK names). Exact
 * comparisons allocate nothing; memory from the request's pool is only
 * taken for a repeated header (its values are joined with ", ", or "; "
 * for Cookie, RFC 9110 5.3) and for a percent-encoded query parameter
 * (names and values are compared %XX-decoded; "+" stays "+", a malformed
 * escape stays as written). Of a repeated query parameter, the first
 * value counts.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gateway_match.h"


#define NGX_HTTP_GATEWAY_MATCH_STACK  32


typedef struct {
    ngx_http_request_t                  *request;
    ngx_http_gateway_match_loc_conf_t   *conf;
    ngx_str_t                           *values;  /* data NULL: absent */
    unsigned                             headers:1;
    unsigned                             args:1;
} ngx_http_gateway_match_state_t;


static ngx_int_t ngx_http_gateway_match_test(
    ngx_http_gateway_match_state_t *st, ngx_http_gateway_match_t *m);
static ngx_int_t ngx_http_gateway_match_prefix(ngx_str_t *uri,
    ngx_str_t *prefix);
static ngx_int_t ngx_http_gateway_match_headers(
    ngx_http_gateway_match_state_t *st);
static ngx_int_t ngx_http_gateway_match_join(ngx_http_request_t *r,
    ngx_http_gateway_match_name_t *n, ngx_str_t *value, ngx_str_t *more);
static ngx_int_t ngx_http_gateway_match_args(
    ngx_http_gateway_match_state_t *st);
static ngx_int_t ngx_http_gateway_match_unescape(ngx_pool_t *pool,
    ngx_str_t *s);
static ngx_int_t ngx_http_gateway_match_hex(u_char ch);
static ngx_http_gateway_match_name_t *ngx_http_gateway_match_find(
    ngx_array_t *names, ngx_uint_t hash, u_char *name, size_t len);


ngx_int_t
ngx_http_gateway_match_handler(ngx_http_request_t *r)
{
    ngx_int_t                           rc;
    ngx_str_t                           stack[NGX_HTTP_GATEWAY_MATCH_STACK];
    ngx_uint_t                          i;
    ngx_http_gateway_match_t           *m;
    ngx_http_gateway_match_state_t      st;
    ngx_http_gateway_match_loc_conf_t  *gmlcf;

    gmlcf = ngx_http_get_module_loc_conf(r, ngx_http_gateway_match_module);

    st.request = r;
    st.conf = gmlcf;
    st.headers = 0;
    st.args = 0;

    if (gmlcf->nvalues <= NGX_HTTP_GATEWAY_MATCH_STACK) {
        st.values = stack;

    } else {
        st.values = ngx_palloc(r->pool, gmlcf->nvalues * sizeof(ngx_str_t));
        if (st.values == NULL) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }

    m = gmlcf->matches->elts;

    for (i = 0; i < gmlcf->matches->nelts; i++) {

        rc = ngx_http_gateway_match_test(&st, &m[i]);

        if (rc == NGX_DECLINED) {
            continue;
        }

        if (rc != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "gateway match: candidate %ui of %ui, \"%V\"",
                       i + 1, gmlcf->matches->nelts, &m[i].target);

        return ngx_http_named_location(r, &m[i].target);
    }

    ngx_log_debug2(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                   "gateway match: none of %ui candidates, %ui",
                   gmlcf->matches->nelts, gmlcf->status);

    return ngx_http_gateway_match_none(r, gmlcf);
}


/* NGX_OK: every condition holds; NGX_DECLINED: one does not */

static ngx_int_t
ngx_http_gateway_match_test(ngx_http_gateway_match_state_t *st,
    ngx_http_gateway_match_t *m)
{
    ngx_int_t                       rc;
    ngx_str_t                      *subject;
    ngx_uint_t                      i;
    ngx_http_request_t             *r;
    ngx_http_gateway_match_cond_t  *cond;

    r = st->request;

    if (m->method && !(r->method & m->method)) {
        return NGX_DECLINED;
    }

    cond = m->conds;

    for (i = 0; i < m->nconds; i++) {

        switch (cond[i].type) {

        case NGX_HTTP_GATEWAY_MATCH_PREFIX:
            if (ngx_http_gateway_match_prefix(&r->uri, &cond[i].value)
                != NGX_OK)
            {
                return NGX_DECLINED;
            }

            continue;

        case NGX_HTTP_GATEWAY_MATCH_HEADER:
            if (!st->headers) {
                if (ngx_http_gateway_match_headers(st) != NGX_OK) {
                    return NGX_ERROR;
                }
            }

            subject = &st->values[cond[i].index];
            break;

        case NGX_HTTP_GATEWAY_MATCH_QUERY:
            if (!st->args) {
                if (ngx_http_gateway_match_args(st) != NGX_OK) {
                    return NGX_ERROR;
                }
            }

            subject = &st->values[cond[i].index];
            break;

        default: /* NGX_HTTP_GATEWAY_MATCH_PATH */
            subject = &r->uri;
        }

        if (subject->data == NULL) {
            return NGX_DECLINED;
        }

        if (cond[i].regex == NULL) {
            if (subject->len != cond[i].value.len
                || ngx_strncmp(subject->data, cond[i].value.data,
                               subject->len)
                   != 0)
            {
                return NGX_DECLINED;
            }

            continue;
        }

        rc = ngx_regex_exec(cond[i].regex, subject, NULL, 0);

        if (rc == NGX_REGEX_NO_MATCHED) {
            return NGX_DECLINED;
        }

        if (rc < 0) {
            ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                          ngx_regex_exec_n " failed: %i on \"%V\" using "
                          "\"%V\"", rc, subject, &cond[i].value);
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


/* element-wise: "/a" (written "/a" or "/a/") matches /a, /a/, /a/b */

static ngx_int_t
ngx_http_gateway_match_prefix(ngx_str_t *uri, ngx_str_t *prefix)
{
    if (uri->len < prefix->len
        || ngx_strncmp(uri->data, prefix->data, prefix->len) != 0)
    {
        return NGX_DECLINED;
    }

    if (uri->len == prefix->len || uri->data[prefix->len] == '/') {
        return NGX_OK;
    }

    return NGX_DECLINED;
}


static ngx_int_t
ngx_http_gateway_match_headers(ngx_http_gateway_match_state_t *st)
{
    ngx_str_t                      *value, more;
    ngx_uint_t                      i, nheaders;
    ngx_list_part_t                *part;
    ngx_table_elt_t                *h;
    ngx_http_request_t             *r;
    ngx_http_gateway_match_name_t  *n;

    r = st->request;
    nheaders = st->conf->headers.nelts;

    ngx_memzero(st->values, nheaders * sizeof(ngx_str_t));

    st->headers = 1;

    if (nheaders == 0) {
        return NGX_OK;
    }

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        /* nginx keeps each request header's lowercase name and its hash */

        n = ngx_http_gateway_match_find(&st->conf->headers, h[i].hash,
                                        h[i].lowcase_key, h[i].key.len);
        if (n == NULL) {
            continue;
        }

        value = &st->values[n->index];

        more = h[i].value;

        if (more.data == NULL) {
            ngx_str_set(&more, "");
        }

        if (value->data == NULL) {
            *value = more;
            continue;
        }

        if (ngx_http_gateway_match_join(r, n, value, &more) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gateway_match_join(ngx_http_request_t *r,
    ngx_http_gateway_match_name_t *n, ngx_str_t *value, ngx_str_t *more)
{
    u_char     *p, *q;
    ngx_str_t   sep;

    if (n->name.len == sizeof("cookie") - 1
        && ngx_strncmp(n->name.data, "cookie", sizeof("cookie") - 1) == 0)
    {
        ngx_str_set(&sep, "; ");

    } else {
        ngx_str_set(&sep, ", ");
    }

    p = ngx_pnalloc(r->pool, value->len + sep.len + more->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    q = ngx_cpymem(p, value->data, value->len);
    q = ngx_cpymem(q, sep.data, sep.len);
    q = ngx_cpymem(q, more->data, more->len);

    value->data = p;
    value->len = q - p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gateway_match_args(ngx_http_gateway_match_state_t *st)
{
    u_char                         *p, *last, *end, *eq;
    ngx_str_t                       name, arg, *values;
    ngx_uint_t                      nargs, hash;
    ngx_http_request_t             *r;
    ngx_http_gateway_match_name_t  *n;

    r = st->request;
    nargs = st->conf->args.nelts;

    /* the query parameters' slots follow the headers' */
    values = st->values + st->conf->headers.nelts;

    ngx_memzero(values, nargs * sizeof(ngx_str_t));

    st->args = 1;

    if (nargs == 0) {
        return NGX_OK;
    }

    p = r->args.data;
    last = p + r->args.len;

    for ( /* void */ ; p < last; p = end + 1) {

        end = ngx_strlchr(p, last, '&');
        if (end == NULL) {
            end = last;
        }

        eq = ngx_strlchr(p, end, '=');

        name.data = p;
        name.len = (eq ? eq : end) - p;

        if (name.len == 0) {
            continue;
        }

        if (ngx_strlchr(name.data, name.data + name.len, '%')) {
            if (ngx_http_gateway_match_unescape(r->pool, &name) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        hash = ngx_hash_key(name.data, name.len);

        n = ngx_http_gateway_match_find(&st->conf->args, hash, name.data,
                                        name.len);
        if (n == NULL || values[n->index].data != NULL) {
            continue;
        }

        /* a parameter without "=" has an empty value, still present */

        arg.data = eq ? eq + 1 : end;
        arg.len = end - arg.data;

        if (ngx_strlchr(arg.data, end, '%')) {
            if (ngx_http_gateway_match_unescape(r->pool, &arg) != NGX_OK) {
                return NGX_ERROR;
            }
        }

        values[n->index] = arg;
    }

    return NGX_OK;
}


/*
 * %XX decoded; a "%" not followed by two hex digits stays as it is (as
 * WHATWG URL percent-decoding does), unlike ngx_unescape_uri() that drops
 * it.
 */

static ngx_int_t
ngx_http_gateway_match_unescape(ngx_pool_t *pool, ngx_str_t *s)
{
    u_char     *p, *dst, *src, *last;
    ngx_int_t   hi, lo;

    p = ngx_pnalloc(pool, s->len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    dst = p;
    src = s->data;
    last = s->data + s->len;

    while (src < last) {

        if (*src == '%' && last - src >= 3) {
            hi = ngx_http_gateway_match_hex(src[1]);
            lo = ngx_http_gateway_match_hex(src[2]);

            if (hi >= 0 && lo >= 0) {
                *dst++ = (u_char) (hi << 4 | lo);
                src += 3;
                continue;
            }
        }

        *dst++ = *src++;
    }

    s->data = p;
    s->len = dst - p;

    return NGX_OK;
}


static ngx_int_t
ngx_http_gateway_match_hex(u_char ch)
{
    u_char  c;

    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }

    c = (u_char) (ch | 0x20);

    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }

    return -1;
}


/* a binary search of the list sorted by hash, then the names of that hash */

static ngx_http_gateway_match_name_t *
ngx_http_gateway_match_find(ngx_array_t *names, ngx_uint_t hash,
    u_char *name, size_t len)
{
    ngx_uint_t                      lo, hi, mid;
    ngx_http_gateway_match_name_t  *n;

    n = names->elts;
    lo = 0;
    hi = names->nelts;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;

        if (n[mid].hash < hash) {
            lo = mid + 1;

        } else {
            hi = mid;
        }
    }

    for ( /* void */ ; lo < names->nelts && n[lo].hash == hash; lo++) {
        if (n[lo].name.len == len
            && ngx_strncmp(n[lo].name.data, name, len) == 0)
        {
            return &n[lo];
        }
    }

    return NULL;
}
