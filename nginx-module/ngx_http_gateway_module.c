
/*
 * ngx_http_gateway_module: reports which configuration is live.
 *
 *   gateway_generation <number>;   http main context: the generation the
 *                                  controller rendered (unsigned 64-bit)
 *   gateway_status;                location: JSON status (GET and HEAD)
 *
 * Each worker answers from the configuration (cycle) it was started with.
 * On SIGHUP the master starts new workers and, about 100 ms later, tells
 * the old ones to stop accepting; until they have done so, a new connection
 * may still reach an old worker and be told the old generation.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>


#define NGX_HTTP_GATEWAY_ISO8601  "1970-01-01T00:00:00Z"

#define NGX_HTTP_GATEWAY_JSON_FMT                                             \
    "{\"generation\":%uL,\"loaded_at\":\"%s\",\"loaded_at_msec\":%uL,"       \
    "\"nginx_version\":\"%s\",\"pid\":%P,\"worker_processes\":%i}\n"

/* an upper bound: the format itself plus the longest value of each field */
#define NGX_HTTP_GATEWAY_JSON_LEN                                             \
    (sizeof(NGX_HTTP_GATEWAY_JSON_FMT) + 3 * NGX_INT64_LEN                   \
     + sizeof(NGX_HTTP_GATEWAY_ISO8601) + sizeof(NGINX_VERSION)              \
     + NGX_INT_T_LEN)


typedef struct {
    uint64_t     generation;
    uint64_t     loaded_at_msec;
    ngx_flag_t   generation_set;
    u_char       loaded_at[sizeof(NGX_HTTP_GATEWAY_ISO8601)];
} ngx_http_gateway_main_conf_t;


static ngx_int_t ngx_http_gateway_status_handler(ngx_http_request_t *r);
static ngx_buf_t *ngx_http_gateway_status_json(ngx_http_request_t *r);
static ngx_int_t ngx_http_gateway_not_allowed(ngx_http_request_t *r);
static ngx_int_t ngx_http_gateway_parse_uint64(ngx_str_t *s, uint64_t *value);
static char *ngx_http_gateway_generation(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gateway_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_gateway_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gateway_init_main_conf(ngx_conf_t *cf, void *conf);


static ngx_command_t  ngx_http_gateway_commands[] = {

    { ngx_string("gateway_generation"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_http_gateway_generation,
      NGX_HTTP_MAIN_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_status"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_gateway_status,
      0,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gateway_module_ctx = {
    NULL,                                  /* preconfiguration */
    NULL,                                  /* postconfiguration */

    ngx_http_gateway_create_main_conf,     /* create main configuration */
    ngx_http_gateway_init_main_conf,       /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    NULL,                                  /* create location configuration */
    NULL                                   /* merge location configuration */
};


ngx_module_t  ngx_http_gateway_module = {
    NGX_MODULE_V1,
    &ngx_http_gateway_module_ctx,          /* module context */
    ngx_http_gateway_commands,             /* module directives */
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


static ngx_int_t
ngx_http_gateway_status_handler(ngx_http_request_t *r)
{
    ngx_int_t     rc;
    ngx_buf_t    *b;
    ngx_chain_t   out;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_gateway_not_allowed(r);
    }

    rc = ngx_http_discard_request_body(r);

    if (rc != NGX_OK) {
        return rc;
    }

    b = ngx_http_gateway_status_json(r);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    ngx_str_set(&r->headers_out.content_type, "application/json");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


static ngx_buf_t *
ngx_http_gateway_status_json(ngx_http_request_t *r)
{
    ngx_buf_t                     *b;
    ngx_core_conf_t               *ccf;
    ngx_http_gateway_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gateway_module);
    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    b = ngx_create_temp_buf(r->pool, NGX_HTTP_GATEWAY_JSON_LEN);
    if (b == NULL) {
        return NULL;
    }

    b->last = ngx_slprintf(b->last, b->end, NGX_HTTP_GATEWAY_JSON_FMT,
                           gmcf->generation, gmcf->loaded_at,
                           gmcf->loaded_at_msec, NGINX_VERSION, ngx_pid,
                           ccf->worker_processes);

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    return b;
}


static ngx_int_t
ngx_http_gateway_not_allowed(ngx_http_request_t *r)
{
    ngx_table_elt_t  *h;

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = NULL;
#endif
    ngx_str_set(&h->key, "Allow");
    ngx_str_set(&h->value, "GET, HEAD");

    return NGX_HTTP_NOT_ALLOWED;
}


static ngx_int_t
ngx_http_gateway_parse_uint64(ngx_str_t *s, uint64_t *value)
{
    u_char    *p, *last;
    uint64_t   n, cutoff, cutlim;

    if (s->len == 0) {
        return NGX_ERROR;
    }

    cutoff = (uint64_t) -1 / 10;
    cutlim = (uint64_t) -1 % 10;

    n = 0;
    last = s->data + s->len;

    for (p = s->data; p < last; p++) {

        if (*p < '0' || *p > '9') {
            return NGX_ERROR;
        }

        if (n > cutoff || (n == cutoff && (uint64_t) (*p - '0') > cutlim)) {
            return NGX_ERROR;
        }

        n = n * 10 + (*p - '0');
    }

    *value = n;

    return NGX_OK;
}


static char *
ngx_http_gateway_generation(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_gateway_main_conf_t *gmcf = conf;

    ngx_str_t  *value;

    if (gmcf->generation_set) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_http_gateway_parse_uint64(&value[1], &gmcf->generation)
        != NGX_OK)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, "
                           "it must be an unsigned 64-bit decimal number",
                           &value[1], &cmd->name);
        return NGX_CONF_ERROR;
    }

    gmcf->generation_set = 1;

    return NGX_CONF_OK;
}


static char *
ngx_http_gateway_status(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_core_loc_conf_t  *clcf;

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);
    clcf->handler = ngx_http_gateway_status_handler;

    return NGX_CONF_OK;
}


static void *
ngx_http_gateway_create_main_conf(ngx_conf_t *cf)
{
    ngx_http_gateway_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gateway_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gmcf->generation = 0;
     *     gmcf->generation_set = 0;
     */

    return gmcf;
}


static char *
ngx_http_gateway_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gateway_main_conf_t *gmcf = conf;

    u_char          *p;
    ngx_tm_t         tm;
    struct timeval   tv;

    /* the wall clock now, not the cached time: this is when http{} parsed */

    ngx_gettimeofday(&tv);
    ngx_gmtime(tv.tv_sec, &tm);

    gmcf->loaded_at_msec = (uint64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

    p = ngx_snprintf(gmcf->loaded_at, sizeof(gmcf->loaded_at) - 1,
                     "%4d-%02d-%02dT%02d:%02d:%02dZ",
                     tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                     tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
    *p = '\0';

    return NGX_CONF_OK;
}
