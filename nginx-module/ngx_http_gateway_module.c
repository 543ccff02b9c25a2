
/*
 * ngx_http_gateway_module: reports which configuration is live and what
 * traffic it carried.
 *
 *   gateway_generation <number>;   http main context: the generation the
 *                                  controller rendered (unsigned 64-bit)
 *   gateway_status;                location: JSON status (GET and HEAD)
 *   gateway_status_zone <size>;    http main context: size of the shared
 *                                  memory zone of the counters (1m)
 *   gateway_server_tag gateway=NS/NAME listener=NAME [hostname=HOST];
 *                                  server: the Gateway listener it serves
 *   gateway_route_tag route=NS/NAME [rule=N];
 *                                  location: the HTTPRoute rule it serves
 *   gateway_backend_tag backend=NS/SVC:PORT;
 *                                  upstream: the backend it balances
 *
 * Each worker answers from the configuration (cycle) it was started with.
 * On SIGHUP the master starts new workers and, about 100 ms later, tells
 * the old ones to stop accepting; until they have done so, a new connection
 * may still reach an old worker and be told the old generation.
 *
 * The counters (per tagged server, location and upstream peer) live in a
 * shared memory zone that a reload keeps, see ngx_http_gateway_zone.c; a
 * log phase handler adds every finished request to them.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_http_gateway_module.h"


static ngx_int_t ngx_http_gateway_status_handler(ngx_http_request_t *r);
static ngx_int_t ngx_http_gateway_log_handler(ngx_http_request_t *r);
static void ngx_http_gateway_count(ngx_http_gateway_counters_t *c,
    ngx_uint_t status, off_t bytes_in, off_t bytes_out);
static ngx_int_t ngx_http_gateway_not_allowed(ngx_http_request_t *r);
static ngx_int_t ngx_http_gateway_parse_uint64(ngx_str_t *s, uint64_t *value);
static char *ngx_http_gateway_generation(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static char *ngx_http_gateway_status(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static ngx_int_t ngx_http_gateway_postconfiguration(ngx_conf_t *cf);
static void *ngx_http_gateway_create_main_conf(ngx_conf_t *cf);
static char *ngx_http_gateway_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_http_gateway_create_srv_conf(ngx_conf_t *cf);
static void *ngx_http_gateway_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_gateway_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);
static ngx_int_t ngx_http_gateway_init_module(ngx_cycle_t *cycle);


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

    { ngx_string("gateway_status_zone"),
      NGX_HTTP_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_MAIN_CONF_OFFSET,
      offsetof(ngx_http_gateway_main_conf_t, zone_size),
      NULL },

    { ngx_string("gateway_server_tag"),
      NGX_HTTP_SRV_CONF|NGX_CONF_1MORE,
      ngx_http_gateway_server_tag,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_route_tag"),
      NGX_HTTP_LOC_CONF|NGX_CONF_1MORE,
      ngx_http_gateway_route_tag,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_backend_tag"),
      NGX_HTTP_UPS_CONF|NGX_CONF_TAKE1,
      ngx_http_gateway_backend_tag,
      NGX_HTTP_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_gateway_module_ctx = {
    ngx_http_gateway_add_variables,        /* preconfiguration */
    ngx_http_gateway_postconfiguration,    /* postconfiguration */

    ngx_http_gateway_create_main_conf,     /* create main configuration */
    ngx_http_gateway_init_main_conf,       /* init main configuration */

    ngx_http_gateway_create_srv_conf,      /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_gateway_create_loc_conf,      /* create location configuration */
    ngx_http_gateway_merge_loc_conf        /* merge location configuration */
};


