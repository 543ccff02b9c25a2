
/*
 * The stream part of the JSON status document, for the "gateway_status;"
 * location of ngx_http_gateway_module, whose .so this file is part of.
 *
 * ngx_stream_gateway_module (its own .so, see there why) keeps its
 * counters in a zone of its own; this file finds that zone among the
 * cycle's shared memory by name and checks that it is that module's (the
 * tag's module name, the magic of ngx_stream_gateway_zone.h) before it
 * reads it. Nothing links the two modules: an http only configuration,
 * without the stream modules, has no such zone and its report no stream
 * part at all. With one:
 *
 *   ,"stream_zone":{"name":"...","size":N,"total_pages":N,
 *                   "used_pages":N,"series":N,"unallocated":N},
 *   "streams":[{"gateway":"...","listener":"...","route":"..."|null,
 *               "sessions":N,"active":N,"bytes_in":N,"bytes_out":N,
 *               "session_time_ms_sum":N,"status":{"200":N,"400":N,
 *               "403":N,"500":N,"502":N,"503":N}}],
 *   "stream_upstreams":[{"backend":"...","peers":[{"address":"...",
 *               "sessions":N,"bytes_in":N,"bytes_out":N,
 *               "connect_time_ms_sum":N,"session_time_ms_sum":N,
 *               "status":{...}}]}]
 *
 * For a stream, sessions are the finished ones and active those in
 * progress; bytes_in is what the client sent, bytes_out what it was sent.
 * For a peer, sessions are the attempts to reach it (a failed one is a
 * 502), bytes_in is what it sent to nginx and bytes_out what nginx sent
 * to it.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_stream_gateway_zone.h"


#define NGX_STREAM_GATEWAY_ZONE_FMT                                           \
    ",\"stream_zone\":{\"name\":\"%V\",\"size\":%uz,\"total_pages\":%ui,"    \
    "\"used_pages\":%ui,\"series\":%ui,\"unallocated\":%ui}"

#define NGX_STREAM_GATEWAY_STATUS_FMT                                         \
    "\"status\":{\"200\":%uL,\"400\":%uL,\"403\":%uL,\"500\":%uL,"           \
    "\"502\":%uL,\"503\":%uL}}"

#define NGX_STREAM_GATEWAY_SERVER_FMT                                         \
    ",\"sessions\":%uL,\"active\":%uL,\"bytes_in\":%uL,\"bytes_out\":%uL,"   \
    "\"session_time_ms_sum\":%uL,"

#define NGX_STREAM_GATEWAY_PEER_FMT                                           \
    ",\"sessions\":%uL,\"bytes_in\":%uL,\"bytes_out\":%uL,"                  \
    "\"connect_time_ms_sum\":%uL,\"session_time_ms_sum\":%uL,"

/* upper bounds of the printed numbers and of the punctuation around */

#define NGX_STREAM_GATEWAY_HEAD_LEN                                           \
    (sizeof(NGX_STREAM_GATEWAY_ZONE_FMT)                                     \
     + sizeof(NGX_STREAM_GATEWAY_ZONE_NAME) + 5 * NGX_INT_T_LEN              \
     + sizeof(",\"streams\":[],\"stream_upstreams\":[]"))

#define NGX_STREAM_GATEWAY_SERIES_LEN                                         \
    (sizeof(NGX_STREAM_GATEWAY_SERVER_FMT) + 5 * NGX_INT64_LEN               \
     + sizeof(NGX_STREAM_GATEWAY_STATUS_FMT)                                 \
     + NGX_STREAM_GATEWAY_NSTATUS * NGX_INT64_LEN                            \
     + sizeof(",\"peers\":[]},{}"))


static ngx_shm_zone_t *ngx_stream_gateway_report_zone(ngx_cycle_t *cycle);
static size_t ngx_stream_gateway_report_len(
    ngx_stream_gateway_shctx_t *shctx);
static u_char *ngx_stream_gateway_report_list(u_char *p, u_char *last,
    ngx_stream_gateway_shctx_t *shctx, ngx_uint_t kind, char *name);
static u_char *ngx_stream_gateway_report_series(u_char *p, u_char *last,
    ngx_stream_gateway_series_t *series);
static u_char *ngx_stream_gateway_report_fields(u_char *p, u_char *last,
    ngx_stream_gateway_series_t *series);


