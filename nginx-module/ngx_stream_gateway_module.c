
/*
 * ngx_stream_gateway_module: counts the sessions of the stream servers
 * and upstream peers that serve Gateway API listeners (TCPRoute,
 * UDPRoute, TLSRoute passthrough).
 *
 *   gateway_stream_status_zone <size>;
 *                                  stream main context: size of the shared
 *                                  memory zone of the counters (1m)
 *   gateway_stream_tag gateway=NS/NAME listener=NAME [route=NS/NAME];
 *                                  server: the Gateway listener it serves
 *   gateway_stream_backend_tag backend=NS/SVC:PORT;
 *                                  upstream: the backend it balances
 *
 * It is a module of its own (ngx_stream_gateway_module.so), loaded after
 * ngx_stream_module.so: it needs the stream module's symbols, and an http
 * only configuration must be able to load ngx_http_gateway_module.so
 * without them. It serves nothing itself: the "gateway_status;" location
 * of ngx_http_gateway_module finds this module's zone by its name and
 * reports it (ngx_stream_gateway_report.c).
 *
 * Counters live in a shared memory zone that a reload keeps (see
 * ngx_stream_gateway_zone.c). A post-accept phase handler counts a session
 * of a tagged server as active; a log phase handler, when the session
 * ends, adds it to its server and to the peers it was proxied to. Neither
 * allocates: the session's context slot of this module only marks a
 * session that was counted as active.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_gateway_module.h"


static ngx_int_t ngx_stream_gateway_accept_handler(ngx_stream_session_t *s);
static ngx_int_t ngx_stream_gateway_log_handler(ngx_stream_session_t *s);
static void ngx_stream_gateway_count(ngx_stream_gateway_counters_t *c,
    ngx_uint_t status, off_t bytes_in, off_t bytes_out, ngx_msec_t time);
static ngx_int_t ngx_stream_gateway_postconfiguration(ngx_conf_t *cf);
static void *ngx_stream_gateway_create_main_conf(ngx_conf_t *cf);
static char *ngx_stream_gateway_init_main_conf(ngx_conf_t *cf, void *conf);
static void *ngx_stream_gateway_create_srv_conf(ngx_conf_t *cf);
static ngx_int_t ngx_stream_gateway_init_module(ngx_cycle_t *cycle);


static ngx_command_t  ngx_stream_gateway_commands[] = {

    { ngx_string("gateway_stream_status_zone"),
      NGX_STREAM_MAIN_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_STREAM_MAIN_CONF_OFFSET,
      offsetof(ngx_stream_gateway_main_conf_t, zone_size),
      NULL },

    { ngx_string("gateway_stream_tag"),
      NGX_STREAM_SRV_CONF|NGX_CONF_1MORE,
      ngx_stream_gateway_server_tag,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("gateway_stream_backend_tag"),
      NGX_STREAM_UPS_CONF|NGX_CONF_TAKE1,
      ngx_stream_gateway_backend_tag,
      NGX_STREAM_SRV_CONF_OFFSET,
      0,
      NULL },

      ngx_null_command
};


static ngx_stream_module_t  ngx_stream_gateway_module_ctx = {
    NULL,                                  /* preconfiguration */
    ngx_stream_gateway_postconfiguration,  /* postconfiguration */

    ngx_stream_gateway_create_main_conf,   /* create main configuration */
    ngx_stream_gateway_init_main_conf,     /* init main configuration */

    ngx_stream_gateway_create_srv_conf,    /* create server configuration */
    NULL                                   /* merge server configuration */
};


