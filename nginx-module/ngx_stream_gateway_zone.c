
/*
 * The shared memory zone of ngx_stream_gateway_module.
 *
 * It works as the http module's zone does (ngx_http_gateway_zone.c): a
 * fixed name, size and tag, so a reload reuses it and its counters; one
 * series per tag of the configuration (server, upstream) and per address
 * of a tagged upstream (peer), in a red-black tree keyed by the tag's
 * key; on each cycle's init_module, ngx_stream_gateway_zone_update()
 * marks the series of the new configuration, creating those that are
 * new, frees those nothing names any more and advances the zone's epoch.
 *
 * Workers of the newest cycle count into the series their tags point to.
 * Those of an older cycle look their series up by key, under the lock, and
 * only count into a series that existed when their cycle was made (born
 * no later than their epoch): a series freed and created again since then
 * starts from zero for the newer configuration only, and an old worker
 * never takes from its "active" a session it did not add.
 */


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_stream.h>

#include "ngx_stream_gateway_module.h"


static ngx_stream_gateway_series_t *ngx_stream_gateway_series_lookup(
    ngx_stream_gateway_shctx_t *shctx, ngx_stream_gateway_tag_t *tag);
static ngx_stream_gateway_series_t *ngx_stream_gateway_series_mark(
    ngx_slab_pool_t *shpool, ngx_stream_gateway_shctx_t *shctx,
    ngx_stream_gateway_tag_t *tag, ngx_uint_t epoch);
static void ngx_stream_gateway_series_sweep(ngx_slab_pool_t *shpool,
    ngx_stream_gateway_shctx_t *shctx, ngx_queue_t *list, ngx_uint_t epoch);
static void ngx_stream_gateway_series_free(ngx_slab_pool_t *shpool,
    ngx_stream_gateway_shctx_t *shctx, ngx_stream_gateway_series_t *series);


ngx_int_t
ngx_stream_gateway_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_stream_gateway_shctx_t *octx = data;

    size_t                       len;
    ngx_slab_pool_t             *shpool;
    ngx_stream_gateway_shctx_t  *shctx;

    if (octx) {
        /* a reload: the zone and everything in it stay */
        shm_zone->data = octx;
        return NGX_OK;
    }

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    if (shm_zone->shm.exists) {
        shm_zone->data = shpool->data;
        return NGX_OK;
    }

    shctx = ngx_slab_alloc(shpool, sizeof(ngx_stream_gateway_shctx_t));
    if (shctx == NULL) {
        return NGX_ERROR;
    }

    ngx_memzero(shctx, sizeof(ngx_stream_gateway_shctx_t));

    shctx->magic = NGX_STREAM_GATEWAY_ZONE_MAGIC;
    ngx_rbtree_init(&shctx->rbtree, &shctx->sentinel,
                    ngx_str_rbtree_insert_value);
    ngx_queue_init(&shctx->series);

    shpool->data = shctx;
    shm_zone->data = shctx;

    len = sizeof(" in gateway stream status zone \"\"")
          + shm_zone->shm.name.len;

    shpool->log_ctx = ngx_slab_alloc(shpool, len);
    if (shpool->log_ctx == NULL) {
        return NGX_ERROR;
    }

    ngx_sprintf(shpool->log_ctx, " in gateway stream status zone \"%V\"%Z",
                &shm_zone->shm.name);

    /* a full zone is reported once per reload, by zone_update() */
    shpool->log_nomem = 0;

    return NGX_OK;
}


void
ngx_stream_gateway_zone_update(ngx_cycle_t *cycle,
    ngx_stream_gateway_main_conf_t *gmcf)
{
    ngx_uint_t                    i, epoch, failed;
    ngx_slab_pool_t              *shpool;
    ngx_stream_gateway_tag_t    **tags;
    ngx_stream_gateway_shctx_t   *shctx;

    shpool = (ngx_slab_pool_t *) gmcf->shm_zone->shm.addr;
    shctx = gmcf->shm_zone->data;

    ngx_shmtx_lock(&shpool->mutex);

    epoch = shctx->epoch + 1;
    failed = 0;

    /* upstreams come before their peers in gmcf->tags */

    tags = gmcf->tags.elts;

    for (i = 0; i < gmcf->tags.nelts; i++) {
        tags[i]->series = ngx_stream_gateway_series_mark(shpool, shctx,
                                                         tags[i], epoch);
        if (tags[i]->series == NULL) {
            failed++;
        }
    }

    ngx_stream_gateway_series_sweep(shpool, shctx, &shctx->series, epoch);

    shctx->epoch = epoch;
    shctx->unallocated = failed;
    gmcf->epoch = epoch;

    ngx_shmtx_unlock(&shpool->mutex);

    if (failed) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "gateway stream status zone \"%V\" is full: %ui of "
                      "%ui series are not counted, increase "
                      "\"gateway_stream_status_zone\"",
                      &gmcf->shm_zone->shm.name, failed, gmcf->tags.nelts);
    }
}


