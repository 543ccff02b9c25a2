/*
 * ngx-gateway: the informers' insides.  First the parts that need no API
 * server (informer_cache.c), shared with the unit tests: the object cache
 * with relist reconciliation, watch event parsing, retry backoff.  Then
 * the state shared by informer.c (LIST + WATCH per kind),
 * informer_disc.c (which Gateway API kinds are served) and
 * informer_set.c (the set of informers, its timers and lookups).
 */

#ifndef GW_KUBE_INFORMER_INT_H
#define GW_KUBE_INFORMER_INT_H

#include <cjson/cJSON.h>

#include "core/gw_buf.h"
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


/* The informers' state, shared by informer.c and informer_disc.c. */

#define GW_GATEWAY_GROUP  "gateway.networking.k8s.io"
#define GW_NKINDS         16     /* entries of gw_kind_defs[] */
#define GW_NVERSIONS      4      /* Gateway API versions discovery asks */

typedef struct {
    const char   *kind;
    const char   *group;           /* "" for the core group */
    const char   *resource;
    const char   *versions[4];     /* most preferred first */
    const char   *selector;        /* extra query, or NULL */
    unsigned      discovered:1;    /* served only if discovery says so */
    unsigned      optional:1;      /* refused or absent: not waited for */
    unsigned      gateway_crds:1;  /* keep only Gateway API CRDs */
} gw_kind_def_t;


typedef enum {
    GW_INF_OFF = 0,
    GW_INF_LIST,
    GW_INF_WATCH,
    GW_INF_WAIT
} gw_inf_state_e;


typedef struct {
    gw_informers_t        *owner;
    const gw_kind_def_t   *def;
    gw_inf_state_e         state;
    char                   version[16];     /* "" when not served */
    char                   api_version[64];
    gw_kcache_t            cache;
    unsigned long          mark;            /* of the list in progress */
    char                  *rv;              /* where the watch resumes */
    char                  *cont;            /* next LIST page */
    unsigned long          req;             /* request id, 0: none */
    gw_buf_t               body;            /* LIST page being read */
    gw_backoff_t           backoff;
    long long              retry_at;        /* WAIT: when */
    int                    retry_list;      /* WAIT ends in a LIST */
    long long              watch_start;
    unsigned long          watch_events;
    int                    listed;          /* listed once since started */
    int                    failed;          /* optional kind refused */
    int                    absent_logged;
} gw_informer_t;


typedef struct {
    gw_informers_t        *owner;
    unsigned               index;           /* in gw_gateway_versions */
    unsigned long          req;
    gw_buf_t               body;
    long                   status;          /* 0 while out */
    cJSON                 *resources;       /* the APIResourceList */
} gw_discovery_t;


struct gw_informers_s {
    gw_kube_t             *k;
    gw_informer_event_pt   cb;
    void                  *data;
    gw_informer_t          kinds[GW_NKINDS];
    gw_discovery_t         disc[GW_NVERSIONS];
    unsigned               disc_pending;
    int                    discovered;      /* discovery ran once */
    long long              disc_at;         /* next discovery, 0: none */
    gw_backoff_t           disc_backoff;
    gw_informers_stats_t   stats;
    unsigned               seed;
};


/* informer.c */
extern const gw_kind_def_t  gw_kind_defs[];   /* GW_NKINDS entries */

void gw_inf_start(gw_informer_t *in, const char *version);
void gw_inf_list(gw_informer_t *in);
void gw_inf_watch(gw_informer_t *in);
void gw_inf_stop(gw_informer_t *in, int forget);
unsigned gw_inf_rand(gw_informers_t *inf);

/* informer_disc.c */
void gw_disc_start(gw_informers_t *inf);
void gw_disc_soon(gw_informers_t *inf, long delay_ms);

#endif /* GW_KUBE_INFORMER_INT_H */