ngx_module_t  ngx_stream_gateway_module = {
    NGX_MODULE_V1,
    &ngx_stream_gateway_module_ctx,        /* module context */
    ngx_stream_gateway_commands,           /* module directives */
    NGX_STREAM_MODULE,                     /* module type */
    NULL,                                  /* init master */
    ngx_stream_gateway_init_module,        /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* the values of $status, in the order of the counters' status[] */

static ngx_uint_t  ngx_stream_gateway_status[NGX_STREAM_GATEWAY_NSTATUS] = {
    NGX_STREAM_OK,
    NGX_STREAM_BAD_REQUEST,
    NGX_STREAM_FORBIDDEN,
    NGX_STREAM_INTERNAL_SERVER_ERROR,
    NGX_STREAM_BAD_GATEWAY,
    NGX_STREAM_SERVICE_UNAVAILABLE
};


static ngx_int_t
ngx_stream_gateway_accept_handler(ngx_stream_session_t *s)
{
    ngx_slab_pool_t                 *shpool;
    ngx_stream_gateway_series_t     *series;
    ngx_stream_gateway_srv_conf_t   *gscf;
    ngx_stream_gateway_main_conf_t  *gmcf;

    gscf = ngx_stream_get_module_srv_conf(s, ngx_stream_gateway_module);

    if (gscf->tag == NULL) {
        return NGX_DECLINED;
    }

    gmcf = ngx_stream_get_module_main_conf(s, ngx_stream_gateway_module);
    shpool = (ngx_slab_pool_t *) gmcf->shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    series = ngx_stream_gateway_series_find(gmcf, gscf->tag);

    if (series) {
        series->counters.active++;
        ngx_stream_set_ctx(s, gscf, ngx_stream_gateway_module);
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_DECLINED;
}


/*
 * The hot path: no allocation, one lock of the zone for the few additions
 * of a tagged session. Each attempt to reach a peer counts for that peer:
 * those before the last failed (502), the last ends as the session does.
 */

static ngx_int_t
ngx_stream_gateway_log_handler(ngx_stream_session_t *s)
{
    ngx_uint_t                       i, status;
    ngx_msec_int_t                   ms;
    ngx_time_t                      *tp;
    ngx_slab_pool_t                 *shpool;
    ngx_stream_upstream_t           *u;
    ngx_stream_gateway_tag_t        *peer;
    ngx_stream_gateway_series_t     *series;
    ngx_stream_upstream_state_t     *state;
    ngx_stream_gateway_srv_conf_t   *gscf, *gucf;
    ngx_stream_gateway_counters_t   *c;
    ngx_stream_gateway_main_conf_t  *gmcf;

    gscf = ngx_stream_get_module_srv_conf(s, ngx_stream_gateway_module);

    gucf = NULL;
    u = s->upstream;

    if (u && u->upstream && u->upstream->srv_conf
        && s->upstream_states && s->upstream_states->nelts)
    {
        gucf = ngx_stream_conf_upstream_srv_conf(u->upstream,
                                                 ngx_stream_gateway_module);
        if (gucf->tag == NULL) {
            gucf = NULL;
        }
    }

    if (gscf->tag == NULL && gucf == NULL) {
        return NGX_OK;
    }

    /* as $session_time */

    tp = ngx_timeofday();

    ms = (ngx_msec_int_t) ((tp->sec - s->start_sec) * 1000
                           + (tp->msec - s->start_msec));
    ms = ngx_max(ms, 0);

    gmcf = ngx_stream_get_module_main_conf(s, ngx_stream_gateway_module);
    shpool = (ngx_slab_pool_t *) gmcf->shm_zone->shm.addr;

    ngx_shmtx_lock(&shpool->mutex);

    if (gscf->tag) {
        series = ngx_stream_gateway_series_find(gmcf, gscf->tag);

        if (series) {
            c = &series->counters;

            ngx_stream_gateway_count(c, s->status, s->received,
                                     s->connection->sent, ms);

            if (ngx_stream_get_module_ctx(s, ngx_stream_gateway_module)
                && c->active)
            {
                c->active--;
            }
        }
    }

    if (gucf) {
        state = s->upstream_states->elts;

        for (i = 0; i < s->upstream_states->nelts; i++) {
            if (state[i].peer == NULL) {
                continue;
            }

            peer = ngx_stream_gateway_peer_find(gucf, state[i].peer);
            if (peer == NULL) {
                continue;
            }

            series = ngx_stream_gateway_series_find(gmcf, peer);
            if (series == NULL) {
                continue;
            }

            c = &series->counters;

            status = (i + 1 < s->upstream_states->nelts)
                     ? NGX_STREAM_BAD_GATEWAY : s->status;

            ngx_stream_gateway_count(c, status, state[i].bytes_received,
                                     state[i].bytes_sent,
                                     state[i].response_time);

            if (state[i].connect_time != (ngx_msec_t) -1) {
                c->connect_time += state[i].connect_time;
            }
        }
    }

    ngx_shmtx_unlock(&shpool->mutex);

    return NGX_OK;
}


static void
ngx_stream_gateway_count(ngx_stream_gateway_counters_t *c, ngx_uint_t status,
    off_t bytes_in, off_t bytes_out, ngx_msec_t time)
{
    ngx_uint_t  i;

    c->sessions++;

    for (i = 0; i < NGX_STREAM_GATEWAY_NSTATUS; i++) {
        if (ngx_stream_gateway_status[i] == status) {
            c->status[i]++;
            break;
        }
    }

    if (bytes_in > 0) {
        c->bytes_in += bytes_in;
    }

    if (bytes_out > 0) {
        c->bytes_out += bytes_out;
    }

    if (time != (ngx_msec_t) -1) {
        c->session_time += time;
    }
}


static ngx_int_t
ngx_stream_gateway_postconfiguration(ngx_conf_t *cf)
{
    ngx_stream_handler_pt        *h;
    ngx_stream_core_main_conf_t  *cmcf;

    cmcf = ngx_stream_conf_get_module_main_conf(cf, ngx_stream_core_module);

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_POST_ACCEPT_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_gateway_accept_handler;

    h = ngx_array_push(&cmcf->phases[NGX_STREAM_LOG_PHASE].handlers);
    if (h == NULL) {
        return NGX_ERROR;
    }

    *h = ngx_stream_gateway_log_handler;

    return NGX_OK;
}


static void *
ngx_stream_gateway_create_main_conf(ngx_conf_t *cf)
{
    ngx_stream_gateway_main_conf_t  *gmcf;

    gmcf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_gateway_main_conf_t));
    if (gmcf == NULL) {
        return NULL;
    }

    /*
     * set by ngx_pcalloc():
     *
     *     gmcf->shm_zone = NULL;
     *     gmcf->epoch = 0;
     */

    gmcf->zone_size = NGX_CONF_UNSET_SIZE;

    if (ngx_array_init(&gmcf->tags, cf->pool, 16,
                       sizeof(ngx_stream_gateway_tag_t *))
        != NGX_OK)
    {
        return NULL;
    }

    if (ngx_array_init(&gmcf->upstreams, cf->pool, 4,
                       sizeof(ngx_stream_gateway_srv_conf_t *))
        != NGX_OK)
    {
        return NULL;
    }

    return gmcf;
}


