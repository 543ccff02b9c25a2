
/*
 * The JSON status document of ngx_http_gateway_module:
 *
 *   {"generation":N,"loaded_at":"...","loaded_at_msec":N,
 *    "nginx_version":"...","pid":N,"worker_processes":N,
 *    "connections":{"accepted":N,"handled":N,"active":N,"reading":N,
 *                   "writing":N,"waiting":N},
 *    "requests":{"total":N},
 *    "zone":{"name":"...","size":N,"total_pages":N,"used_pages":N,
 *            "series":N,"unallocated":N},
 *    "servers":[{"gateway":"...","listener":"...","hostname":"..."|null,
 *                COUNTERS}],
 *    "routes":[{"route":"...","rule":"..."|null, COUNTERS}],
 *    "upstreams":[{"backend":"...","peers":[{"address":"...",
 *                  COUNTERS,"response_time_ms_sum":N,
 *                  "response_time_count":N}]}]}
 *
 * where COUNTERS is "requests":N,"responses":{"1xx":N,..,"5xx":N},
 * "bytes_in":N,"bytes_out":N. For a server or route, bytes_in is what the
 * client sent ($request_length) and bytes_out what it was sent
 * ($bytes_sent); for a peer, bytes_in is what it sent to nginx and
 * bytes_out what nginx sent to it. The first six fields are those of the
 * worker's own configuration; connections come from nginx's own counters
 * (those of stub_status); the rest is the zone's, which always follows
 * the newest configuration.
 *
 * When the cycle has the zone of ngx_stream_gateway_module, its part
 * ("stream_zone", "streams", "stream_upstreams", see
 * ngx_stream_gateway_report.c) follows "upstreams".
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
#include <nginx.h>

#include "ngx_http_gateway_module.h"
#include "ngx_stream_gateway_zone.h"


#if !(NGX_STAT_STUB)
#error "the connection counters need nginx built with stub_status"
#endif

#define NGX_HTTP_GATEWAY_HEAD_FMT                                             \
    "{\"generation\":%uL,\"loaded_at\":\"%s\",\"loaded_at_msec\":%uL,"       \
    "\"nginx_version\":\"%s\",\"pid\":%P,\"worker_processes\":%i,"

#define NGX_HTTP_GATEWAY_CONNECTIONS_FMT                                      \
    "\"connections\":{\"accepted\":%uA,\"handled\":%uA,\"active\":%uA,"      \
    "\"reading\":%uA,\"writing\":%uA,\"waiting\":%uA},"

#define NGX_HTTP_GATEWAY_ZONE_FMT                                             \
    "\"requests\":{\"total\":%uA},"                                           \
    "\"zone\":{\"name\":\"%V\",\"size\":%uz,\"total_pages\":%ui,"            \
    "\"used_pages\":%ui,\"series\":%ui,\"unallocated\":%ui}"

#define NGX_HTTP_GATEWAY_COUNTERS_FMT                                         \
    "\"requests\":%uL,\"responses\":{\"1xx\":%uL,\"2xx\":%uL,\"3xx\":%uL,"   \
    "\"4xx\":%uL,\"5xx\":%uL},\"bytes_in\":%uL,\"bytes_out\":%uL"

#define NGX_HTTP_GATEWAY_TIME_FMT                                             \
    ",\"response_time_ms_sum\":%uL,\"response_time_count\":%uL"

/* upper bounds of the printed numbers and of the punctuation around */

#define NGX_HTTP_GATEWAY_HEAD_LEN                                             \
    (sizeof(NGX_HTTP_GATEWAY_HEAD_FMT) + 3 * NGX_INT64_LEN                   \
     + sizeof(NGX_HTTP_GATEWAY_ISO8601) + sizeof(NGINX_VERSION)              \
     + NGX_INT_T_LEN                                                          \
     + sizeof(NGX_HTTP_GATEWAY_CONNECTIONS_FMT) + 6 * NGX_ATOMIC_T_LEN       \
     + sizeof(NGX_HTTP_GATEWAY_ZONE_FMT) + NGX_ATOMIC_T_LEN                  \
     + sizeof(NGX_HTTP_GATEWAY_ZONE_NAME) + 5 * NGX_INT_T_LEN                \
     + sizeof(",\"servers\":[],\"routes\":[],\"upstreams\":[]}\n"))

#define NGX_HTTP_GATEWAY_SERIES_LEN                                           \
    (sizeof(NGX_HTTP_GATEWAY_COUNTERS_FMT) + 8 * NGX_INT64_LEN               \
     + sizeof(NGX_HTTP_GATEWAY_TIME_FMT) + 2 * NGX_INT64_LEN                 \
     + sizeof(",\"peers\":[]},{}"))

