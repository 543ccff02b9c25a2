/*
 * ngx-gateway: the status writer (see writer.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_log.h"
#include "kube/status_patch.h"
#include "kube/writer_int.h"

#define GW_WRITE_TIMEOUT_MS  10000


static const gw_kube_writer_conf_t  gw_kube_writer_defaults = {
    4, 50, 10, 5, 500, 30000
};


static void
gw_kube_writer_destroy(gw_kube_writer_t *w)
{
    size_t  i;

    for (i = 0; i < w->nbuckets; i++) {
        while (w->buckets[i] != NULL) {
            gw_kube_write_drop(w->buckets[i]);
        }
    }

    cJSON_Delete(w->last);
    free(w->buckets);
    free(w->controller);
    free(w);
}


gw_kube_writer_t *
gw_kube_writer_new(gw_kube_t *k, const char *controller_name,
    gw_kube_lookup_pt get, void *data)
{
    gw_kube_writer_t  *w;

    w = gw_xcalloc(1, sizeof(gw_kube_writer_t));
    w->k = k;
    w->controller = gw_xstrdup(controller_name);
    w->get = get;
    w->data = data;
    w->conf = gw_kube_writer_defaults;
    w->nbuckets = 256;
    w->buckets = gw_xcalloc(w->nbuckets, sizeof(gw_kube_write_t *));
    w->tokens = w->conf.burst;
    w->refill_ms = gw_kube_now_ms();

    return w;
}


void
gw_kube_writer_configure(gw_kube_writer_t *w,
    const gw_kube_writer_conf_t *conf)
{
    const gw_kube_writer_conf_t  *d;

    d = &gw_kube_writer_defaults;

    w->conf.max_in_flight = conf->max_in_flight ? conf->max_in_flight
                                                : d->max_in_flight;
    w->conf.rate = conf->rate ? conf->rate : d->rate;
    w->conf.burst = conf->burst ? conf->burst : d->burst;
    w->conf.max_conflicts = conf->max_conflicts ? conf->max_conflicts
                                                : d->max_conflicts;
    w->conf.backoff_ms = conf->backoff_ms > 0 ? conf->backoff_ms
                                              : d->backoff_ms;
    w->conf.max_backoff_ms = conf->max_backoff_ms > 0 ? conf->max_backoff_ms
                                                      : d->max_backoff_ms;

    if (w->tokens > w->conf.burst) {
        w->tokens = w->conf.burst;
    }
}


void
gw_kube_writer_free(gw_kube_writer_t *w)
{
    size_t            i;
    gw_kube_write_t  *e, *next;

    if (w == NULL) {
        return;
    }

    if (w->in_flight == 0) {
        gw_kube_writer_destroy(w);
        return;
    }

    /* the answers still to come free their entries, the last one w */
    w->closing = 1;

    for (i = 0; i < w->nbuckets; i++) {
        for (e = w->buckets[i]; e != NULL; e = next) {
            next = e->hnext;

            if (e->req == GW_WRITE_IDLE) {
                gw_kube_write_drop(e);
            }
        }
    }
}


static const char *
gw_kube_item_str(const cJSON *item, const char *obj, const char *key)
{
    if (obj != NULL) {
        item = cJSON_GetObjectItemCaseSensitive(item, obj);
    }

    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(item, key));
}


void
gw_kube_writer_submit(gw_kube_writer_t *w, const cJSON *list)
{
    char              key[1024];
    cJSON            *patch;
    long long         now;
    const char       *kind, *ns, *name;
    const cJSON      *item, *live;
    gw_kube_write_t  *e;

    if (list != w->last) {
        cJSON_Delete(w->last);
        w->last = cJSON_Duplicate(list, 1);
    }

    if (w->paused || w->closing) {
        return;
    }

    now = gw_kube_now_ms();

    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(list, "items"))
    {
        kind = gw_kube_item_str(item, NULL, "kind");
        ns = gw_kube_item_str(item, "metadata", "namespace");
        name = gw_kube_item_str(item, "metadata", "name");

        if (kind == NULL || name == NULL) {
            continue;
        }

        if (ns == NULL) {
            ns = "";
        }

        snprintf(key, sizeof(key), "%s/%s/%s", kind, ns, name);
        e = gw_kube_write_find(w, key);

        live = w->get(w->data, kind, ns, name);
        patch = (live != NULL) ? gw_kube_status_patch(live, item,
                                                      w->controller)
                               : NULL;

        if (patch == NULL && (e == NULL || e->req == GW_WRITE_IDLE)) {
            /* nothing to write, or no longer anything */
            if (e != NULL) {
                gw_kube_write_drop(e);
            }

            continue;
        }

        cJSON_Delete(patch);

        if (e == NULL) {
            e = gw_kube_write_add(w, key, kind, ns, name);
        }

        cJSON_Delete(e->desired);
        e->desired = cJSON_Duplicate(item, 1);

        if (e->req != GW_WRITE_IDLE) {
            e->redo = 1;    /* what is in flight is superseded */
            continue;
        }

        if (!e->queued) {
            gw_kube_write_enqueue(e, now, 0);
        }
    }
}


