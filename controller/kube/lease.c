/*
 * ngx-gateway: leader election, the driver: the requests of the Lease
 * state machine (lease_state.c) over the asynchronous client.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "core/gw_log.h"
#include "kube/lease.h"

#define GW_LEASE_API  "/apis/coordination.k8s.io/v1"


typedef enum {
    GW_LEASE_IDLE = 0,
    GW_LEASE_GET,
    GW_LEASE_WRITE,
    GW_LEASE_RELEASE
} gw_lease_req_e;


struct gw_kube_lease_s {
    gw_kube_t                *k;
    gw_kube_lease_state_t     st;
    char                     *name;
    char                     *ns;
    char                      path[512];     /* the Lease */
    char                      coll[512];     /* the Leases of ns */
    cJSON                    *obj;           /* the Lease as last read */
    gw_kube_lease_change_pt   on_change;
    void                     *data;
    gw_lease_req_e            req;           /* in flight */
    long long                 next_ms;       /* next attempt */
    int                       reported;      /* leadership on_change told */
    int                       stopped;
    int                       held;          /* to give up when stopped */
    int                       freed;
};


static void gw_kube_lease_send(gw_kube_lease_t *l, gw_lease_req_e req,
    const char *method, const char *path, const cJSON *body);


static void
gw_kube_lease_report(gw_kube_lease_t *l)
{
    if (l->st.leader == l->reported) {
        return;
    }

    l->reported = l->st.leader;

    gw_log(l->reported ? GW_LOG_INFO : GW_LOG_WARN,
           l->reported ? "became leader" : "stopped leading",
           "lease", l->name, "ns", l->ns, "identity", l->st.identity, NULL);

    if (l->on_change != NULL) {
        l->on_change(l->data, l->reported);
    }
}


gw_kube_lease_t *
gw_kube_lease_new(gw_kube_t *k, const gw_kube_lease_conf_t *conf,
    gw_err_t *err)
{
    int               n;
    char              host[256], id[320];
    gw_kube_lease_t  *l;

    if (conf->name == NULL || conf->namespace == NULL
        || conf->name[0] == '\0' || conf->namespace[0] == '\0'
        || strpbrk(conf->name, "/?#%") != NULL
        || strpbrk(conf->namespace, "/?#%") != NULL)
    {
        gw_err_set(err, "leader election needs a Lease name and namespace");
        return NULL;
    }

    if (conf->identity != NULL) {
        snprintf(id, sizeof(id), "%s", conf->identity);

    } else {
        if (gethostname(host, sizeof(host)) != 0) {
            snprintf(host, sizeof(host), "unknown");
        }

        host[sizeof(host) - 1] = '\0';
        snprintf(id, sizeof(id), "%s_%ld", host, (long) getpid());
    }

    l = gw_xcalloc(1, sizeof(gw_kube_lease_t));
    l->k = k;
    l->name = gw_xstrdup(conf->name);
    l->ns = gw_xstrdup(conf->namespace);
    l->on_change = conf->on_change;
    l->data = conf->data;

    gw_kube_lease_state_init(&l->st, id,
        conf->duration_ms > 0 ? conf->duration_ms : 15000,
        conf->renew_deadline_ms > 0 ? conf->renew_deadline_ms : 10000,
        conf->retry_period_ms > 0 ? conf->retry_period_ms : 2000);

    snprintf(l->coll, sizeof(l->coll), GW_LEASE_API "/namespaces/%s/leases",
             l->ns);
    n = snprintf(l->path, sizeof(l->path), "%s/%s", l->coll, l->name);

    if (n < 0 || (size_t) n >= sizeof(l->path)) {
        gw_err_set(err, "Lease name too long");
        gw_kube_lease_free(l);
        return NULL;
    }

    return l;
}


static void
gw_kube_lease_destroy(gw_kube_lease_t *l)
{
    gw_kube_lease_state_release(&l->st);
    cJSON_Delete(l->obj);
    free(l->name);
    free(l->ns);
    free(l);
}