ngx_module_t  ngx_http_gateway_module = {
    NGX_MODULE_V1,
    &ngx_http_gateway_module_ctx,          /* module context */
    ngx_http_gateway_commands,             /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    ngx_http_gateway_init_module,          /* init module */
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

    b = ngx_http_gateway_report(r);
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


/*
 * The hot path: no allocation, one lock of the zone for the few additions
 * of a tagged request. A worker of the current cycle uses the series its
 * tags point to; one of an older cycle looks them up (they may be gone).
 */

static ngx_int_t
ngx_http_gateway_log_handler(ngx_http_request_t *r)
{
    ngx_uint_t                     i, status, current;
    ngx_slab_pool_t               *shpool;
    ngx_http_upstream_t           *u;
    ngx_http_gateway_tag_t        *tags[2], *peer;
    ngx_http_gateway_shctx_t      *shctx;
    ngx_http_gateway_series_t     *series;
    ngx_http_upstream_state_t     *state;
    ngx_http_gateway_srv_conf_t   *gscf, *gucf;
    ngx_http_gateway_loc_conf_t   *glcf;
    ngx_http_gateway_main_conf_t  *gmcf;

    if (r != r->main) {
        return NGX_OK;
    }

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gateway_module);
    shctx = gmcf->shm_zone->data;

    (void) ngx_atomic_fetch_add(&shctx->requests, 1);

    gscf = ngx_http_get_module_srv_conf(r, ngx_http_gateway_module);
    glcf = ngx_http_get_module_loc_conf(r, ngx_http_gateway_module);

    gucf = NULL;
    u = r->upstream;

    if (u && u->upstream && u->upstream->srv_conf
        && r->upstream_states && r->upstream_states->nelts)
    {
        gucf = ngx_http_conf_upstream_srv_conf(u->upstream,
                                               ngx_http_gateway_module);
        if (gucf->tag == NULL) {
            gucf = NULL;
        }
    }

    if (gscf->tag == NULL && glcf->tag == NULL && gucf == NULL) {
        return NGX_OK;
    }

    if (r->err_status) {
        status = r->err_status;

    } else {
        status = r->headers_out.status;
    }

    tags[0] = gscf->tag;
    tags[1] = glcf->tag;

    shpool = (ngx_slab_pool_t *) gmcf->shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    current = (gmcf->epoch == shctx->epoch);

    for (i = 0; i < 2; i++) {
        if (tags[i] == NULL) {
            continue;
        }

        series = current ? tags[i]->series
                         : ngx_http_gateway_series_lookup(shctx, tags[i]);

        if (series) {
            ngx_http_gateway_count(&series->counters, status,
                                   r->request_length, r->connection->sent);
        }
    }

    if (gucf) {
        state = r->upstream_states->elts;

        for (i = 0; i < r->upstream_states->nelts; i++) {
            if (state[i].peer == NULL) {
                continue;
            }

            peer = ngx_http_gateway_peer_find(gucf, state[i].peer);
            if (peer == NULL) {
                continue;
            }

            series = current ? peer->series
                             : ngx_http_gateway_series_lookup(shctx, peer);
            if (series == NULL) {
                continue;
            }

            ngx_http_gateway_count(&series->counters, state[i].status,
                                   state[i].bytes_received,
                                   state[i].bytes_sent);

            if (state[i].response_time != (ngx_msec_t) -1) {
                series->counters.time_sum += state[i].response_time;
                series->counters.time_count++;
            }
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


static void
ngx_http_gateway_count(ngx_http_gateway_counters_t *c, ngx_uint_t status,
    off_t bytes_in, off_t bytes_out)
{
    c->requests++;

    if (status >= 100 && status < 600) {
        c->responses[status / 100 - 1]++;
    }

    if (bytes_in > 0) {
        c->bytes_in += bytes_in;
    }

    if (bytes_out > 0) {
        c->bytes_out += bytes_out;
    }
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


static ngx_int_t
ngx_http_gateway_postconfiguration(ngx_conf_t *cf)
{
    ngx_http_handler_pt        *h;
    ngx_http_core_main_conf_t  *cmcf;

    cmcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_HTTP_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_http_gateway_log_handler;

    return NGX_OK;
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
     *     gmcf->shm_zone = NULL;
     *     gmcf->epoch = 0;
     */

    gmcf->zone_size = NGX_CONF_UNSET_SIZE;

    if (ngx_array_init(&gmcf->tags, cf->pool, 16,
                       sizeof(ngx_http_gateway_tag_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&gmcf->upstreams, cf->pool, 4,
                       sizeof(ngx_http_gateway_srv_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return gmcf;
}


static char *
ngx_http_gateway_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_http_gateway_main_conf_t *gmcf = conf;

    u_char                        *p;
    ngx_tm_t                       tm;
    ngx_str_t                      name;
    ngx_uint_t                     i;
    struct timeval                 tv;
    ngx_http_gateway_srv_conf_t  **gucfp;

    /* the wall clock now, not the cached time: this is when http{} parsed */

    ngx_gettimeofday(&tv);
    ngx_gmtime(tv.tv_sec, &tm);

    gmcf->loaded_at_msec = (uint64_t) tv.tv_sec * 1000 + tv.tv_usec / 1000;

    p = ngx_snprintf(gmcf->loaded_at, sizeof(gmcf->loaded_at) - 1,
                     "%4d-%02d-%02dT%02d:%02d:%02dZ",
                     tm.ngx_tm_year, tm.ngx_tm_mon, tm.ngx_tm_mday,
                     tm.ngx_tm_hour, tm.ngx_tm_min, tm.ngx_tm_sec);
    *p = '\0';

    gucfp = gmcf->upstreams.elts;

    for (i = 0; i < gmcf->upstreams.nelts; i++) {
        if (ngx_http_gateway_init_peers(cf, gucfp[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_init_size_value(gmcf->zone_size, NGX_HTTP_GATEWAY_ZONE_SIZE);

    if (gmcf->zone_size < 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gateway_status_zone\" of %uz bytes is too "
                           "small, it must be at least %uz bytes",
                           gmcf->zone_size, 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    /* the same name, size and tag on a reload: nginx keeps the zone */

    ngx_str_set(&name, NGX_HTTP_GATEWAY_ZONE_NAME);

    gmcf->shm_zone = ngx_shared_memory_add(cf, &name, gmcf->zone_size,
                                           &ngx_http_gateway_module);
    if (gmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    gmcf->shm_zone->init = ngx_http_gateway_init_zone;
    gmcf->shm_zone->data = NULL;

    return NGX_CONF_OK;
}


static void *
ngx_http_gateway_create_srv_conf(ngx_conf_t *cf)
{
    ngx_http_gateway_srv_conf_t  *gscf;

    gscf = ngx_pcalloc(cf->pool, sizeof(ngx_http_gateway_srv_conf_t));
    if (gscf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gscf->tag = NULL;
     *     gscf->upstream = NULL;
     *     gscf->peers = { 0 };
     */

    return gscf;
}


static void *
ngx_http_gateway_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_gateway_loc_conf_t  *glcf;

    glcf = ngx_palloc(cf->pool, sizeof(ngx_http_gateway_loc_conf_t));
    if (glcf == NULL) {
        return NULL;
    }

    glcf->tag = NGX_CONF_UNSET_PTR;

    return glcf;
}


static char *
ngx_http_gateway_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_gateway_loc_conf_t *prev = parent;
    ngx_http_gateway_loc_conf_t *conf = child;

    ngx_conf_merge_ptr_value(conf->tag, prev->tag, NULL);

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_http_gateway_init_module(ngx_cycle_t *cycle)
{
    ngx_http_gateway_main_conf_t  *gmcf;

    gmcf = ngx_http_cycle_get_module_main_conf(cycle,
                                               ngx_http_gateway_module);
    if (gmcf == NULL || gmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    ngx_http_gateway_zone_update(cycle, gmcf);

    return NGX_OK;
}
