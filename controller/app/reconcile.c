/*
 * ngx-gateway: one reconcile, whatever the source: the store into a plan,
 * the plan live in nginx, the outcome as a status List (kept, logged and
 * written to STATE_DIR/status.json when it changes).
 */

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include "app/app.h"
#include "core/gw_log.h"
#include "runtime/files.h"
#include "status/status.h"


/* The signals the loops handle arrive on a descriptor, not a handler. */
static int
gw_ctl_signalfd(gw_err_t *err)
{
    int       fd;
    sigset_t  mask;

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGPIPE);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    fd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0) {
        gw_err_set(err, "signalfd: %s", strerror(errno));
    }

    return fd;
}


int
gw_ctl_stop_requested(gw_ctl_t *app)
{
    struct signalfd_siginfo  si;

    while (read(app->sfd, &si, sizeof(si)) == sizeof(si)) {
        if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
            gw_log(GW_LOG_INFO, "stopping", "signal",
                   si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
            return 1;
        }
    }

    return 0;
}


int
gw_ctl_init(gw_ctl_t *app, const gw_app_conf_t *conf, gw_err_t *err)
{
    memset(app, 0, sizeof(gw_ctl_t));
    app->conf = conf;
    gw_store_init(&app->store);
    gw_store_init(&app->served_secrets);

    app->sfd = gw_ctl_signalfd(err);
    if (app->sfd < 0) {
        return GW_ERR;
    }

    if (gw_runtime_init(&app->rt, conf->state_dir, conf->nginx_bin,
                        conf->module_path, err) != GW_OK)
    {
        close(app->sfd);
        gw_store_release(&app->store);
        return GW_ERR;
    }

    app->rt.worker_processes = conf->worker_processes;
    app->rt.stream_module_path = conf->stream_module_path;
    app->rt.external = conf->external_nginx;
    app->rt.stdio_logs = conf->external_nginx && !conf->no_stdio_logs;

    if (gw_ctl_metrics_init(&app->metrics, conf->state_dir, err) != GW_OK) {
        gw_runtime_release(&app->rt);
        gw_store_release(&app->store);
        close(app->sfd);
        return GW_ERR;
    }

    app->health.metrics = app->metrics.reg;
    snprintf(app->health.reason, sizeof(app->health.reason),
             "no configuration is live yet");

    if (conf->admin_address == NULL) {
        return GW_OK;
    }

    app->admin = gw_admin_open(conf->admin_address, gw_admin_endpoints,
                               &app->health, err);
    if (app->admin == NULL && !conf->admin_required) {
        gw_log(GW_LOG_WARN, "no admin endpoint (/healthz, /readyz, "
               "/metrics): give --admin-address another address",
               "address", conf->admin_address, "error", err->msg, NULL);
        return GW_OK;
    }

    if (app->admin == NULL) {
        gw_ctl_metrics_release(&app->metrics);
        gw_runtime_release(&app->rt);
        gw_store_release(&app->store);
        close(app->sfd);
        return GW_ERR;
    }

    gw_log(GW_LOG_INFO, "admin endpoint listening", "address",
           conf->admin_address, "port",
           gw_log_int(gw_admin_port(app->admin)), NULL);

    return GW_OK;
}


void
gw_ctl_release(gw_ctl_t *app)
{
    if (app->admin != NULL) {
        gw_admin_free(app->admin);
        app->admin = NULL;
    }
    gw_ctl_metrics_release(&app->metrics);
    gw_store_release(&app->served_secrets);
    gw_runtime_stop(&app->rt);
    gw_runtime_release(&app->rt);
    gw_store_release(&app->store);
    cJSON_Delete(app->status);
    app->status = NULL;
    close(app->sfd);
}


/* Keeps status as the latest; 1 when it differs from the previous one. */
static int
gw_ctl_write_status(gw_ctl_t *app, cJSON *status)
{
    char      path[4096], *text;
    gw_err_t  err;

    if (app->status != NULL && cJSON_Compare(app->status, status, 1)) {
        cJSON_Delete(status);
        return 0;
    }

    snprintf(path, sizeof(path), "%s/status.json", app->conf->state_dir);
    text = cJSON_Print(status);

    if (gw_file_write_atomic(path, text, strlen(text), 0644, &err) != GW_OK) {
        gw_log(GW_LOG_ERROR, "writing status failed", "error", err.msg, NULL);
        gw_metric_counter_add(app->metrics.status_writes, 1, "result",
                              "file_error", NULL);
    } else {
        gw_metric_counter_add(app->metrics.status_writes, 1, "result",
                              "file", NULL);
    }

    cJSON_free(text);
    cJSON_Delete(app->status);
    app->status = status;

    return 1;
}


/* Conflicted and PartiallyInvalid are problems when True, others when not. */
static int
gw_cond_is_problem(const cJSON *c)
{
    int          is_true;
    const char  *type;

    type = cJSON_GetStringValue(cJSON_GetObjectItem(c, "type"));
    is_true = gw_streq(cJSON_GetStringValue(cJSON_GetObjectItem(c, "status")),
                       "True");

    if (gw_streq(type, "Conflicted") || gw_streq(type, "PartiallyInvalid")) {
        return is_true;
    }

    return !is_true;
}


