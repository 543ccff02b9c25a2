
/*
 * ngx_http_gateway_match_module: the directives that turn a location into
 * a dispatcher over HTTPRoute matches.
 *
 *   gateway_match @target [method=M] [path=P] [prefix=P] [path~RE]
 *                 [header:NAME=VALUE] [header~NAME=RE]
 *                 [query:NAME=VALUE] [query~NAME=RE] ...;
 *                                  location: one candidate; the request
 *                                  goes to the named location @target when
 *                                  every field matches
 *   gateway_match_status <code>;   http, server, location: the response
 *                                  when no candidate matches (404)
 *   gateway_match_none;            location: answers as a dispatcher
 *   gateway_match_grpc_status <code> "<message>";
 *                                  the gRPC status of a gRPC call no
 *                                  candidate matches (see
 *                                  ngx_http_gateway_match_none.c)
 *
 * The candidates of a location are tried in the order they are written;
 * the first whose fields all match wins (the controller writes them in the
 * Gateway API precedence order). Method names are the Gateway API ones
 * (GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH). Header
 * names are case-insensitive, query parameter names case-sensitive; values
 * are case-sensitive literals. A regular expression (PCRE2) must match the
 * whole value: it is compiled as ^(?:RE)\z. prefix=/a matches /a, /a/ and
 * /a/b, not /ab. Paths are the decoded, normalized URI that nginx selects
 * locations with ($uri), without the query string.
 *
 * The candidates' named locations must exist in the same server{};
 * everything is checked when the configuration is parsed (nginx -t).
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gateway_match.h"


typedef struct {
    ngx_str_t                         name;
    ngx_uint_t                        method;
} ngx_http_gateway_match_method_t;


static char *ngx_http_gateway_match(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gateway_match_init_location(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf);
static char *ngx_http_gateway_match_field(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf, ngx_http_gateway_match_t *m,
    ngx_str_t *arg, ngx_uint_t *path);
static char *ngx_http_gateway_match_method(ngx_conf_t *cf,
    ngx_http_gateway_match_t *m, ngx_str_t *name);
static char *ngx_http_gateway_match_path(ngx_conf_t *cf,
    ngx_http_gateway_match_cond_t *cond, ngx_str_t *arg);
static char *ngx_http_gateway_match_named(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf,
    ngx_http_gateway_match_cond_t *cond, ngx_str_t *arg, size_t skip);
static ngx_int_t ngx_http_gateway_match_add_name(ngx_conf_t *cf,
    ngx_array_t *names, ngx_str_t *name, ngx_uint_t header);
static ngx_regex_t *ngx_http_gateway_match_regex(ngx_conf_t *cf,
    ngx_str_t *pattern);
static ngx_int_t ngx_http_gateway_match_cmp_conds(const void *one,
    const void *two);
static int ngx_libc_cdecl ngx_http_gateway_match_cmp_names(const void *one,
    const void *two);
static char *ngx_http_gateway_match_status(ngx_conf_t *cf,
    ngx_command_t *cmd, void *conf);
static ngx_int_t ngx_http_gateway_match_postconfiguration(ngx_conf_t *cf);
static ngx_int_t ngx_http_gateway_match_check(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf);
static void *ngx_http_gateway_match_create_main_conf(ngx_conf_t *cf);
static void *ngx_http_gateway_match_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gateway_match_merge_loc_conf(ngx_conf_t *cf,
    void *parent, void *child);


static ngx_http_gateway_match_method_t  ngx_http_gateway_match_methods[] = {
    { ngx_string("GET"),      NGX_HTTP_GET },
    { ngx_string("HEAD"),     NGX_HTTP_HEAD },
    { ngx_string("POST"),     NGX_HTTP_POST },
    { ngx_string("PUT"),      NGX_HTTP_PUT },
    { ngx_string("DELETE"),   NGX_HTTP_DELETE },
    { ngx_string("CONNECT"),  NGX_HTTP_CONNECT },
    { ngx_string("OPTIONS"),  NGX_HTTP_OPTIONS },
    { ngx_string("TRACE"),    NGX_HTTP_TRACE },
    { ngx_string("PATCH"),    NGX_HTTP_PATCH },
    { ngx_null_string, 0 }
};


static ngx_command_t  ngx_http_gateway_match_commands[] = {

    { ngx_string("gateway_match"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gateway_match,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_match_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_http_gateway_match_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_match_none"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gateway_match_none_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_match_grpc_status"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE2,
      ngx_http_gateway_match_grpc_status,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gateway_match_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_http_gateway_match_postconfiguration, /* postconfiguration */

    ngx_http_gateway_match_create_main_conf, /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gateway_match_create_loc_conf, /* create location configuration */
    ngx_http_gateway_match_merge_loc_conf  /* merge location configuration */
};


