/*
 * ngx-gateway: the status writer: sends the status this controller
 * computed (gw_status_build()'s List) to the API server's status
 * subresources, only where it differs from what the server holds, at a
 * bounded rate.
 *
 * Each object with a difference is queued once (a newer submit replaces
 * what is queued for the same object).  Sending recomputes the merge
 * patch (status_patch.h) against the live object of the informer cache,
 * so what is sent is never older than the cache; the patch carries the
 * object's resourceVersion:
 *
 *   2xx         done (logged at debug)
 *   409         the object changed: GET it, recompute, send again (a few
 *               times in a row, then back off)
 *   404         the object is gone: dropped
 *   429, 5xx,   retried with exponential backoff
 *   no answer
 *   other 4xx   dropped, logged as an error (it would fail again)
 *
 * Only the leader writes: gw_kube_writer_pause(w, 1) drops the queue and
 * sends nothing (answers to requests already sent are ignored) until
 * gw_kube_writer_pause(w, 0), which resubmits the last List submitted.
 */

#ifndef GW_KUBE_WRITER_H
#define GW_KUBE_WRITER_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"
#include "kube/kube.h"


/*
 * The live object (as the API server returned it, with metadata and
 * status) from the informer cache, or NULL when there is none.  ns is ""
 * for cluster-scoped objects.
 */
typedef const cJSON *(*gw_kube_lookup_pt)(void *data, const char *kind,
    const char *ns, const char *name);

typedef struct {
    unsigned   max_in_flight;     /* 4 */
    unsigned   rate;              /* writes started per second: 50 */
    unsigned   burst;             /* writes started at once: 10 */
    unsigned   max_conflicts;     /* 409s in a row before backing off: 5 */
    long       backoff_ms;        /* first retry after a failure: 500 */
    long       max_backoff_ms;    /* 30000 */
} gw_kube_writer_conf_t;

typedef struct {
    unsigned long  ok;            /* status writes that succeeded */
    unsigned long  conflicts;     /* 409 answers */
    unsigned long  failures;      /* failed writes (retried or dropped) */
    unsigned long  gone;          /* objects deleted before the write */
    size_t         queued;
    size_t         in_flight;
} gw_kube_writer_stats_t;

typedef struct gw_kube_writer_s  gw_kube_writer_t;

gw_kube_writer_t *gw_kube_writer_new(gw_kube_t *k,
    const char *controller_name, gw_kube_lookup_pt get, void *data);

/* Changes the limits; zero fields keep their defaults. */
void gw_kube_writer_configure(gw_kube_writer_t *w,
    const gw_kube_writer_conf_t *conf);

/* Queues the items of list whose status differs from the live object's. */
void gw_kube_writer_submit(gw_kube_writer_t *w, const cJSON *list);

/*
 * Starts the writes that are due.  Call it from the loop at least every
 * gw_kube_writer_timeout_ms() (-1: nothing to do until an answer comes
 * or something is submitted).
 */
void gw_kube_writer_tick(gw_kube_writer_t *w);
long gw_kube_writer_timeout_ms(const gw_kube_writer_t *w);

void gw_kube_writer_pause(gw_kube_writer_t *w, int on);

void gw_kube_writer_stats(const gw_kube_writer_t *w,
    gw_kube_writer_stats_t *st);

/* Frees w; with requests in flight, when the last of them ends. */
void gw_kube_writer_free(gw_kube_writer_t *w);

#endif /* GW_KUBE_WRITER_H */