#define NGX_HTTP_GATEWAY_FIELD_LEN  sizeof(",\"\":null")


static size_t ngx_http_gateway_report_len(ngx_http_gateway_shctx_t *shctx);
static size_t ngx_http_gateway_series_len(ngx_http_gateway_series_t *series);
static u_char *ngx_http_gateway_report_list(u_char *p, u_char *last,
    ngx_http_gateway_shctx_t *shctx, ngx_uint_t kind, char *name);
static u_char *ngx_http_gateway_report_series(u_char *p, u_char *last,
    ngx_http_gateway_series_t *series);
static u_char *ngx_http_gateway_report_fields(u_char *p, u_char *last,
    ngx_http_gateway_series_t *series);


ngx_buf_t *
ngx_http_gateway_report(ngx_http_request_t *r)
{
    u_char                        *p, *last;
    size_t                         len;
    ngx_buf_t                     *b;
    ngx_str_t                      streams;
    ngx_uint_t                     total;
    ngx_slab_pool_t               *shpool;
    ngx_core_conf_t               *ccf;
    ngx_http_gateway_shctx_t      *shctx;
    ngx_http_gateway_main_conf_t  *gmcf;

    gmcf = ngx_http_get_module_main_conf(r, ngx_http_gateway_module);
    ccf = (ngx_core_conf_t *) ngx_get_conf(ngx_cycle->conf_ctx,
                                           ngx_core_module);

    /* the stream zone's part first, under that zone's lock alone */

    if (ngx_stream_gateway_report((ngx_cycle_t *) ngx_cycle, r->pool,
                                  &streams)
        != NGX_OK)
    {
        return NULL;
    }

    shpool = (ngx_slab_pool_t *) gmcf->shm_zone->shm.addr;
    shctx = gmcf->shm_zone->data;

    /* one consistent picture: measured and written under the zone's lock */

    ngx_shmtx_lock(&shpool->mutex);

    len = ngx_http_gateway_report_len(shctx) + streams.len;

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NULL;
    }

    p = b->last;
    last = b->end;

    p = ngx_slprintf(p, last, NGX_HTTP_GATEWAY_HEAD_FMT,
                     gmcf->generation, gmcf->loaded_at,
                     gmcf->loaded_at_msec, NGINX_VERSION, ngx_pid,
                     ccf->worker_processes);

    p = ngx_slprintf(p, last, NGX_HTTP_GATEWAY_CONNECTIONS_FMT,
                     *ngx_stat_accepted, *ngx_stat_handled,
                     *ngx_stat_active, *ngx_stat_reading,
                     *ngx_stat_writing, *ngx_stat_waiting);

    total = (shpool->end - shpool->start) / ngx_pagesize;

    p = ngx_slprintf(p, last, NGX_HTTP_GATEWAY_ZONE_FMT,
                     shctx->requests, &gmcf->shm_zone->shm.name,
                     gmcf->shm_zone->shm.size, total, total - shpool->pfree,
                     shctx->nseries, shctx->unallocated);

    p = ngx_http_gateway_report_list(p, last, shctx,
                                     NGX_HTTP_GATEWAY_SERVER, "servers");
    p = ngx_http_gateway_report_list(p, last, shctx,
                                     NGX_HTTP_GATEWAY_ROUTE, "routes");
    p = ngx_http_gateway_report_list(p, last, shctx,
                                     NGX_HTTP_GATEWAY_UPSTREAM, "upstreams");

    ngx_shmtx_unlock(&shpool->mutex);

    p = ngx_slprintf(p, last, "%V}\n", &streams);

    if (p == last) {
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "gateway status: %uz bytes were not enough", len);
        return NULL;
    }

    b->last = p;
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    return b;
}


static size_t
ngx_http_gateway_report_len(ngx_http_gateway_shctx_t *shctx)
{
    size_t                      len;
    ngx_queue_t                *q, *pq;
    ngx_http_gateway_series_t  *series, *peer;

    len = NGX_HTTP_GATEWAY_HEAD_LEN;

    for (q = ngx_queue_head(&shctx->series);
         q != ngx_queue_sentinel(&shctx->series);
         q = ngx_queue_next(q))
    {
        series = ngx_queue_data(q, ngx_http_gateway_series_t, queue);
        len += ngx_http_gateway_series_len(series);

        for (pq = ngx_queue_head(&series->peers);
             pq != ngx_queue_sentinel(&series->peers);
             pq = ngx_queue_next(pq))
        {
            peer = ngx_queue_data(pq, ngx_http_gateway_series_t, queue);
            len += ngx_http_gateway_series_len(peer);
        }
    }

    return len;
}