ngx_module_t  ngx_http_gateway_match_module = {
    NGX_MODULE_V1,
    &ngx_http_gateway_match_module_ctx,    /* module context */
    ngx_http_gateway_match_commands,       /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


static char *
ngx_http_gateway_match(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gateway_match_loc_conf_t *gmlcf = conf;

    char                      *rv;
    ngx_str_t                 *value;
    ngx_uint_t                 i, path;
    ngx_http_gateway_match_t  *m;

    value = cf->args->elts;

    if (value[1].len < 2 || value[1].data[0] != '@') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid target \"%V\" in \"%V\" directive, "
                           "it must be a named location (\"@name\")",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    if (gmlcf->matches == NULL) {
        if (ngx_http_gateway_match_init_location(cf, gmlcf) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    m = ngx_array_push(gmlcf->matches);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    m->target = value[1];
    m->method = 0;
    m->nconds = 0;
    m->file = cf->conf_file->file.name;
    m->line = cf->conf_file->line;

    /* at most one condition per field; method= is not one */

    m->conds = ngx_pcalloc(cf->pool, (cf->args->nelts - 1)
                                     * sizeof(ngx_http_gateway_match_cond_t));
    if (m->conds == NULL) {
        return NGX_CONF_ERROR;
    }

    path = 0;

    for (i = 2; i < cf->args->nelts; i++) {
        rv = ngx_http_gateway_match_field(cf, gmlcf, m, &value[i], &path);
        if (rv != NGX_CONF_OK) {
            return rv;
        }
    }

    /* the cheap comparisons first */

    ngx_sort(m->conds, m->nconds, sizeof(ngx_http_gateway_match_cond_t),
             ngx_http_gateway_match_cmp_conds);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gateway_match_init_location(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf)
{
    ngx_http_gateway_match_main_conf_t   *gmmcf;
    ngx_http_gateway_match_loc_conf_t   **gmlcfp;

    gmlcf->matches = ngx_array_create(cf->pool, 4,
                                      sizeof(ngx_http_gateway_match_t));
    if (gmlcf->matches == NULL) {
        return NGX_ERROR;
    }

    if (ngx_array_init(&gmlcf->headers, cf->pool, 4,
                       sizeof(ngx_http_gateway_match_name_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    if (ngx_array_init(&gmlcf->args, cf->pool, 4,
                       sizeof(ngx_http_gateway_match_name_t))
        != NGX_OK)
    {
        return NGX_ERROR;
    }

    gmlcf->cscf = ngx_http_conf_get_module_srv_conf(cf, ngx_http_core_module);
    gmlcf->clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    gmlcf->clcf->handler = ngx_http_gateway_match_handler;

    gmmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_gateway_match_module);

    gmlcfp = ngx_array_push(&gmmcf->locations);
    if (gmlcfp == NULL) {
        return NGX_ERROR;
    }

    *gmlcfp = gmlcf;

    return NGX_OK;
}


static char *
ngx_http_gateway_match_field(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf, ngx_http_gateway_match_t *m,
    ngx_str_t *arg, ngx_uint_t *path)
{
    ngx_str_t                       name;
    ngx_http_gateway_match_cond_t  *cond;

    if (arg->len > 7 && ngx_strncmp(arg->data, "method=", 7) == 0) {
        name.data = arg->data + 7;
        name.len = arg->len - 7;

        return ngx_http_gateway_match_method(cf, m, &name);
    }

    cond = &m->conds[m->nconds];

    if (arg->len > 5
        && (ngx_strncmp(arg->data, "path=", 5) == 0
            || ngx_strncmp(arg->data, "path~", 5) == 0))
    {
        cond->type = NGX_HTTP_GATEWAY_MATCH_PATH;

    } else if (arg->len > 7 && ngx_strncmp(arg->data, "prefix=", 7) == 0) {
        cond->type = NGX_HTTP_GATEWAY_MATCH_PREFIX;

    } else if (arg->len > 7
               && (ngx_strncmp(arg->data, "header:", 7) == 0
                   || ngx_strncmp(arg->data, "header~", 7) == 0))
    {
        cond->type = NGX_HTTP_GATEWAY_MATCH_HEADER;

        if (ngx_http_gateway_match_named(cf, gmlcf, cond, arg, 7)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        m->nconds++;
        return NGX_CONF_OK;

    } else if (arg->len > 6
               && (ngx_strncmp(arg->data, "query:", 6) == 0
                   || ngx_strncmp(arg->data, "query~", 6) == 0))
    {
        cond->type = NGX_HTTP_GATEWAY_MATCH_QUERY;

        if (ngx_http_gateway_match_named(cf, gmlcf, cond, arg, 6)
            != NGX_CONF_OK)
        {
            return NGX_CONF_ERROR;
        }

        m->nconds++;
        return NGX_CONF_OK;

    } else {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\"", arg);
        return NGX_CONF_ERROR;
    }

    if (*path) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate path match \"%V\", a candidate has "
                           "at most one of path=, path~ and prefix=", arg);
        return NGX_CONF_ERROR;
    }

    *path = 1;

    if (ngx_http_gateway_match_path(cf, cond, arg) != NGX_CONF_OK) {
        return NGX_CONF_ERROR;
    }

    m->nconds++;

    return NGX_CONF_OK;
}


static char *
ngx_http_gateway_match_method(ngx_conf_t *cf, ngx_http_gateway_match_t *m,
    ngx_str_t *name)
{
    ngx_http_gateway_match_method_t  *mt;

    if (m->method) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "duplicate method match \"method=%V\"", name);
        return NGX_CONF_ERROR;
    }

    for (mt = ngx_http_gateway_match_methods; mt->name.len; mt++) {
        if (name->len == mt->name.len
            && ngx_strncmp(name->data, mt->name.data, name->len) == 0)
        {
            m->method = mt->method;
            return NGX_CONF_OK;
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid method \"%V\", it must be one of GET, HEAD, "
                       "POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH",
                       name);

    return NGX_CONF_ERROR;
}


/* path=/exact, path~REGEX, prefix=/dir (element-wise) */

static char *
ngx_http_gateway_match_path(ngx_conf_t *cf,
    ngx_http_gateway_match_cond_t *cond, ngx_str_t *arg)
{
    size_t  skip;

    skip = (cond->type == NGX_HTTP_GATEWAY_MATCH_PREFIX) ? 7 : 5;

    cond->value.data = arg->data + skip;
    cond->value.len = arg->len - skip;

    if (arg->data[4] == '~') {
        cond->regex = ngx_http_gateway_match_regex(cf, &cond->value);
        if (cond->regex == NULL) {
            return NGX_CONF_ERROR;
        }

        return NGX_CONF_OK;
    }

    if (cond->value.data[0] != '/') {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid path in \"%V\", it must start with \"/\"",
                           arg);
        return NGX_CONF_ERROR;
    }

    /* "/a/" and "/a" are the same prefix; "/" becomes "", any path */

    if (cond->type == NGX_HTTP_GATEWAY_MATCH_PREFIX) {
        while (cond->value.len && cond->value.data[cond->value.len - 1] == '/')
        {
            cond->value.len--;
        }
    }

    return NGX_CONF_OK;
}


/* header:NAME=VALUE, header~NAME=REGEX, query:NAME=VALUE, query~NAME=REGEX */

static char *
ngx_http_gateway_match_named(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf,
    ngx_http_gateway_match_cond_t *cond, ngx_str_t *arg, size_t skip)
{
    u_char      *p, *last, *eq;
    ngx_str_t    name;
    ngx_int_t    index;
    ngx_uint_t   header;

    header = (cond->type == NGX_HTTP_GATEWAY_MATCH_HEADER);

    p = arg->data + skip;
    last = arg->data + arg->len;

    eq = ngx_strlchr(p, last, '=');

    if (eq == NULL || eq == p) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid parameter \"%V\", it must be "
                           "\"%*sNAME=VALUE\"", arg, skip, arg->data);
        return NGX_CONF_ERROR;
    }

    name.data = p;
    name.len = eq - p;

    if (header) {
        for ( /* void */ ; p < eq; p++) {
            if (*p <= ' ' || *p >= 0x7f
                || ngx_strchr("\"(),/:;<=>?@[\\]{}", *p))
            {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid header name \"%V\" in \"%V\"",
                                   &name, arg);
                return NGX_CONF_ERROR;
            }
        }

        /* names are compared lowercase, as nginx keeps request headers */
        ngx_strlow(name.data, name.data, name.len);
    }

    index = ngx_http_gateway_match_add_name(cf, header ? &gmlcf->headers
                                                       : &gmlcf->args,
                                            &name, header);
    if (index == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    cond->index = index;
    cond->value.data = eq + 1;
    cond->value.len = last - (eq + 1);

    if (arg->data[skip - 1] == '~') {
        cond->regex = ngx_http_gateway_match_regex(cf, &cond->value);
        if (cond->regex == NULL) {
            return NGX_CONF_ERROR;
        }
    }

    return NGX_CONF_OK;
}