/*
 * Sets out to the stream part of the report, allocated from pool, or to
 * the empty string when the cycle has no stream zone.
 */

ngx_int_t
ngx_stream_gateway_report(ngx_cycle_t *cycle, ngx_pool_t *pool,
    ngx_str_t *out)
{
    u_char                      *p, *last;
    size_t                       len;
    ngx_uint_t                   total;
    ngx_shm_zone_t              *shm_zone;
    ngx_slab_pool_t             *shpool;
    ngx_stream_gateway_shctx_t  *shctx;

    ngx_str_null(out);

    shm_zone = ngx_stream_gateway_report_zone(cycle);
    if (shm_zone == NULL) {
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;
    shctx = shm_zone->data;

    /* one consistent picture: measured and written under the zone's lock */

    ngx_shmtx_lock(&shpool->mutex);

    len = ngx_stream_gateway_report_len(shctx);

    p = ngx_pnalloc(pool, len);
    if (p == NULL) {
        ngx_shmtx_unlock(&shpool->mutex);
        return NGX_ERROR;
    }

    out->data = p;
    last = p + len;

    total = (shpool->end - shpool->start) / ngx_pagesize;

    p = ngx_slprintf(p, last, NGX_STREAM_GATEWAY_ZONE_FMT,
                     &shm_zone->shm.name, shm_zone->shm.size, total,
                     total - shpool->pfree, shctx->nseries,
                     shctx->unallocated);

    p = ngx_stream_gateway_report_list(p, last, shctx,
                                       NGX_STREAM_GATEWAY_SERVER, "streams");
    p = ngx_stream_gateway_report_list(p, last, shctx,
                                       NGX_STREAM_GATEWAY_UPSTREAM,
                                       "stream_upstreams");

    ngx_shmtx_unlock(&shpool->mutex);

    if (p == last) {
        ngx_log_error(NGX_LOG_ALERT, cycle->log, 0,
                      "gateway status: %uz bytes were not enough for the "
                      "stream zone", len);
        return NGX_ERROR;
    }

    out->len = p - out->data;

    return NGX_OK;
}


static ngx_shm_zone_t *
ngx_stream_gateway_report_zone(ngx_cycle_t *cycle)
{
    ngx_uint_t                   i;
    ngx_module_t                *module;
    ngx_list_part_t             *part;
    ngx_shm_zone_t              *shm_zone;
    ngx_stream_gateway_shctx_t  *shctx;

    part = &cycle->shared_memory.part;
    shm_zone = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                return NULL;
            }

            part = part->next;
            shm_zone = part->elts;
            i = 0;
        }

        if (shm_zone[i].shm.name.len != sizeof(NGX_STREAM_GATEWAY_ZONE_NAME)
                                        - 1
            || ngx_strncmp(shm_zone[i].shm.name.data,
                           NGX_STREAM_GATEWAY_ZONE_NAME,
                           shm_zone[i].shm.name.len)
               != 0)
        {
            continue;
        }

        /* zone names are unique in a cycle: this one or none */

        module = shm_zone[i].tag;
        shctx = shm_zone[i].data;

        if (module == NULL || module->name == NULL
            || ngx_strcmp(module->name, NGX_STREAM_GATEWAY_MODULE_NAME) != 0
            || shctx == NULL
            || shctx->magic != NGX_STREAM_GATEWAY_ZONE_MAGIC)
        {
            return NULL;
        }

        return &shm_zone[i];
    }
}


static size_t
ngx_stream_gateway_report_len(ngx_stream_gateway_shctx_t *shctx)
{
    size_t                        len;
    ngx_queue_t                  *q, *pq;
    ngx_stream_gateway_series_t  *series, *peer;

    len = NGX_STREAM_GATEWAY_HEAD_LEN;

    /*
     * each byte of a key at worst as \u00XX, and each name and value
     * (at least two bytes of the key: their '\0') within ,"":"" or ,"":null
     */

    for (q = ngx_queue_head(&shctx->series);
         q != ngx_queue_sentinel(&shctx->series);
         q = ngx_queue_next(q))
    {
        series = ngx_queue_data(q, ngx_stream_gateway_series_t, queue);
        len += NGX_STREAM_GATEWAY_SERIES_LEN + 10 * series->sn.str.len;

        for (pq = ngx_queue_head(&series->peers);
             pq != ngx_queue_sentinel(&series->peers);
             pq = ngx_queue_next(pq))
        {
            peer = ngx_queue_data(pq, ngx_stream_gateway_series_t, queue);
            len += NGX_STREAM_GATEWAY_SERIES_LEN + 10 * peer->sn.str.len;
        }
    }

    return len;
}


