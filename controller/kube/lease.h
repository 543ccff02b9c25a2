/*
 * ngx-gateway: leader election with a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection does it.  Every replica programs its own
 * nginx; only the Lease holder writes status.
 *
 * Each attempt GETs the Lease: none (404) -> create it naming us; held by
 * another replica and not expired -> wait; free, expired, or ours ->
 * update it (PUT with its resourceVersion, so that of two replicas racing
 * for it one gets 409).  "Expired" is judged by the time WE observed the
 * last change of the Lease, never by comparing our clock with the
 * renewTime another machine wrote.  The leader renews every retry period;
 * when it has not renewed successfully for the renew deadline it stops
 * leading at once (before the lease duration lets anyone else take over).
 *
 * The state machine (lease_state.c) is pure: it is given the time and
 * what the API server answered, and says what to do next.  The driver
 * (lease.c) does the requests through gw_kube_request().
 */

#ifndef GW_KUBE_LEASE_H
#define GW_KUBE_LEASE_H

#include "core/gw_core.h"
#include "kube/kube.h"


/* The fields of a Lease's spec that the election reads and writes. */
typedef struct {
    int          found;          /* 0: the Lease does not exist (404) */
    const char  *holder;         /* holderIdentity; NULL or "": free */
    const char  *renew_time;     /* as the API server returned them */
    const char  *acquire_time;
    long         duration_s;     /* leaseDurationSeconds */
    long         transitions;    /* leaseTransitions */
} gw_kube_lease_record_t;

typedef enum {
    GW_KUBE_LEASE_WAIT = 0,      /* held by another: look again later */
    GW_KUBE_LEASE_CREATE,        /* no Lease: create one naming us */
    GW_KUBE_LEASE_UPDATE         /* take or renew it: update naming us */
} gw_kube_lease_action_e;

/* What an update or create writes besides us as holder and now. */
typedef struct {
    const char  *acquire_time;   /* keep this one; NULL: now */
    long         transitions;
} gw_kube_lease_plan_t;

typedef struct {
    char        *identity;
    long long    duration_ms;        /* ours, when we write the Lease */
    long long    renew_deadline_ms;
    long long    retry_period_ms;

    int          leader;
    long long    renewed_ms;         /* our last successful write */

    /* The Lease as last seen, and when we saw it change. */
    int          seen;
    char        *holder;
    char        *renew_time;
    char        *acquire_time;
    long         duration_s;
    long         transitions;
    long long    observed_ms;
} gw_kube_lease_state_t;

void gw_kube_lease_state_init(gw_kube_lease_state_t *s, const char *identity,
    long long duration_ms, long long renew_deadline_ms,
    long long retry_period_ms);
void gw_kube_lease_state_release(gw_kube_lease_state_t *s);

/*
 * Given the answer to a GET at now_ms, what to do; for CREATE and UPDATE
 * *plan says what to write.  Seeing another holder whose lease has not
 * expired ends our leadership at once.
 */
gw_kube_lease_action_e gw_kube_lease_state_observe(gw_kube_lease_state_t *s,
    const gw_kube_lease_record_t *rec, long long now_ms,
    gw_kube_lease_plan_t *plan);

/*
 * A create or update succeeded at now_ms; rec is the Lease as written
 * (holder us, or "" when we released it).
 */
void gw_kube_lease_state_written(gw_kube_lease_state_t *s,
    const gw_kube_lease_record_t *rec, long long now_ms);

/*
 * Whether we still lead at now_ms: a leader that has not renewed within
 * the renew deadline stops leading.  Returns s->leader.
 */
int gw_kube_lease_state_check(gw_kube_lease_state_t *s, long long now_ms);

/* The current wall-clock time as a Kubernetes MicroTime (RFC 3339, UTC,
 * microseconds): "2024-05-01T10:00:00.123456Z". */
void gw_kube_time_micro(char *buf, size_t size);


/* The driver (lease.c). */

typedef struct gw_kube_lease_s  gw_kube_lease_t;

typedef void (*gw_kube_lease_change_pt)(void *data, int is_leader);

typedef struct {
    const char               *name;          /* the Lease's name */
    const char               *namespace;
    const char               *identity;      /* NULL: hostname_pid */
    long                      duration_ms;   /* 0: 15 s */
    long                      renew_deadline_ms;   /* 0: 10 s */
    long                      retry_period_ms;     /* 0: 2 s */
    gw_kube_lease_change_pt   on_change;
    void                     *data;
} gw_kube_lease_conf_t;

gw_kube_lease_t *gw_kube_lease_new(gw_kube_t *k,
    const gw_kube_lease_conf_t *conf, gw_err_t *err);

/*
 * Moves the election on: call it from the loop at least every
 * gw_kube_lease_timeout_ms() (-1: not before an answer comes).
 * on_change is called from here and from gw_kube_perform() when
 * leadership changes.
 */
void gw_kube_lease_tick(gw_kube_lease_t *l);
long gw_kube_lease_timeout_ms(const gw_kube_lease_t *l);
int gw_kube_lease_is_leader(const gw_kube_lease_t *l);

/*
 * Clean shutdown: stops the election; a leader stops leading (on_change
 * 0) and then gives the Lease up (holder "", so another replica takes
 * over without waiting for it to expire).  Keep calling
 * gw_kube_perform() while gw_kube_lease_busy() is 1 (with a deadline),
 * then gw_kube_lease_free().
 */
void gw_kube_lease_release(gw_kube_lease_t *l);
int gw_kube_lease_busy(const gw_kube_lease_t *l);

/* Frees l; with a request in flight, when that request ends. */
void gw_kube_lease_free(gw_kube_lease_t *l);

#endif /* GW_KUBE_LEASE_H */
