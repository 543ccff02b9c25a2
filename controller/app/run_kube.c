/*
 * ngx-gateway: the controller in Kubernetes mode: informers feed the
 * store, every change (after a short debounce) is reconciled into the
 * local nginx, and the Lease holder writes the status to the API server.
 *
 * One thread, one loop: gw_kube_wait() sleeps on the API server's
 * transfers, the signalfd and the admin endpoint until the earliest timer
 * of the informers, the status writer, the Lease or the debounce.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "core/gw_log.h"
#include "kube/event.h"
#include "kube/informer.h"
#include "kube/kube.h"
#include "kube/lease.h"
#include "kube/writer.h"
#include "status/status.h"

#define GW_KUBE_DEBOUNCE_MS  30
#define GW_KUBE_MAX_WAIT_MS  1000
#define GW_KUBE_STOP_MS      3000


typedef struct {
    gw_ctl_t              ctl;
    const gw_app_conf_t  *conf;
    gw_kube_config_t      cfg;
    gw_kube_t            *kube;
    gw_informers_t       *informers;
    gw_kube_writer_t     *writer;
    gw_kube_lease_t      *lease;
    gw_kube_events_t     *events;
    int                   leader;
    int                   dirty;         /* the store changed */
    int                   resubmit;      /* live objects changed */
    int                   synced;        /* first reconcile done */
    int                   stopping;
    char                  last_error[GW_ERR_MSG_LEN];
} gw_kapp_t;


static const char *
gw_kapp_meta(const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(obj, "metadata"), key);

    return cJSON_IsString(v) ? v->valuestring : "";
}


/* One change from the API server into the store. */
static void
gw_kapp_on_event(void *data, gw_watch_event_e ev, const char *api_version,
    const char *kind, const cJSON *obj)
{
    int         changed;
    gw_err_t    err;
    gw_kind_e   k;
    gw_obj_t   *o;
    gw_kapp_t  *app;

    app = data;

    /* a status written by someone else is compared with ours again (only
     * objects whose status we write: not Services or EndpointSlices) */
    if (strncmp(api_version, GW_GROUP "/", sizeof(GW_GROUP)) == 0) {
        app->resubmit = 1;
    }

    if (gw_kind_lookup(api_version, kind, &k) != GW_OK) {
        return;                 /* read for other reasons (ConfigMaps) */
    }

    if (ev == GW_WATCH_DELETED) {
        changed = gw_store_delete(&app->ctl.store, k,
                                  gw_kind_namespaced(k)
                                  ? gw_kapp_meta(obj, "namespace") : "",
                                  gw_kapp_meta(obj, "name"));

    } else if (gw_obj_decode(cJSON_Duplicate(obj, 1), "", &o, &err)
               != GW_OK)
    {
        /* the API server accepted it, so its schema is newer than ours */
        gw_log(GW_LOG_WARN, "object left out: the controller cannot read "
               "it", "kind", kind, "ns", gw_kapp_meta(obj, "namespace"),
               "name", gw_kapp_meta(obj, "name"), "error", err.msg, NULL);
        changed = gw_store_delete(&app->ctl.store, k,
                                  gw_kind_namespaced(k)
                                  ? gw_kapp_meta(obj, "namespace") : "",
                                  gw_kapp_meta(obj, "name"));

    } else {
        changed = gw_store_put(&app->ctl.store, o, NULL);
    }

    if (changed && !app->dirty) {
        app->dirty = 1;
        app->ctl.changed_ms = (long long) gw_now_ms();
    }
}


static const cJSON *
gw_kapp_lookup(void *data, const char *kind, const char *ns,
    const char *name)
{
    gw_kapp_t  *app = data;

    return gw_informers_get(app->informers, kind, ns, name);
}


/*
 * The addresses users reach the Gateways at: the published Service's
 * load balancer (or cluster IP), else this pod's IP.  NULL when neither
 * is known: the status then keeps the address nginx listens on.
 */