void
gw_kube_lease_free(gw_kube_lease_t *l)
{
    if (l == NULL) {
        return;
    }

    if (l->req != GW_LEASE_IDLE) {
        l->freed = 1;           /* the request's callback frees it */
        l->on_change = NULL;
        return;
    }

    gw_kube_lease_destroy(l);
}


int
gw_kube_lease_is_leader(const gw_kube_lease_t *l)
{
    return l->st.leader;
}


int
gw_kube_lease_busy(const gw_kube_lease_t *l)
{
    return l->req != GW_LEASE_IDLE;
}


long
gw_kube_lease_timeout_ms(const gw_kube_lease_t *l)
{
    long long  now, t;

    if (l->stopped) {
        return -1;
    }

    now = gw_kube_now_ms();

    /* with a request out, its answer is the next thing to wait for */
    t = (l->req == GW_LEASE_IDLE) ? l->next_ms : -1;

    /* but a leader must notice the renew deadline on time */
    if (l->st.leader
        && (t == -1 || l->st.renewed_ms + l->st.renew_deadline_ms < t))
    {
        t = l->st.renewed_ms + l->st.renew_deadline_ms;
    }

    if (t == -1) {
        return -1;
    }

    return t > now ? (long) (t - now) : 0;
}


/* The record in a Lease object's spec; strings borrowed from obj. */
static void
gw_kube_lease_record(const cJSON *obj, gw_kube_lease_record_t *rec)
{
    const cJSON  *spec, *v;

    spec = cJSON_GetObjectItemCaseSensitive(obj, "spec");

    memset(rec, 0, sizeof(gw_kube_lease_record_t));
    rec->found = 1;
    rec->holder = cJSON_GetStringValue(
                      cJSON_GetObjectItemCaseSensitive(spec,
                                                       "holderIdentity"));
    rec->renew_time = cJSON_GetStringValue(
                          cJSON_GetObjectItemCaseSensitive(spec,
                                                           "renewTime"));
    rec->acquire_time = cJSON_GetStringValue(
                            cJSON_GetObjectItemCaseSensitive(spec,
                                                             "acquireTime"));

    v = cJSON_GetObjectItemCaseSensitive(spec, "leaseDurationSeconds");
    rec->duration_s = cJSON_IsNumber(v) ? (long) v->valuedouble : 0;

    v = cJSON_GetObjectItemCaseSensitive(spec, "leaseTransitions");
    rec->transitions = cJSON_IsNumber(v) ? (long) v->valuedouble : 0;
}


/*
 * The Lease to write: the one last read (labels and annotations kept)
 * with spec replaced.  holder NULL releases it.
 */