void
gw_kube_writer_pause(gw_kube_writer_t *w, int on)
{
    if (on) {
        w->paused = 1;

        while (w->head != NULL) {
            gw_kube_write_drop(w->head);
        }

        return;
    }

    if (!w->paused) {
        return;
    }

    w->paused = 0;

    if (w->last != NULL) {
        gw_kube_writer_submit(w, w->last);
    }
}


void
gw_kube_writer_stats(const gw_kube_writer_t *w, gw_kube_writer_stats_t *st)
{
    *st = w->stats;
    st->queued = w->queued;
    st->in_flight = w->in_flight;
}


/* Retries e later, exponentially later the more it failed in a row. */
static void
gw_kube_write_backoff(gw_kube_write_t *e, long long now)
{
    int        i;
    long long  delay;

    delay = e->w->conf.backoff_ms;

    for (i = 1; i < (int) e->failures && delay < e->w->conf.max_backoff_ms;
         i++)
    {
        delay *= 2;
    }

    if (delay > e->w->conf.max_backoff_ms) {
        delay = e->w->conf.max_backoff_ms;
    }

    gw_kube_write_enqueue(e, now + delay, 0);
}


/* The "message" of a Status answer, for the log. */
static void
gw_kube_write_message(const gw_kube_response_t *r, char *buf, size_t size)
{
    cJSON       *st;
    const char  *msg;

    buf[0] = '\0';

    if (r->error != NULL) {
        snprintf(buf, size, "%s", r->error);
        return;
    }

    st = (r->body != NULL) ? cJSON_Parse(r->body) : NULL;
    msg = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(st,
                                                                 "message"));
    snprintf(buf, size, "%s", msg ? msg : "");
    cJSON_Delete(st);
}


static void gw_kube_write_done(void *data, const gw_kube_response_t *r);


static int
gw_kube_write_request(gw_kube_write_t *e, gw_write_req_e req,
    const char *method, const char *path, const char *body)
{
    gw_err_t  err;

    if (gw_kube_request(e->w->k, method, path,
                        body ? "application/merge-patch+json" : NULL,
                        body, body ? strlen(body) : 0, GW_WRITE_TIMEOUT_MS,
                        gw_kube_write_done, e, &err)
        != GW_OK)
    {
        gw_log(GW_LOG_WARN, "status request failed", "kind", e->kind,
               "ns", e->ns, "name", e->name, "error", err.msg, NULL);
        return GW_ERR;
    }

    e->req = req;
    e->w->in_flight++;

    return GW_OK;
}


/*
 * Sends e's patch against the freshest object we know.  Returns 1 when a
 * request was started; 0 when e was dropped (nothing to write, object
 * gone) or put back for later.
 */
static int
gw_kube_write_send(gw_kube_write_t *e, long long now)
{
    int                rc;
    char               path[1024], *body;
    cJSON             *patch;
    gw_err_t           err;
    const cJSON       *live;
    gw_kube_writer_t  *w;

    w = e->w;
    live = e->fresh ? e->fresh : w->get(w->data, e->kind, e->ns, e->name);

    if (live == NULL) {
        gw_kube_write_drop(e);
        return 0;
    }

    patch = gw_kube_status_patch(live, e->desired, w->controller);
    if (patch == NULL) {
        gw_kube_write_drop(e);
        return 0;
    }

    if (gw_kube_status_path(path, sizeof(path) - sizeof("/status"),
                            cJSON_GetStringValue(
                                cJSON_GetObjectItemCaseSensitive(
                                    live, "apiVersion")),
                            e->kind, e->ns, e->name, &err)
        != GW_OK)
    {
        gw_log(GW_LOG_ERROR, "cannot write status", "kind", e->kind,
               "ns", e->ns, "name", e->name, "error", err.msg, NULL);
        cJSON_Delete(patch);
        gw_kube_write_drop(e);
        return 0;
    }

    strcat(path, "/status");
    body = cJSON_PrintUnformatted(patch);
    cJSON_Delete(patch);

    cJSON_Delete(e->fresh);
    e->fresh = NULL;
    e->redo = 0;

    rc = gw_kube_write_request(e, GW_WRITE_PATCH, "PATCH", path, body);
    cJSON_free(body);

    if (rc != GW_OK) {
        w->stats.failures++;
        e->failures++;
        gw_kube_write_backoff(e, now);
        return 0;
    }

    return 1;
}


/* After a 409: reads the object afresh. */
static void
gw_kube_write_refetch(gw_kube_write_t *e, const char *api_version,
    long long now)
{
    char      path[1024];
    gw_err_t  err;

    if (gw_kube_status_path(path, sizeof(path), api_version, e->kind, e->ns,
                            e->name, &err)
        != GW_OK
        || gw_kube_write_request(e, GW_WRITE_GET, "GET", path, NULL) != GW_OK)
    {
        e->w->stats.failures++;
        e->failures++;
        gw_kube_write_backoff(e, now);
    }
}