static cJSON *
gw_kapp_addresses(gw_kapp_t *app)
{
    char          ns[256];
    const char   *slash, *pod_ip, *v;
    cJSON        *arr, *a;
    const cJSON  *svc, *ing, *it;

    arr = cJSON_CreateArray();

#define GW_ADDRESS(type, value)                                               \
    a = cJSON_CreateObject();                                                 \
    cJSON_AddStringToObject(a, "type", type);                                 \
    cJSON_AddStringToObject(a, "value", value);                               \
    cJSON_AddItemToArray(arr, a);

    if (app->conf->publish_service != NULL) {
        slash = strchr(app->conf->publish_service, '/');
        snprintf(ns, sizeof(ns), "%.*s",
                 (int) (slash - app->conf->publish_service),
                 app->conf->publish_service);
        svc = gw_informers_get(app->informers, "Service", ns, slash + 1);

        ing = cJSON_GetObjectItemCaseSensitive(
                  cJSON_GetObjectItemCaseSensitive(
                      cJSON_GetObjectItemCaseSensitive(svc, "status"),
                      "loadBalancer"),
                  "ingress");
        cJSON_ArrayForEach(it, ing) {
            v = cJSON_GetStringValue(cJSON_GetObjectItem(it, "ip"));
            if (v != NULL) {
                GW_ADDRESS("IPAddress", v)
            }
            v = cJSON_GetStringValue(cJSON_GetObjectItem(it, "hostname"));
            if (v != NULL) {
                GW_ADDRESS("Hostname", v)
            }
        }

        v = cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(svc, "spec"), "clusterIP"));
        if (cJSON_GetArraySize(arr) == 0 && v != NULL
            && strcmp(v, "None") != 0 && v[0] != '\0')
        {
            GW_ADDRESS("IPAddress", v)
        }
    }

    pod_ip = getenv("POD_IP");
    if (cJSON_GetArraySize(arr) == 0 && pod_ip != NULL && pod_ip[0] != '\0') {
        GW_ADDRESS("IPAddress", pod_ip)
    }

#undef GW_ADDRESS

    if (cJSON_GetArraySize(arr) == 0) {
        cJSON_Delete(arr);
        return NULL;
    }

    return arr;
}


/* The status as the API server should hold it, to the writer. */
static void
gw_kapp_submit(gw_kapp_t *app)
{
    cJSON           *list, *item, *st, *addrs;
    const gw_obj_t  *gw;

    if (!app->leader || app->ctl.status == NULL) {
        return;
    }

    list = cJSON_Duplicate(app->ctl.status, 1);
    addrs = gw_kapp_addresses(app);

    /* a Gateway without spec.addresses is reached where we are */
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(list, "items")) {
        st = cJSON_GetObjectItem(item, "status");
        if (addrs == NULL
            || !gw_streq(cJSON_GetStringValue(cJSON_GetObjectItem(item,
                                                                  "kind")),
                         "Gateway")
            || cJSON_GetObjectItem(st, "addresses") == NULL)
        {
            continue;
        }
        gw = gw_store_get(&app->ctl.store, GW_KIND_GATEWAY,
                          gw_kapp_meta(item, "namespace"),
                          gw_kapp_meta(item, "name"));
        if (gw != NULL && gw->u.gateway.naddresses == 0) {
            cJSON_ReplaceItemInObject(st, "addresses",
                                      cJSON_Duplicate(addrs, 1));
        }
    }

    gw_kube_writer_submit(app->writer, list);

    cJSON_Delete(addrs);
    cJSON_Delete(list);
}


/* A configuration nginx refused: an Event on each of our Gateways. */
static void
gw_kapp_event_failure(gw_kapp_t *app)
{
    size_t           i;
    gw_kube_ref_t    ref;
    const gw_obj_t  *gw;
    const gw_objlist_t *l;

    if (app->ctl.live_ok || !app->leader
        || strcmp(app->last_error, app->ctl.live_error) == 0)
    {
        return;
    }

    snprintf(app->last_error, sizeof(app->last_error), "%s",
             app->ctl.live_error);

    l = gw_store_list(&app->ctl.store, GW_KIND_GATEWAY);
    for (i = 0; i < l->n; i++) {
        gw = l->items[i];
        if (gw_status_find(app->ctl.status, "Gateway", gw->meta.namespace,
                           gw->meta.name) == NULL)
        {
            continue;           /* not ours */
        }
        ref.api_version = gw->api_version;
        ref.kind = "Gateway";
        ref.namespace = gw->meta.namespace;
        ref.name = gw->meta.name;
        ref.uid = gw->meta.uid[0] ? gw->meta.uid : NULL;
        gw_kube_event_post(app->events, &ref, "Warning", "ReloadFailed",
                           app->ctl.live_error, "Reload");
    }
}


static void
gw_kapp_reconcile(gw_kapp_t *app)
{
    app->dirty = 0;
    app->resubmit = 0;

    gw_ctl_reconcile(&app->ctl);

    if (app->ctl.live_ok) {
        app->last_error[0] = '\0';
    }

    gw_kapp_event_failure(app);
    gw_kapp_submit(app);
}