static cJSON *
gw_kube_lease_body(gw_kube_lease_t *l, const char *holder,
    const gw_kube_lease_plan_t *plan, long duration_s)
{
    char    now[40];
    cJSON  *obj, *meta, *spec;

    gw_kube_time_micro(now, sizeof(now));

    if (l->obj != NULL) {
        obj = cJSON_Duplicate(l->obj, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(obj, "spec");

    } else {
        obj = cJSON_CreateObject();
        cJSON_AddStringToObject(obj, "apiVersion", "coordination.k8s.io/v1");
        cJSON_AddStringToObject(obj, "kind", "Lease");
        meta = cJSON_AddObjectToObject(obj, "metadata");
        cJSON_AddStringToObject(meta, "name", l->name);
        cJSON_AddStringToObject(meta, "namespace", l->ns);
    }

    spec = cJSON_AddObjectToObject(obj, "spec");
    cJSON_AddStringToObject(spec, "holderIdentity", holder ? holder : "");
    cJSON_AddNumberToObject(spec, "leaseDurationSeconds",
                            (double) duration_s);
    cJSON_AddStringToObject(spec, "acquireTime",
                            plan->acquire_time ? plan->acquire_time : now);
    cJSON_AddStringToObject(spec, "renewTime", now);
    cJSON_AddNumberToObject(spec, "leaseTransitions",
                            (double) plan->transitions);

    return obj;
}


/* Creates or updates the Lease naming us, as the state machine planned. */
static void
gw_kube_lease_write(gw_kube_lease_t *l, gw_kube_lease_action_e action,
    const gw_kube_lease_plan_t *plan)
{
    cJSON  *body;

    if (action == GW_KUBE_LEASE_CREATE) {
        cJSON_Delete(l->obj);
        l->obj = NULL;
    }

    body = gw_kube_lease_body(l, l->st.identity, plan,
                              (long) (l->st.duration_ms / 1000));

    if (action == GW_KUBE_LEASE_CREATE) {
        gw_kube_lease_send(l, GW_LEASE_WRITE, "POST", l->coll, body);

    } else {
        gw_kube_lease_send(l, GW_LEASE_WRITE, "PUT", l->path, body);
    }

    cJSON_Delete(body);
}


static void
gw_kube_lease_got(gw_kube_lease_t *l, const gw_kube_response_t *r,
    long long now)
{
    cJSON                   *obj;
    gw_kube_lease_plan_t     plan;
    gw_kube_lease_record_t   rec;
    gw_kube_lease_action_e   action;

    if (r->status == 404) {
        memset(&rec, 0, sizeof(rec));
        action = gw_kube_lease_state_observe(&l->st, &rec, now, &plan);
        gw_kube_lease_write(l, action, &plan);
        return;
    }

    obj = (r->status == 200) ? cJSON_Parse(r->body) : NULL;
    if (obj == NULL) {
        gw_log(GW_LOG_WARN, "reading the Lease failed", "lease", l->name,
               "status", gw_log_int(r->status),
               "error", r->error ? r->error : "", NULL);
        l->next_ms = now + l->st.retry_period_ms;
        return;
    }

    cJSON_Delete(l->obj);
    l->obj = obj;

    gw_kube_lease_record(obj, &rec);
    action = gw_kube_lease_state_observe(&l->st, &rec, now, &plan);
    gw_kube_lease_report(l);

    if (action == GW_KUBE_LEASE_WAIT) {
        gw_log(GW_LOG_DEBUG, "Lease held by another replica",
               "lease", l->name, "holder", rec.holder ? rec.holder : "", NULL);
        l->next_ms = now + l->st.retry_period_ms;
        return;
    }

    gw_kube_lease_write(l, action, &plan);
}


static void
gw_kube_lease_wrote(gw_kube_lease_t *l, const gw_kube_response_t *r,
    long long now)
{
    cJSON                   *obj;
    gw_kube_lease_record_t   rec;

    obj = (r->status == 200 || r->status == 201) ? cJSON_Parse(r->body)
                                                 : NULL;

    if (obj != NULL) {
        cJSON_Delete(l->obj);
        l->obj = obj;

        gw_kube_lease_record(obj, &rec);
        gw_kube_lease_state_written(&l->st, &rec, now);
        gw_log(GW_LOG_DEBUG, "Lease renewed", "lease", l->name, NULL);

        l->next_ms = now + l->st.retry_period_ms;
        return;
    }

    /* 409: another replica wrote first (or ours was stale): look again */
    gw_log(r->status == 409 ? GW_LOG_DEBUG : GW_LOG_WARN,
           r->status == 409 ? "Lease changed under us"
                            : "writing the Lease failed",
           "lease", l->name, "status", gw_log_int(r->status),
           "error", r->error ? r->error : "", NULL);

    cJSON_Delete(l->obj);
    l->obj = NULL;

    l->next_ms = (l->st.leader && r->status == 409)
                 ? now : now + l->st.retry_period_ms;
}


static void
gw_kube_lease_done(void *data, const gw_kube_response_t *r)
{
    long long         now;
    gw_lease_req_e    req;
    gw_kube_lease_t  *l;

    l = data;
    req = l->req;
    l->req = GW_LEASE_IDLE;

    if (l->freed) {
        gw_kube_lease_destroy(l);
        return;
    }

    now = gw_kube_now_ms();

    if (req == GW_LEASE_RELEASE) {
        gw_log(r->status == 200 ? GW_LOG_INFO : GW_LOG_WARN,
               r->status == 200 ? "Lease released" : "releasing Lease failed",
               "lease", l->name, "status", gw_log_int(r->status), NULL);
        return;
    }

    if (l->stopped) {
        /* a release was asked for while this was in flight */
        cJSON_Delete(l->obj);
        l->obj = (r->status == 200 || r->status == 201)
                 ? cJSON_Parse(r->body) : NULL;
        gw_kube_lease_release(l);
        return;
    }

    if (req == GW_LEASE_GET) {
        gw_kube_lease_got(l, r, now);

    } else {
        gw_kube_lease_wrote(l, r, now);
    }

    gw_kube_lease_state_check(&l->st, now);
    gw_kube_lease_report(l);
}


static void
gw_kube_lease_send(gw_kube_lease_t *l, gw_lease_req_e req,
    const char *method, const char *path, const cJSON *body)
{
    char      *text;
    long       timeout;
    gw_err_t   err;

    text = body ? cJSON_PrintUnformatted(body) : NULL;

    /* a request must end in time for the renew deadline to be kept */
    timeout = (long) (l->st.renew_deadline_ms / 2);
    if (timeout < 1000) {
        timeout = 1000;
    }

    l->req = req;

    if (gw_kube_request(l->k, method, path,
                        text ? "application/json" : NULL,
                        text, text ? strlen(text) : 0, timeout,
                        gw_kube_lease_done, l, &err)
        != GW_OK)
    {
        gw_log(GW_LOG_WARN, "Lease request failed", "lease", l->name,
               "error", err.msg, NULL);
        l->req = GW_LEASE_IDLE;
        l->next_ms = gw_kube_now_ms() + l->st.retry_period_ms;
    }

    cJSON_free(text);
}


void
gw_kube_lease_tick(gw_kube_lease_t *l)
{
    long long             now;
    gw_kube_lease_plan_t  plan;

    now = gw_kube_now_ms();

    gw_kube_lease_state_check(&l->st, now);
    gw_kube_lease_report(l);

    if (l->stopped || l->req != GW_LEASE_IDLE || now < l->next_ms) {
        return;
    }

    if (l->st.leader && l->obj != NULL) {
        /* the leader's fast path: update what it wrote last */
        plan.acquire_time = l->st.acquire_time;
        plan.transitions = l->st.transitions;
        gw_kube_lease_write(l, GW_KUBE_LEASE_UPDATE, &plan);
        return;
    }

    gw_kube_lease_send(l, GW_LEASE_GET, "GET", l->path, NULL);
}


void
gw_kube_lease_release(gw_kube_lease_t *l)
{
    cJSON                *body;
    gw_kube_lease_plan_t  plan;

    l->stopped = 1;

    if (l->st.leader) {
        l->held = 1;
        l->st.leader = 0;
        gw_kube_lease_report(l);   /* stop writing status first */
    }

    if (!l->held || l->req != GW_LEASE_IDLE) {
        return;     /* not ours; or the callback calls us again */
    }

    l->held = 0;

    if (l->obj == NULL
        || !gw_streq(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
                         cJSON_GetObjectItemCaseSensitive(l->obj, "spec"),
                         "holderIdentity")),
                     l->st.identity))
    {
        return;     /* we do not know that it is still ours: let it expire */
    }

    /* like client-go's ReleaseOnCancel: no holder, expiring in 1 s */
    plan.acquire_time = NULL;
    plan.transitions = l->st.transitions;
    body = gw_kube_lease_body(l, NULL, &plan, 1);

    gw_kube_lease_send(l, GW_LEASE_RELEASE, "PUT", l->path, body);
    cJSON_Delete(body);
}
