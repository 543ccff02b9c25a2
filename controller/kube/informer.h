/*
 * ngx-gateway: informers: one LIST + WATCH per kind the controller reads,
 * all over one gw_kube_t, each with a cache of the raw objects (the JSON
 * the API server returned, status and resourceVersion included).
 *
 * Kinds: Namespace, Service, Secret (type kubernetes.io/tls only),
 * ConfigMap, EndpointSlice, the Gateway API kinds, and the Gateway API
 * CustomResourceDefinitions (for their bundle-version annotation).  A
 * Gateway API kind whose CRD is not installed is not an error: it starts
 * when discovery finds it (retried every 30 s, and at once when a CRD
 * changes), and stops, reporting its objects DELETED, when it goes away.
 *
 * Watches resume from the last resourceVersion seen (bookmarks included);
 * when the API server answers 410 Gone the kind is listed again and the
 * objects missing from the new list are reported DELETED.  Errors are
 * retried with jittered exponential backoff (200 ms .. 30 s, Retry-After
 * honoured), driven by gw_informers_tick(): nothing here sleeps.
 */

#ifndef GW_KUBE_INFORMER_H
#define GW_KUBE_INFORMER_H

#include <cjson/cJSON.h>

#include "kube/kube.h"


typedef enum {
    GW_WATCH_ADDED = 0,
    GW_WATCH_MODIFIED,
    GW_WATCH_DELETED
} gw_watch_event_e;

/*
 * One change.  obj is valid during the call only; it carries apiVersion
 * and kind.  A MODIFIED that changes nothing (as after a relist) is not
 * reported.
 */
typedef void (*gw_informer_event_pt)(void *data, gw_watch_event_e ev,
    const char *api_version, const char *kind, const cJSON *obj);

typedef struct gw_informers_s  gw_informers_t;

typedef struct {
    unsigned long  reconnects;     /* watches restarted after an error */
    unsigned long  relists;        /* lists after the first, per kind */
    unsigned long  events;         /* changes reported */
} gw_informers_stats_t;


/* Starts listing; callbacks come from gw_kube_perform(). */
gw_informers_t *gw_informers_new(gw_kube_t *k, gw_informer_event_pt cb,
    void *data, gw_err_t *err);

/* Call every loop turn, after gw_kube_perform(): timers and retries. */
void gw_informers_tick(gw_informers_t *inf);

/*
 * Milliseconds until the next timer of the informers is due (0: now), -1
 * when none is set: the longest the loop may wait for it.
 */
long gw_informers_timeout_ms(const gw_informers_t *inf);

/* 1 once discovery ran and every served kind was listed once. */
int gw_informers_synced(const gw_informers_t *inf);

/* The cached object, NULL if unknown; ns "" for cluster-scoped kinds. */
const cJSON *gw_informers_get(const gw_informers_t *inf, const char *kind,
    const char *ns, const char *name);

/* Calls fn for every cached object of a kind (any order). */
void gw_informers_foreach(const gw_informers_t *inf, const char *kind,
    void (*fn)(void *data, const cJSON *obj), void *data);

/* Objects cached for a kind. */
size_t gw_informers_count(const gw_informers_t *inf, const char *kind);

/* The apiVersion a kind is watched with, NULL when not served. */
const char *gw_informers_api_version(const gw_informers_t *inf,
    const char *kind);

void gw_informers_stats(const gw_informers_t *inf,
    gw_informers_stats_t *st);

/* Stops every watch and request of the informers; no callback after. */
void gw_informers_free(gw_informers_t *inf);

#endif /* GW_KUBE_INFORMER_H */
