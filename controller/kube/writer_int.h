/*
 * ngx-gateway: the status writer's internals, shared by writer.c (the
 * requests) and writer_table.c (the entries: a hash table by object, and
 * the queue of those to send).
 */

#ifndef GW_KUBE_WRITER_INT_H
#define GW_KUBE_WRITER_INT_H

#include "kube/writer.h"


typedef enum {
    GW_WRITE_IDLE = 0,
    GW_WRITE_PATCH,
    GW_WRITE_GET
} gw_write_req_e;

typedef struct gw_kube_write_s  gw_kube_write_t;

/* One object whose status is to be written. */
struct gw_kube_write_s {
    char               *key;         /* kind/ns/name */
    char               *kind;
    char               *ns;          /* "" when cluster-scoped */
    char               *name;
    cJSON              *desired;     /* our status item */
    cJSON              *fresh;       /* newer than the cache, or NULL */
    gw_write_req_e      req;
    int                 queued;
    int                 redo;        /* desired changed while in flight */
    unsigned            conflicts;   /* 409s in a row */
    unsigned            failures;    /* failures in a row */
    long long           ready_ms;
    gw_kube_writer_t   *w;
    gw_kube_write_t    *hnext;
    gw_kube_write_t    *prev;
    gw_kube_write_t    *next;
};

struct gw_kube_writer_s {
    gw_kube_t               *k;
    char                    *controller;
    gw_kube_lookup_pt        get;
    void                    *data;
    gw_kube_writer_conf_t    conf;
    gw_kube_write_t        **buckets;
    size_t                   nbuckets;   /* power of two */
    size_t                   n;          /* entries */
    gw_kube_write_t         *head;       /* the queue */
    gw_kube_write_t         *tail;
    size_t                   queued;
    size_t                   in_flight;
    double                   tokens;
    long long                refill_ms;
    cJSON                   *last;       /* the last List submitted */
    int                      paused;
    int                      closing;
    gw_kube_writer_stats_t   stats;
};


gw_kube_write_t *gw_kube_write_find(gw_kube_writer_t *w, const char *key);
gw_kube_write_t *gw_kube_write_add(gw_kube_writer_t *w, const char *key,
    const char *kind, const char *ns, const char *name);

/* Queues e (at the front, or the back), to be sent from ready_ms on;
 * an entry already queued keeps its place and takes the new time. */
void gw_kube_write_enqueue(gw_kube_write_t *e, long long ready_ms,
    int front);
void gw_kube_write_dequeue(gw_kube_write_t *e);

/* Removes e from the queue and the table and frees it. */
void gw_kube_write_drop(gw_kube_write_t *e);

#endif /* GW_KUBE_WRITER_INT_H */