static void
gw_kapp_on_leader(void *data, int is_leader)
{
    gw_kapp_t  *app = data;

    app->leader = is_leader;
    gw_log(GW_LOG_INFO, is_leader ? "leading: writing status"
                                  : "not leading: status writes stopped",
           NULL);

    gw_kube_writer_pause(app->writer, !is_leader);
    gw_kapp_submit(app);
}


/* Watch and write counters, mirrored into the metrics at scrape time. */
static void
gw_kapp_collect(void *data, gw_metrics_t *reg)
{
    gw_kapp_t               *app = data;
    gw_ctl_metrics_t        *m;
    gw_informers_stats_t     is;
    gw_kube_writer_stats_t   ws;

    (void) reg;
    m = &app->ctl.metrics;

    gw_informers_stats(app->informers, &is);
    gw_kube_writer_stats(app->writer, &ws);

    gw_metric_counter_set(m->watch_reconnects, (double) is.reconnects, NULL);
    gw_metric_counter_set(m->relists, (double) is.relists, NULL);
    gw_metric_counter_set(m->status_writes, (double) ws.ok, "result", "ok",
                          NULL);
    gw_metric_counter_set(m->status_writes, (double) ws.conflicts, "result",
                          "conflict", NULL);
    gw_metric_counter_set(m->status_writes, (double) ws.failures, "result",
                          "error", NULL);
}


static int
gw_kapp_timeout(gw_kapp_t *app)
{
    long  t, m;

    m = GW_KUBE_MAX_WAIT_MS;

#define GW_MIN_TIMEOUT(expr)                                                  \
    t = (expr);                                                               \
    if (t >= 0 && t < m) {                                                    \
        m = t;                                                                \
    }

    GW_MIN_TIMEOUT(gw_informers_timeout_ms(app->informers))
    GW_MIN_TIMEOUT(gw_kube_writer_timeout_ms(app->writer))
    if (app->lease != NULL) {
        GW_MIN_TIMEOUT(gw_kube_lease_timeout_ms(app->lease))
    }
    if (app->ctl.admin != NULL) {
        GW_MIN_TIMEOUT(gw_admin_timeout_ms(app->ctl.admin))
    }
    if (app->dirty) {
        GW_MIN_TIMEOUT(app->ctl.changed_ms + GW_KUBE_DEBOUNCE_MS
                       - (long long) gw_now_ms())
    }
    if (app->synced) {
        GW_MIN_TIMEOUT(gw_ctl_retry_ms(&app->ctl))
    }

#undef GW_MIN_TIMEOUT

    return m < 0 ? 0 : (int) m;
}


static int
gw_kapp_loop(gw_kapp_t *app)
{
    unsigned             nfds;
    double               deadline;
    struct curl_waitfd   fds[1 + GW_ADMIN_MAX_FDS];

    deadline = 0;

    for ( ;; ) {
        fds[0].fd = app->ctl.sfd;
        fds[0].events = CURL_WAIT_POLLIN;
        fds[0].revents = 0;
        nfds = 1;
        if (app->ctl.admin != NULL) {
            nfds += (unsigned) gw_admin_waitfds(app->ctl.admin, fds + 1,
                                                GW_ADMIN_MAX_FDS);
        }

        if (gw_kube_wait(app->kube, fds, nfds, gw_kapp_timeout(app))
            != GW_OK)
        {
            gw_log(GW_LOG_ERROR, "waiting for the API server failed", NULL);
            return 1;
        }

        gw_kube_perform(app->kube);

        if (!app->stopping && gw_ctl_stop_requested(&app->ctl)) {
            app->stopping = 1;
            deadline = gw_now_ms() + GW_KUBE_STOP_MS;
            if (app->lease != NULL) {
                gw_kube_lease_release(app->lease);
            }
        }

        if (app->stopping) {
            /* let the Lease go, so another replica need not wait */
            if (app->lease == NULL || !gw_kube_lease_busy(app->lease)
                || gw_now_ms() >= deadline)
            {
                return 0;
            }
            continue;
        }

        if (app->ctl.admin != NULL) {
            gw_admin_process(app->ctl.admin);
        }

        gw_informers_tick(app->informers);
        if (app->lease != NULL) {
            gw_kube_lease_tick(app->lease);
        }

        if (gw_runtime_reap(&app->ctl.rt)) {
            gw_log(GW_LOG_WARN, "nginx is gone: starting it again", NULL);
            gw_kapp_reconcile(app);
        }

        /* the first configuration waits for every kind to be listed */
        if (!app->synced && gw_informers_synced(app->informers)) {
            app->synced = 1;
            gw_log(GW_LOG_INFO, "caches synced", "objects",
                   gw_log_int((long long) gw_store_count(&app->ctl.store)),
                   NULL);
            gw_kapp_reconcile(app);

        } else if (app->synced && app->dirty
                   && gw_now_ms() >= app->ctl.changed_ms
                                     + GW_KUBE_DEBOUNCE_MS)
        {
            gw_kapp_reconcile(app);

        } else if (app->synced && gw_ctl_retry_ms(&app->ctl) == 0) {
            /* e.g. a port still held, or nginx's container not up yet */
            gw_kapp_reconcile(app);

        } else if (app->synced && app->resubmit && !app->dirty) {
            app->resubmit = 0;
            gw_kapp_submit(app);
        }

        gw_kube_writer_tick(app->writer);
    }
}