static char *
ngx_stream_gateway_init_main_conf(ngx_conf_t *cf, void *conf)
{
    ngx_stream_gateway_main_conf_t *gmcf = conf;

    ngx_str_t                        name;
    ngx_uint_t                       i;
    ngx_stream_gateway_srv_conf_t  **gucfp;

    gucfp = gmcf->upstreams.elts;

    for (i = 0; i < gmcf->upstreams.nelts; i++) {
        if (ngx_stream_gateway_init_peers(cf, gucfp[i]) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    ngx_conf_init_size_value(gmcf->zone_size, NGX_STREAM_GATEWAY_ZONE_SIZE);

    if (gmcf->zone_size < 8 * ngx_pagesize) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"gateway_stream_status_zone\" of %uz bytes is "
                           "too small, it must be at least %uz bytes",
                           gmcf->zone_size, 8 * ngx_pagesize);
        return NGX_CONF_ERROR;
    }

    /* the same name, size and tag on a reload: nginx keeps the zone */

    ngx_str_set(&name, NGX_STREAM_GATEWAY_ZONE_NAME);

    gmcf->shm_zone = ngx_shared_memory_add(cf, &name, gmcf->zone_size,
                                           &ngx_stream_gateway_module);
    if (gmcf->shm_zone == NULL) {
        return NGX_CONF_ERROR;
    }

    gmcf->shm_zone->init = ngx_stream_gateway_init_zone;
    gmcf->shm_zone->data = NULL;

    return NGX_CONF_OK;
}


static void *
ngx_stream_gateway_create_srv_conf(ngx_conf_t *cf)
{
    ngx_stream_gateway_srv_conf_t  *gscf;

    gscf = ngx_pcalloc(cf->pool, sizeof(ngx_stream_gateway_srv_conf_t));
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


static ngx_int_t
ngx_stream_gateway_init_module(ngx_cycle_t *cycle)
{
    ngx_stream_gateway_main_conf_t  *gmcf;

    gmcf = ngx_stream_cycle_get_module_main_conf(cycle,
                                                 ngx_stream_gateway_module);
    if (gmcf == NULL || gmcf->shm_zone == NULL) {
        return NGX_OK;
    }

    ngx_stream_gateway_zone_update(cycle, gmcf);

    return NGX_OK;
}