/* One line per condition that is not True, for each object whose status
 * changed: what `kubectl describe` would show, in the log. */
static void
gw_ctl_log_conditions(gw_ctl_t *app, const cJSON *status)
{
    const cJSON  *item, *meta, *conds, *c, *parents, *p, *listeners, *l;
    const cJSON  *old;
    const char   *kind, *ns, *name;
    char          gen[32];

    cJSON_ArrayForEach(item, cJSON_GetObjectItem(status, "items")) {
        kind = cJSON_GetStringValue(cJSON_GetObjectItem(item, "kind"));
        meta = cJSON_GetObjectItem(item, "metadata");
        ns = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "namespace"));
        name = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "name"));
        snprintf(gen, sizeof(gen), "%d",
                 cJSON_GetObjectItem(meta, "generation")
                 ? cJSON_GetObjectItem(meta, "generation")->valueint : 0);

        old = app->status ? gw_status_find(app->status, kind, ns ? ns : "",
                                           name) : NULL;
        if (old != NULL
            && cJSON_Compare(cJSON_GetObjectItem(old, "status"),
                             cJSON_GetObjectItem(item, "status"), 1))
        {
            continue;
        }

        conds = cJSON_GetObjectItem(cJSON_GetObjectItem(item, "status"),
                                    "conditions");
        parents = cJSON_GetObjectItem(cJSON_GetObjectItem(item, "status"),
                                      "parents");
        listeners = cJSON_GetObjectItem(cJSON_GetObjectItem(item, "status"),
                                        "listeners");

        gw_log(GW_LOG_INFO, "status changed", "kind", kind, "ns",
               ns ? ns : "", "name", name, "generation", gen, NULL);

#define GW_LOG_FALSE(list, extra_key, extra)                                  \
        cJSON_ArrayForEach(c, list) {                                         \
            if (!gw_cond_is_problem(c)) {                                    \
                continue;                                                     \
            }                                                                 \
            gw_log(GW_LOG_WARN, "condition not met", "kind", kind, "ns",      \
                   ns ? ns : "", "name", name, "generation", gen,             \
                   extra_key, extra, "type",                                  \
                   cJSON_GetStringValue(cJSON_GetObjectItem(c, "type")),      \
                   "reason",                                                  \
                   cJSON_GetStringValue(cJSON_GetObjectItem(c, "reason")),    \
                   "message",                                                 \
                   cJSON_GetStringValue(cJSON_GetObjectItem(c, "message")),   \
                   NULL);                                                     \
        }

        GW_LOG_FALSE(conds, "scope", "object")
        cJSON_ArrayForEach(l, listeners) {
            GW_LOG_FALSE(cJSON_GetObjectItem(l, "conditions"), "listener",
                         cJSON_GetStringValue(cJSON_GetObjectItem(l, "name")))
        }
        cJSON_ArrayForEach(p, parents) {
            GW_LOG_FALSE(cJSON_GetObjectItem(p, "conditions"), "parent",
                         cJSON_GetStringValue(cJSON_GetObjectItem(
                             cJSON_GetObjectItem(p, "parentRef"), "name")))
        }
#undef GW_LOG_FALSE
    }
}


/* What the last reload did, for `ngx-gateway status -o describe`. */
static void
gw_ctl_record_reload(gw_ctl_t *app)
{
    char       path[4096], ts[32], *text;
    time_t     t;
    cJSON     *r;
    gw_err_t   err;
    struct tm  tm;

    t = time(NULL);
    gmtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

    r = cJSON_CreateObject();
    cJSON_AddNumberToObject(r, "generation", (double) app->rt.generation);
    cJSON_AddStringToObject(r, "time", ts);
    cJSON_AddBoolToObject(r, "ok", app->live_ok);
    cJSON_AddStringToObject(r, "message", app->live_ok ? ""
                                                       : app->live_error);
    cJSON_AddNumberToObject(r, "reloadMs",
                            app->live_ok ? app->rt.last_reload_ms : 0);

    snprintf(path, sizeof(path), "%s/reload.json", app->conf->state_dir);
    text = cJSON_Print(r);

    if (gw_file_write_atomic(path, text, strlen(text), 0644, &err) != GW_OK) {
        gw_log(GW_LOG_WARN, "writing reload.json failed", "error", err.msg,
               NULL);
    }

    cJSON_free(text);
    cJSON_Delete(r);
}


/*
 * Copies of the Secrets the live configuration serves: a later bad edit
 * of one of them keeps this version serving (gw_graph_conf_t).
 */
static void
gw_ctl_served_secrets(gw_ctl_t *app, const gw_graph_t *g)
{
    size_t                 i, j, k;
    gw_err_t               err;
    gw_obj_t              *copy;
    gw_store_t             fresh;
    const gw_ggateway_t   *gw;
    const gw_glistener_t  *l;

    gw_store_init(&fresh);

    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        for (j = 0; j < gw->nlisteners; j++) {
            l = &gw->listeners[j];
            for (k = 0; l->served && k < l->nsecrets; k++) {
                if (gw_obj_decode(cJSON_Duplicate(l->secrets[k]->json, 1),
                                  "", &copy, &err) == GW_OK)
                {
                    gw_store_put(&fresh, copy, NULL);
                }
            }
        }
    }

    gw_store_release(&app->served_secrets);
    app->served_secrets = fresh;
}