/* the index of a name in the location's list, added if new */

static ngx_int_t
ngx_http_gateway_match_add_name(ngx_conf_t *cf, ngx_array_t *names,
    ngx_str_t *name, ngx_uint_t header)
{
    ngx_uint_t                      i, hash;
    ngx_http_gateway_match_name_t  *n;

    hash = header ? ngx_hash_key_lc(name->data, name->len)
                  : ngx_hash_key(name->data, name->len);

    n = names->elts;

    for (i = 0; i < names->nelts; i++) {
        if (n[i].hash == hash
            && n[i].name.len == name->len
            && ngx_strncmp(n[i].name.data, name->data, name->len) == 0)
        {
            return n[i].index;
        }
    }

    n = ngx_array_push(names);
    if (n == NULL) {
        return NGX_ERROR;
    }

    n->hash = hash;
    n->name = *name;
    n->index = names->nelts - 1;

    return n->index;
}


/*
 * The pattern is compiled on its own first, so that an error names what
 * was written and an unbalanced pattern cannot escape the anchoring; then
 * as ^(?:PATTERN\E)\z: the whole subject must match. The \E ends a \Q
 * quote left open at the end of the pattern and is ignored otherwise.
 */

static ngx_regex_t *
ngx_http_gateway_match_regex(ngx_conf_t *cf, ngx_str_t *pattern)
{
    u_char               *p;
    ngx_regex_compile_t   rc;
    u_char                errstr[NGX_MAX_CONF_ERRSTR];

    ngx_memzero(&rc, sizeof(ngx_regex_compile_t));

    rc.pattern = *pattern;
    rc.pool = cf->pool;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "%V", &rc.err);
        return NULL;
    }

    rc.pattern.len = sizeof("^(?:") - 1 + pattern->len
                     + sizeof("\\E)\\z") - 1;

    rc.pattern.data = ngx_pnalloc(cf->pool, rc.pattern.len + 1);
    if (rc.pattern.data == NULL) {
        return NULL;
    }

    p = ngx_cpymem(rc.pattern.data, "^(?:", sizeof("^(?:") - 1);
    p = ngx_cpymem(p, pattern->data, pattern->len);
    p = ngx_cpymem(p, "\\E)\\z", sizeof("\\E)\\z") - 1);
    *p = '\0';

    rc.regex = NULL;
    rc.err.len = NGX_MAX_CONF_ERRSTR;
    rc.err.data = errstr;

    if (ngx_regex_compile(&rc) != NGX_OK) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "regex \"%V\" cannot be anchored: %V",
                           pattern, &rc.err);
        return NULL;
    }

    return rc.regex;
}