/* the series a worker of gmcf's cycle counts into; under the zone's lock */

ngx_stream_gateway_series_t *
ngx_stream_gateway_series_find(ngx_stream_gateway_main_conf_t *gmcf,
    ngx_stream_gateway_tag_t *tag)
{
    ngx_stream_gateway_shctx_t   *shctx;
    ngx_stream_gateway_series_t  *series;

    shctx = gmcf->shm_zone->data;

    if (gmcf->epoch == shctx->epoch) {
        return tag->series;
    }

    series = ngx_stream_gateway_series_lookup(shctx, tag);

    if (series == NULL || series->born > gmcf->epoch) {
        return NULL;
    }

    return series;
}


static ngx_stream_gateway_series_t *
ngx_stream_gateway_series_lookup(ngx_stream_gateway_shctx_t *shctx,
    ngx_stream_gateway_tag_t *tag)
{
    ngx_str_node_t  *sn;

    sn = ngx_str_rbtree_lookup(&shctx->rbtree, &tag->key, tag->hash);
    if (sn == NULL) {
        return NULL;
    }

    return (ngx_stream_gateway_series_t *) sn;
}


static ngx_stream_gateway_series_t *
ngx_stream_gateway_series_mark(ngx_slab_pool_t *shpool,
    ngx_stream_gateway_shctx_t *shctx, ngx_stream_gateway_tag_t *tag,
    ngx_uint_t epoch)
{
    ngx_queue_t                  *list;
    ngx_stream_gateway_series_t  *series, *parent;

    series = ngx_stream_gateway_series_lookup(shctx, tag);

    if (series) {
        series->epoch = epoch;
        return series;
    }

    if (tag->parent) {
        parent = tag->parent->series;

        if (parent == NULL) {
            return NULL;
        }

        list = &parent->peers;

    } else {
        list = &shctx->series;
    }

    series = ngx_slab_alloc_locked(shpool,
                            offsetof(ngx_stream_gateway_series_t, data)
                            + tag->key.len);
    if (series == NULL) {
        return NULL;
    }

    ngx_memzero(series, offsetof(ngx_stream_gateway_series_t, data));

    series->sn.node.key = tag->hash;
    series->sn.str.len = tag->key.len;
    series->sn.str.data = series->data;
    ngx_memcpy(series->data, tag->key.data, tag->key.len);

    ngx_queue_init(&series->peers);
    series->epoch = epoch;
    series->born = epoch;

    ngx_rbtree_insert(&shctx->rbtree, &series->sn.node);
    ngx_queue_insert_tail(list, &series->queue);
    shctx->nseries++;

    return series;
}


static void
ngx_stream_gateway_series_sweep(ngx_slab_pool_t *shpool,
    ngx_stream_gateway_shctx_t *shctx, ngx_queue_t *list, ngx_uint_t epoch)
{
    ngx_queue_t                  *q, *next;
    ngx_stream_gateway_series_t  *series;

    for (q = ngx_queue_head(list);
         q != ngx_queue_sentinel(list);
         q = next)
    {
        next = ngx_queue_next(q);
        series = ngx_queue_data(q, ngx_stream_gateway_series_t, queue);

        if (series->epoch == epoch) {
            /* a kept upstream may have lost some of its peers */
            ngx_stream_gateway_series_sweep(shpool, shctx, &series->peers,
                                            epoch);
            continue;
        }

        ngx_stream_gateway_series_free(shpool, shctx, series);
    }
}


static void
ngx_stream_gateway_series_free(ngx_slab_pool_t *shpool,
    ngx_stream_gateway_shctx_t *shctx, ngx_stream_gateway_series_t *series)
{
    ngx_queue_t                  *q;
    ngx_stream_gateway_series_t  *peer;

    /* nothing marks the peers of an upstream that is not marked */

    while (!ngx_queue_empty(&series->peers)) {
        q = ngx_queue_head(&series->peers);
        peer = ngx_queue_data(q, ngx_stream_gateway_series_t, queue);
        ngx_stream_gateway_series_free(shpool, shctx, peer);
    }

    ngx_queue_remove(&series->queue);
    ngx_rbtree_delete(&shctx->rbtree, &series->sn.node);
    ngx_slab_free_locked(shpool, series);
    shctx->nseries--;
}