static size_t
ngx_http_gateway_series_len(ngx_http_gateway_series_t *series)
{
    size_t                     len;
    ngx_uint_t                 f;
    ngx_http_gateway_field_t  *fields;

    len = NGX_HTTP_GATEWAY_SERIES_LEN;

    fields = ngx_http_gateway_fields[series->sn.str.data[0]];

    for (f = 0; fields[f].name.len; f++) {
        len += NGX_HTTP_GATEWAY_FIELD_LEN + fields[f].name.len;
    }

    /* every value escaped, each byte at worst as \u00XX */

    return len + 6 * series->sn.str.len;
}


static u_char *
ngx_http_gateway_report_list(u_char *p, u_char *last,
    ngx_http_gateway_shctx_t *shctx, ngx_uint_t kind, char *name)
{
    ngx_uint_t                  n;
    ngx_queue_t                *q;
    ngx_http_gateway_series_t  *series;

    p = ngx_slprintf(p, last, ",\"%s\":[", name);
    n = 0;

    for (q = ngx_queue_head(&shctx->series);
         q != ngx_queue_sentinel(&shctx->series);
         q = ngx_queue_next(q))
    {
        series = ngx_queue_data(q, ngx_http_gateway_series_t, queue);

        if (series->sn.str.data[0] != kind) {
            continue;
        }

        if (n++) {
            p = ngx_slprintf(p, last, ",");
        }

        p = ngx_http_gateway_report_series(p, last, series);
    }

    return ngx_slprintf(p, last, "]");
}


static u_char *
ngx_http_gateway_report_series(u_char *p, u_char *last,
    ngx_http_gateway_series_t *series)
{
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_http_gateway_series_t    *peer;
    ngx_http_gateway_counters_t  *c;

    p = ngx_slprintf(p, last, "{");
    p = ngx_http_gateway_report_fields(p, last, series);

    if (series->sn.str.data[0] == NGX_HTTP_GATEWAY_UPSTREAM) {
        p = ngx_slprintf(p, last, ",\"peers\":[");
        n = 0;

        for (q = ngx_queue_head(&series->peers);
             q != ngx_queue_sentinel(&series->peers);
             q = ngx_queue_next(q))
        {
            peer = ngx_queue_data(q, ngx_http_gateway_series_t, queue);

            if (n++) {
                p = ngx_slprintf(p, last, ",");
            }

            p = ngx_http_gateway_report_series(p, last, peer);
        }

        return ngx_slprintf(p, last, "]}");
    }

    c = &series->counters;

    p = ngx_slprintf(p, last, "," NGX_HTTP_GATEWAY_COUNTERS_FMT,
                     c->requests, c->responses[0], c->responses[1],
                     c->responses[2], c->responses[3], c->responses[4],
                     c->bytes_in, c->bytes_out);

    if (series->sn.str.data[0] == NGX_HTTP_GATEWAY_PEER) {
        p = ngx_slprintf(p, last, NGX_HTTP_GATEWAY_TIME_FMT,
                         c->time_sum, c->time_count);
    }

    return ngx_slprintf(p, last, "}");
}


/*
 * The key's values in the order of the kind's fields, an empty one (an
 * optional parameter left out) as null. The backend of a peer is its
 * upstream's, which the report shows once.
 */

static u_char *
ngx_http_gateway_report_fields(u_char *p, u_char *last,
    ngx_http_gateway_series_t *series)
{
    u_char                    *v, *end;
    size_t                     len;
    ngx_uint_t                 f, n, kind;
    ngx_http_gateway_field_t  *fields;

    kind = series->sn.str.data[0];
    fields = ngx_http_gateway_fields[kind];

    v = series->sn.str.data + 1;
    end = series->sn.str.data + series->sn.str.len;
    n = 0;

    for (f = 0; fields[f].name.len && v < end; f++) {
        len = ngx_strlen(v);

        if (kind == NGX_HTTP_GATEWAY_PEER && f == 0) {
            v += len + 1;
            continue;
        }

        p = ngx_slprintf(p, last, "%s\"%V\":", n++ ? "," : "",
                         &fields[f].name);

        if (len == 0) {
            p = ngx_slprintf(p, last, "null");

        } else if ((size_t) (last - p)
                   >= len + ngx_escape_json(NULL, v, len) + 2)
        {
            *p++ = '"';
            p = (u_char *) ngx_escape_json(p, v, len);
            *p++ = '"';

        } else {
            return last;
        }

        v += len + 1;
    }

    return p;
}