static u_char *
ngx_stream_gateway_report_list(u_char *p, u_char *last,
    ngx_stream_gateway_shctx_t *shctx, ngx_uint_t kind, char *name)
{
    ngx_uint_t                    n;
    ngx_queue_t                  *q;
    ngx_stream_gateway_series_t  *series;

    p = ngx_slprintf(p, last, ",\"%s\":[", name);
    n = 0;

    for (q = ngx_queue_head(&shctx->series);
         q != ngx_queue_sentinel(&shctx->series);
         q = ngx_queue_next(q))
    {
        series = ngx_queue_data(q, ngx_stream_gateway_series_t, queue);

        if (series->sn.str.data[0] != kind) {
            continue;
        }

        if (n++) {
            p = ngx_slprintf(p, last, ",");
        }

        p = ngx_stream_gateway_report_series(p, last, series);
    }

    return ngx_slprintf(p, last, "]");
}


static u_char *
ngx_stream_gateway_report_series(u_char *p, u_char *last,
    ngx_stream_gateway_series_t *series)
{
    ngx_uint_t                      n;
    ngx_queue_t                    *q;
    ngx_stream_gateway_series_t    *peer;
    ngx_stream_gateway_counters_t  *c;

    p = ngx_slprintf(p, last, "{");
    p = ngx_stream_gateway_report_fields(p, last, series);

    c = &series->counters;

    switch (series->sn.str.data[0]) {

    case NGX_STREAM_GATEWAY_UPSTREAM:
        p = ngx_slprintf(p, last, ",\"peers\":[");
        n = 0;

        for (q = ngx_queue_head(&series->peers);
             q != ngx_queue_sentinel(&series->peers);
             q = ngx_queue_next(q))
        {
            peer = ngx_queue_data(q, ngx_stream_gateway_series_t, queue);

            if (n++) {
                p = ngx_slprintf(p, last, ",");
            }

            p = ngx_stream_gateway_report_series(p, last, peer);
        }

        return ngx_slprintf(p, last, "]}");

    case NGX_STREAM_GATEWAY_PEER:
        p = ngx_slprintf(p, last, NGX_STREAM_GATEWAY_PEER_FMT,
                         c->sessions, c->bytes_in, c->bytes_out,
                         c->connect_time, c->session_time);
        break;

    default: /* NGX_STREAM_GATEWAY_SERVER */
        p = ngx_slprintf(p, last, NGX_STREAM_GATEWAY_SERVER_FMT,
                         c->sessions, c->active, c->bytes_in, c->bytes_out,
                         c->session_time);
        break;
    }

    return ngx_slprintf(p, last, NGX_STREAM_GATEWAY_STATUS_FMT,
                        c->status[0], c->status[1], c->status[2],
                        c->status[3], c->status[4], c->status[5]);
}


/*
 * The key's fields as they are in it (see ngx_stream_gateway_zone.h), an
 * empty value (an optional parameter left out) as null. The backend of a
 * peer, its first field, is its upstream's, which the report shows once.
 */

static u_char *
ngx_stream_gateway_report_fields(u_char *p, u_char *last,
    ngx_stream_gateway_series_t *series)
{
    u_char      *v, *end, *name;
    size_t       len, name_len;
    ngx_uint_t   f, n;

    v = series->sn.str.data + 1;
    end = series->sn.str.data + series->sn.str.len;
    n = 0;

    for (f = 0; v < end; f++) {
        name = v;
        name_len = ngx_strlen(name);
        v += name_len + 1;

        if (v >= end) {
            break;
        }

        len = ngx_strlen(v);

        if (series->sn.str.data[0] == NGX_STREAM_GATEWAY_PEER && f == 0) {
            v += len + 1;
            continue;
        }

        if ((size_t) (last - p) < name_len
                                  + ngx_escape_json(NULL, name, name_len)
                                  + sizeof(",\"\":"))
        {
            return last;
        }

        if (n++) {
            *p++ = ',';
        }

        *p++ = '"';
        p = (u_char *) ngx_escape_json(p, name, name_len);
        *p++ = '"';
        *p++ = ':';

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