static ngx_int_t
ngx_http_gateway_match_cmp_conds(const void *one, const void *two)
{
    const ngx_http_gateway_match_cond_t  *a = one;
    const ngx_http_gateway_match_cond_t  *b = two;

    ngx_int_t  ra, rb;

    ra = (a->regex ? 10 : 0) + a->type;
    rb = (b->regex ? 10 : 0) + b->type;

    return ra - rb;
}


static int ngx_libc_cdecl
ngx_http_gateway_match_cmp_names(const void *one, const void *two)
{
    const ngx_http_gateway_match_name_t  *a = one;
    const ngx_http_gateway_match_name_t  *b = two;

    if (a->hash == b->hash) {
        return 0;
    }

    return (a->hash < b->hash) ? -1 : 1;
}


static char *
ngx_http_gateway_match_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gateway_match_loc_conf_t *gmlcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (gmlcf->status != NGX_CONF_UNSET_UINT) {
        return "is duplicate";
    }

    value = cf->args->elts;

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < 400 || n > 599) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be a status code from 400 to 599",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    gmlcf->status = n;

    return NGX_CONF_OK;
}


/*
 * After the http{} block has been parsed and the servers' named locations
 * collected: check every dispatcher and finish its lists.
 */

static ngx_int_t
ngx_http_gateway_match_postconfiguration(ngx_conf_t *cf)
{
    ngx_uint_t                            i;
    ngx_http_gateway_match_loc_conf_t   **gmlcfp;
    ngx_http_gateway_match_main_conf_t   *gmmcf;

    gmmcf = ngx_http_conf_get_module_main_conf(cf,
                                               ngx_http_gateway_match_module);

    gmlcfp = gmmcf->locations.elts;

    for (i = 0; i < gmmcf->locations.nelts; i++) {
        if (ngx_http_gateway_match_check(cf, gmlcfp[i]) != NGX_OK) {
            return NGX_ERROR;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_gateway_match_check(ngx_conf_t *cf,
    ngx_http_gateway_match_loc_conf_t *gmlcf)
{
    ngx_uint_t                       i, j, found;
    ngx_http_core_loc_conf_t       **clcfp;
    ngx_http_gateway_match_t        *m;
    ngx_http_gateway_match_cond_t   *cond;

    m = gmlcf->matches->elts;

    if (gmlcf->clcf->handler != ngx_http_gateway_match_handler) {
        ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                      "\"gateway_match\" in location \"%V\" conflicts with "
                      "another content handler in %V:%ui",
                      &gmlcf->clcf->name, &m[0].file, m[0].line);
        return NGX_ERROR;
    }

    for (i = 0; i < gmlcf->matches->nelts; i++) {

        found = 0;

        for (clcfp = gmlcf->cscf->named_locations;
             clcfp && *clcfp;
             clcfp++)
        {
            if ((*clcfp)->name.len == m[i].target.len
                && ngx_strncmp((*clcfp)->name.data, m[i].target.data,
                               m[i].target.len)
                   == 0)
            {
                found = 1;
                break;
            }
        }

        if (!found) {
            ngx_log_error(NGX_LOG_EMERG, cf->log, 0,
                          "no named location \"%V\" in the server of "
                          "\"gateway_match\" in %V:%ui",
                          &m[i].target, &m[i].file, m[i].line);
            return NGX_ERROR;
        }

        /* query parameters' values come after the headers' */

        cond = m[i].conds;

        for (j = 0; j < m[i].nconds; j++) {
            if (cond[j].type == NGX_HTTP_GATEWAY_MATCH_QUERY) {
                cond[j].index += gmlcf->headers.nelts;
            }
        }
    }

    gmlcf->nvalues = gmlcf->headers.nelts + gmlcf->args.nelts;

    ngx_qsort(gmlcf->headers.elts, gmlcf->headers.nelts,
              sizeof(ngx_http_gateway_match_name_t),
              ngx_http_gateway_match_cmp_names);

    ngx_qsort(gmlcf->args.elts, gmlcf->args.nelts,
              sizeof(ngx_http_gateway_match_name_t),
              ngx_http_gateway_match_cmp_names);

    return NGX_OK;
}


static void *
ngx_http_gateway_match_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gateway_match_main_conf_t  *gmmcf;

    gmmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gateway_match_main_conf_t));
    if (gmmcf == NULL) {
        return NULL;
    }

    if (ngx_array_init(&gmmcf->locations, cf->pool, 4,
                       sizeof(ngx_http_gateway_match_loc_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return gmmcf;
}


static void *
ngx_http_gateway_match_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gateway_match_loc_conf_t  *gmlcf;

    gmlcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gateway_match_loc_conf_t));
    if (gmlcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gmlcf->matches = NULL;
     *     gmlcf->headers = { 0 };
     *     gmlcf->args = { 0 };
     *     gmlcf->nvalues = 0;
     *     gmlcf->cscf = NULL;
     *     gmlcf->clcf = NULL;
     *     gmlcf->grpc_message = { 0, NULL };
     */

    gmlcf->status = NGX_CONF_UNSET_UINT;
    gmlcf->grpc_status = NGX_CONF_UNSET_UINT;

    return gmlcf;
}


/*
 * the candidates belong to their location: only the statuses are
 * inherited
 */

static char *
ngx_http_gateway_match_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child)
{
    ngx_http_gateway_match_loc_conf_t *prev = parent;
    ngx_http_gateway_match_loc_conf_t *conf = child;

    ngx_conf_merge_uint_value(conf->status, prev->status,
                              NGX_HTTP_GATEWAY_MATCH_STATUS);

    if (conf->grpc_status == NGX_CONF_UNSET_UINT) {
        conf->grpc_status = prev->grpc_status;
        conf->grpc_message = prev->grpc_message;
    }

    return NGX_CONF_OK;
}
