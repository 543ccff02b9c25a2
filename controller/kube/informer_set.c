/*
 * ngx-gateway: the informers as a set (see informer.h): one informer per
 * kind of gw_kind_defs[], the timers of all of them, and the lookups the
 * controller and the status writer use.  The per-kind state machine is in
 * informer.c, discovery in informer_disc.c.
 */

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "kube/informer_int.h"


gw_informers_t *
gw_informers_new(gw_kube_t *k, gw_informer_event_pt cb, void *data,
    gw_err_t *err)
{
    size_t           i;
    gw_informer_t   *in;
    gw_informers_t  *inf;

    if (k == NULL || cb == NULL) {
        gw_err_set(err, "informers need a client and a callback");
        return NULL;
    }

    inf = gw_xcalloc(1, sizeof(gw_informers_t));
    inf->k = k;
    inf->cb = cb;
    inf->data = data;
    inf->seed = (unsigned) time(NULL) ^ (unsigned) getpid() ^ 0x9e3779b9u;

    for (i = 0; i < GW_NVERSIONS; i++) {
        inf->disc[i].owner = inf;
        inf->disc[i].index = (unsigned) i;
        gw_buf_init(&inf->disc[i].body);
    }

    for (i = 0; i < GW_NKINDS; i++) {
        in = &inf->kinds[i];
        in->owner = inf;
        in->def = &gw_kind_defs[i];
        gw_kcache_init(&in->cache);
        gw_buf_init(&in->body);
    }

    for (i = 0; i < GW_NKINDS; i++) {
        in = &inf->kinds[i];
        if (!in->def->discovered) {
            gw_inf_start(in, in->def->versions[0]);
        }
    }

    gw_disc_start(inf);

    return inf;
}


void
gw_informers_tick(gw_informers_t *inf)
{
    size_t          i;
    long long       now;
    gw_informer_t  *in;

    now = gw_kube_now_ms();

    if (inf->disc_at != 0 && inf->disc_at <= now && inf->disc_pending == 0) {
        gw_disc_start(inf);
    }

    for (i = 0; i < GW_NKINDS; i++) {
        in = &inf->kinds[i];

        if (in->state != GW_INF_WAIT || in->retry_at > now) {
            continue;
        }

        if (in->retry_list || in->rv == NULL) {
            if (in->listed) {
                inf->stats.relists++;
            }
            gw_inf_list(in);
        } else {
            gw_inf_watch(in);
        }
    }
}


long
gw_informers_timeout_ms(const gw_informers_t *inf)
{
    size_t      i;
    long long   now, next;

    now = gw_kube_now_ms();
    next = -1;

    if (inf->disc_at != 0 && inf->disc_pending == 0) {
        next = inf->disc_at;
    }

    for (i = 0; i < GW_NKINDS; i++) {
        if (inf->kinds[i].state == GW_INF_WAIT
            && (next < 0 || inf->kinds[i].retry_at < next))
        {
            next = inf->kinds[i].retry_at;
        }
    }

    if (next < 0) {
        return -1;
    }

    return next <= now ? 0 : (long) (next - now);
}


int
gw_informers_synced(const gw_informers_t *inf)
{
    size_t                i;
    const gw_informer_t  *in;

    if (!inf->discovered) {
        return 0;
    }

    for (i = 0; i < GW_NKINDS; i++) {
        in = &inf->kinds[i];

        if (in->state == GW_INF_OFF || in->listed
            || (in->def->optional && in->failed))
        {
            continue;
        }

        return 0;
    }

    return 1;
}


static const gw_informer_t *
gw_inf_find(const gw_informers_t *inf, const char *kind)
{
    size_t  i;

    for (i = 0; i < GW_NKINDS; i++) {
        if (strcmp(inf->kinds[i].def->kind, kind) == 0) {
            return &inf->kinds[i];
        }
    }

    return NULL;
}


const cJSON *
gw_informers_get(const gw_informers_t *inf, const char *kind, const char *ns,
    const char *name)
{
    const gw_informer_t  *in;

    in = gw_inf_find(inf, kind);

    return in != NULL ? gw_kcache_get(&in->cache, ns, name) : NULL;
}


void
gw_informers_foreach(const gw_informers_t *inf, const char *kind,
    void (*fn)(void *data, const cJSON *obj), void *data)
{
    const gw_informer_t  *in;

    in = gw_inf_find(inf, kind);
    if (in != NULL) {
        gw_kcache_foreach(&in->cache, fn, data);
    }
}


size_t
gw_informers_count(const gw_informers_t *inf, const char *kind)
{
    const gw_informer_t  *in;

    in = gw_inf_find(inf, kind);

    return in != NULL ? in->cache.n : 0;
}


const char *
gw_informers_api_version(const gw_informers_t *inf, const char *kind)
{
    const gw_informer_t  *in;

    in = gw_inf_find(inf, kind);

    return in != NULL && in->version[0] != '\0' ? in->api_version : NULL;
}


void
gw_informers_stats(const gw_informers_t *inf, gw_informers_stats_t *st)
{
    *st = inf->stats;
}


void
gw_informers_free(gw_informers_t *inf)
{
    size_t          i;
    gw_informer_t  *in;

    if (inf == NULL) {
        return;
    }

    for (i = 0; i < GW_NVERSIONS; i++) {
        if (inf->disc[i].req != 0) {
            gw_kube_cancel(inf->k, inf->disc[i].req);
        }
        cJSON_Delete(inf->disc[i].resources);
        gw_buf_free(&inf->disc[i].body);
    }

    for (i = 0; i < GW_NKINDS; i++) {
        in = &inf->kinds[i];
        if (in->req != 0) {
            gw_kube_cancel(inf->k, in->req);
        }
        gw_kcache_release(&in->cache);
        gw_buf_free(&in->body);
        free(in->rv);
        free(in->cont);
    }

    free(inf);
}
