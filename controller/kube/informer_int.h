/*
 * ngx-gateway: the parts of the informers that need no API server (see
 * informer_cache.c): the object cache with relist reconciliation, watch
 * event parsing, retry backoff.  Shared with the unit tests.
 */

#ifndef GW_KUBE_INFORMER_INT_H
#define GW_KUBE_INFORMER_INT_H

#include <cjson/cJSON.h>

#include "kube/informer.h"


/*
 * Objects of one kind keyed by "namespace/name" ("/name" when cluster
 * scoped).  Each entry carries the mark of the list or watch that last
 * saw it, so that a relist can find what disappeared.
 */
typedef struct gw_kentry_s  gw_kentry_t;

struct gw_kentry_s {
    gw_kentry_t    *next;
    char           *key;
    cJSON          *obj;
    unsigned long   mark;
};

typedef struct {
    gw_kentry_t   **buckets;
    size_t          nbuckets;     /* power of two */
    size_t          n;
} gw_kcache_t;

/* What gw_kcache_apply() did. */
#define GW_KCACHE_SAME  -1

void gw_kcache_init(gw_kcache_t *c);
void gw_kcache_release(gw_kcache_t *c);

const cJSON *gw_kcache_get(const gw_kcache_t *c, const char *ns,
    const char *name);

/*
 * Stores obj (the cache takes it) and marks its entry: returns
 * GW_WATCH_ADDED for a new object, GW_WATCH_MODIFIED for a changed one,
 * GW_KCACHE_SAME (obj freed) when it is the cached one: the same
 * resourceVersion and apiVersion (the same JSON when either has no
 * resourceVersion).
 * GW_ERR (obj freed) when it has no metadata.name.
 */
int gw_kcache_apply(gw_kcache_t *c, cJSON *obj, unsigned long mark);

/* Takes the object named like obj out; the caller frees it (NULL: none). */
cJSON *gw_kcache_remove(gw_kcache_t *c, const cJSON *obj);

/*
 * Removes every object whose mark is not mark (not seen by the list that
 * just ended), calling gone for each before freeing it.  Returns how many.
 */
typedef void (*gw_kcache_pt)(void *data, const cJSON *obj);

size_t gw_kcache_sweep(gw_kcache_t *c, unsigned long mark, gw_kcache_pt gone,
    void *data);

void gw_kcache_foreach(const gw_kcache_t *c, gw_kcache_pt fn, void *data);


/* One line of a watch stream. */
typedef enum {
    GW_WEV_ADDED = 0,
    GW_WEV_MODIFIED,
    GW_WEV_DELETED,
    GW_WEV_BOOKMARK,
    GW_WEV_ERROR
} gw_wev_type_e;

typedef struct {
    gw_wev_type_e   type;
    cJSON          *object;      /* owned by the event */
    long            code;        /* ERROR: the Status code (410: expired) */
    const char     *rv;          /* object's resourceVersion, or NULL */
} gw_wev_t;

/* GW_ERR (err set) when the line is not a watch event. */
int gw_wev_parse(gw_wev_t *ev, const char *line, size_t len, gw_err_t *err);
void gw_wev_release(gw_wev_t *ev);


/*
 * Retry delays: exponential from 200 ms to 30 s with jitter (each delay
 * is between half and all of the current step), at least Retry-After.
 */
#define GW_BACKOFF_MIN_MS     200
#define GW_BACKOFF_MAX_MS     30000
#define GW_BACKOFF_AFTER_MAX  600      /* seconds of Retry-After honoured */

typedef struct {
    long    step;     /* 0: not backing off */
} gw_backoff_t;

/* The next delay; rnd is any random number. */
long gw_backoff_next(gw_backoff_t *b, long retry_after_s, unsigned rnd);
void gw_backoff_reset(gw_backoff_t *b);

/* Retry-After from a Status body (details.retryAfterSeconds), or 0. */
long gw_status_retry_after(const char *body, size_t len);

#endif /* GW_KUBE_INFORMER_INT_H */