static int
gw_kapp_start(gw_kapp_t *app, gw_err_t *err)
{
    char                  host[256];
    const char           *ns;
    gw_kube_lease_conf_t  lc;

    if (gw_kube_config_load(&app->cfg, app->conf->kubeconfig, err) != GW_OK)
    {
        return GW_ERR;
    }

    app->kube = gw_kube_new(&app->cfg, err);
    if (app->kube == NULL) {
        return GW_ERR;
    }

    app->informers = gw_informers_new(app->kube, gw_kapp_on_event, app,
                                      err);
    if (app->informers == NULL) {
        return GW_ERR;
    }

    app->writer = gw_kube_writer_new(app->kube, app->conf->controller_name,
                                     gw_kapp_lookup, app);

    if (gethostname(host, sizeof(host)) != 0) {
        snprintf(host, sizeof(host), "ngx-gateway");
    }
    host[sizeof(host) - 1] = '\0';
    app->events = gw_kube_events_new(app->kube, app->conf->controller_name,
                                     host);

    gw_metrics_on_collect(app->ctl.metrics.reg, gw_kapp_collect, app);

    if (!app->conf->leader_election) {
        app->leader = 1;
        return GW_OK;
    }

    /* until the Lease is ours, nothing is written */
    gw_kube_writer_pause(app->writer, 1);

    ns = app->conf->lease_namespace ? app->conf->lease_namespace
         : app->cfg.namespace ? app->cfg.namespace : "default";

    memset(&lc, 0, sizeof(lc));
    lc.name = app->conf->lease_name;
    lc.namespace = ns;
    lc.duration_ms = app->conf->lease_duration_ms;
    lc.renew_deadline_ms = app->conf->lease_renew_deadline_ms;
    lc.retry_period_ms = app->conf->lease_retry_period_ms;
    lc.on_change = gw_kapp_on_leader;
    lc.data = app;

    app->lease = gw_kube_lease_new(app->kube, &lc, err);

    return app->lease != NULL ? GW_OK : GW_ERR;
}


static void
gw_kapp_stop(gw_kapp_t *app)
{
    /* everything that has requests in the client goes before it */
    if (app->lease != NULL) {
        gw_kube_lease_free(app->lease);
    }
    if (app->events != NULL) {
        gw_kube_events_free(app->events);
    }
    if (app->writer != NULL) {
        gw_kube_writer_free(app->writer);
    }
    if (app->informers != NULL) {
        gw_informers_free(app->informers);
    }
    if (app->kube != NULL) {
        gw_kube_free(app->kube);
    }
    gw_kube_config_release(&app->cfg);
}


int
gw_kube_run(const gw_app_conf_t *conf)
{
    int         rc;
    gw_err_t    err;
    gw_kapp_t   app;

    memset(&app, 0, sizeof(app));
    app.conf = conf;
    rc = 1;

    if (gw_ctl_init(&app.ctl, conf, &err) != GW_OK) {
        gw_log(GW_LOG_ERROR, "cannot start", "error", err.msg, NULL);
        return 1;
    }

    if (gw_kapp_start(&app, &err) != GW_OK) {
        gw_log(GW_LOG_ERROR, "cannot use the Kubernetes API", "error",
               err.msg, NULL);
        goto out;
    }

    gw_log(GW_LOG_INFO, "starting", "version", GW_VERSION, "server",
           app.cfg.server, "state_dir", conf->state_dir, "controller",
           conf->controller_name, "leader_election",
           conf->leader_election ? "on" : "off", NULL);

    rc = gw_kapp_loop(&app);

out:

    gw_kapp_stop(&app);
    gw_ctl_release(&app.ctl);

    return rc;
}