/* A configuration went live: the reload metrics. */
static void
gw_ctl_metrics_live(gw_ctl_t *app)
{
    gw_ctl_metrics_t  *m;

    m = &app->metrics;

    gw_metric_histogram_observe(m->reload_seconds,
                                app->rt.last_reload_ms / 1000, NULL);
    gw_metric_gauge_set(m->last_reload, (double) time(NULL), NULL);
    gw_metric_gauge_set(m->generation, (double) app->rt.generation, NULL);

    if (app->changed_ms > 0) {
        gw_metric_gauge_set(m->change_to_live,
                            (gw_now_ms() - app->changed_ms) / 1000, NULL);
    }
}


/* /readyz: ready once a configuration went live (later failures keep the
 * last good one serving, so it stays ready). */
static void
gw_ctl_health(gw_ctl_t *app)
{
    app->health.ready = app->ever_live;

    if (!app->ever_live) {
        snprintf(app->health.reason, sizeof(app->health.reason), "%.250s",
                 app->live_error[0] ? app->live_error
                                    : "no configuration is live yet");
    }
}


int
gw_ctl_reconcile(gw_ctl_t *app)
{
    int                  changed, built;
    double               start;
    gw_err_t             err;
    gw_plan_t            plan;
    cJSON               *status;
    gw_runtime_confs_t   confs;
    gw_status_outcome_t  outcome;
    gw_ctl_metrics_t    *m;

    m = &app->metrics;
    start = gw_now_ms();
    app->applied_ms = start;
    built = gw_plan_build(&plan, &app->store, &app->served_secrets,
                          app->conf, &err) == GW_OK;
    gw_plan_confs(&plan, &confs);
    gw_metric_histogram_observe(m->reconcile_seconds,
                                (gw_now_ms() - start) / 1000, NULL);

    if (!built) {
        gw_log(GW_LOG_ERROR, "rendering failed", "error", err.msg, NULL);
        app->live_ok = 0;
        snprintf(app->live_error, sizeof(app->live_error), "%s", err.msg);
        gw_metric_counter_add(m->reload_failures, 1, "reason", "render",
                              NULL);

    } else if (!gw_runtime_confs_live(&app->rt, &confs)) {
        gw_metric_counter_add(m->reloads, 1, NULL);

        if (gw_runtime_apply_confs(&app->rt, &confs, &err) == GW_OK) {
            app->live_ok = 1;
            app->ever_live = 1;
            gw_ctl_metrics_live(app);
            gw_ctl_served_secrets(app, plan.graph);
            gw_log(GW_LOG_INFO, "configuration live", "generation",
                   gw_log_int((long long) app->rt.generation), "reload_ms",
                   gw_log_int((long long) app->rt.last_reload_ms), "pid",
                   gw_log_int((long long) app->rt.pid), NULL);
        } else {
            app->live_ok = 0;
            snprintf(app->live_error, sizeof(app->live_error), "%s",
                     err.msg);
            gw_metric_counter_add(m->reload_failures, 1, "reason", "reload",
                                  NULL);
            gw_log(GW_LOG_ERROR, "configuration rejected, the last good one "
                   "keeps serving", "error", err.msg, NULL);
            if (strstr(err.msg, "Permission denied") != NULL
                && strstr(err.msg, "bind()") != NULL)
            {
                gw_log(GW_LOG_ERROR, "ports below 1024 need privilege: run "
                       "as root, or `sudo setcap cap_net_bind_service=+ep "
                       "/usr/sbin/nginx`, or `sudo sysctl "
                       "net.ipv4.ip_unprivileged_port_start=80`, or move "
                       "every listener up with --port-offset 8000", NULL);
            }
        }

        gw_ctl_record_reload(app);

    } else if (!app->live_ok && app->rt.generation > 0) {
        /* nginx runs this plan already: a refused change was undone */
        app->live_ok = 1;
        app->live_error[0] = '\0';
        gw_log(GW_LOG_INFO, "configuration live again", "generation",
               gw_log_int((long long) app->rt.generation), NULL);
        gw_ctl_record_reload(app);
    }

    app->changed_ms = 0;
    gw_ctl_health(app);

    outcome.programmed = app->live_ok;
    outcome.message = app->live_error;

    gw_ctl_metrics_resources(m, &app->store, plan.graph);

    status = gw_status_build(plan.graph, &outcome, app->status);
    gw_ctl_log_conditions(app, status);
    changed = gw_ctl_write_status(app, status);

    gw_plan_release(&plan);

    return changed;
}


long
gw_ctl_retry_ms(const gw_ctl_t *c)
{
    double  due;

    if (c->live_ok) {
        return -1;
    }

    due = c->applied_ms + GW_CTL_RETRY_MS - gw_now_ms();

    return due > 0 ? (long) due : 0;
}