static void
gw_kube_write_patched(gw_kube_write_t *e, const gw_kube_response_t *r,
    long long now)
{
    char               msg[256];
    const cJSON       *live;
    gw_kube_writer_t  *w;

    w = e->w;

    if (r->status >= 200 && r->status < 300) {
        w->stats.ok++;
        gw_log(GW_LOG_DEBUG, "status written", "kind", e->kind, "ns", e->ns,
               "name", e->name, NULL);

        if (!e->redo) {
            gw_kube_write_drop(e);
            return;
        }

        /* superseded meanwhile: compare with what we just wrote */
        e->fresh = cJSON_Parse(r->body);
        e->conflicts = 0;
        e->failures = 0;
        gw_kube_write_enqueue(e, now, 1);
        return;
    }

    if (r->status == 409) {
        w->stats.conflicts++;
        e->conflicts++;

        if (e->conflicts <= w->conf.max_conflicts) {
            live = w->get(w->data, e->kind, e->ns, e->name);
            gw_kube_write_refetch(e,
                cJSON_GetStringValue(
                    cJSON_GetObjectItemCaseSensitive(live, "apiVersion")),
                now);
            return;
        }

        e->conflicts = 0;
    }

    if (r->status == 404) {
        w->stats.gone++;
        gw_log(GW_LOG_DEBUG, "status not written: object gone",
               "kind", e->kind, "ns", e->ns, "name", e->name, NULL);
        gw_kube_write_drop(e);
        return;
    }

    w->stats.failures++;
    gw_kube_write_message(r, msg, sizeof(msg));

    if (r->status == 0 || r->status == 409 || r->status == 429
        || r->status >= 500)
    {
        e->failures++;
        gw_log(GW_LOG_WARN, "status write failed, will retry",
               "kind", e->kind, "ns", e->ns, "name", e->name,
               "status", gw_log_int(r->status), "error", msg, NULL);
        gw_kube_write_backoff(e, now);
        return;
    }

    gw_log(GW_LOG_ERROR, "status write refused", "kind", e->kind,
           "ns", e->ns, "name", e->name, "status", gw_log_int(r->status),
           "error", msg, NULL);
    gw_kube_write_drop(e);
}


static void
gw_kube_write_fetched(gw_kube_write_t *e, const gw_kube_response_t *r,
    long long now)
{
    if (r->status == 200) {
        cJSON_Delete(e->fresh);
        e->fresh = cJSON_Parse(r->body);

        if (e->fresh != NULL) {
            gw_kube_write_enqueue(e, now, 1);
            return;
        }
    }

    if (r->status == 404) {
        e->w->stats.gone++;
        gw_kube_write_drop(e);
        return;
    }

    e->w->stats.failures++;
    e->failures++;
    gw_kube_write_backoff(e, now);
}


static void
gw_kube_write_done(void *data, const gw_kube_response_t *r)
{
    long long          now;
    gw_write_req_e     req;
    gw_kube_write_t   *e;
    gw_kube_writer_t  *w;

    e = data;
    w = e->w;
    req = e->req;
    e->req = GW_WRITE_IDLE;
    w->in_flight--;

    if (w->closing || w->paused) {
        gw_kube_write_drop(e);

        if (w->closing && w->in_flight == 0) {
            gw_kube_writer_destroy(w);
        }

        return;
    }

    now = gw_kube_now_ms();

    if (req == GW_WRITE_PATCH) {
        gw_kube_write_patched(e, r, now);

    } else {
        gw_kube_write_fetched(e, r, now);
    }
}


void
gw_kube_writer_tick(gw_kube_writer_t *w)
{
    long long         now;
    gw_kube_write_t  *e, *next;

    if (w->paused || w->closing) {
        return;
    }

    now = gw_kube_now_ms();

    w->tokens += (double) (now - w->refill_ms) * w->conf.rate / 1000.0;
    if (w->tokens > w->conf.burst) {
        w->tokens = w->conf.burst;
    }

    w->refill_ms = now;

    for (e = w->head; e != NULL; e = next) {
        next = e->next;

        if (w->in_flight >= w->conf.max_in_flight || w->tokens < 1.0) {
            break;
        }

        if (e->ready_ms > now) {
            continue;
        }

        gw_kube_write_dequeue(e);

        if (gw_kube_write_send(e, now)) {
            w->tokens -= 1.0;
        }

        /* send may have queued e again (backoff): carry on from next */
    }
}


long
gw_kube_writer_timeout_ms(const gw_kube_writer_t *w)
{
    long long         now, t, token;
    gw_kube_write_t  *e;

    if (w->paused || w->closing || w->head == NULL
        || w->in_flight >= w->conf.max_in_flight)
    {
        return -1;
    }

    now = gw_kube_now_ms();
    t = w->head->ready_ms;

    for (e = w->head; e != NULL && t > now; e = e->next) {
        if (e->ready_ms < t) {
            t = e->ready_ms;
        }
    }

    /* when the rate allows the next write */
    if (w->tokens < 1.0) {
        token = w->refill_ms
                + (long long) ((1.0 - w->tokens) * 1000.0 / w->conf.rate) + 1;

        if (token > t) {
            t = token;
        }
    }

    return t > now ? (long) (t - now) : 0;
}
