/*
 * ngx-gateway: the standalone controller: watch the manifests, reconcile
 * on every change (after a short debounce), supervise nginx, keep the
 * status file current.
 */

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/signalfd.h>

#include "app/app.h"
#include "core/gw_log.h"
#include "runtime/files.h"
#include "runtime/runtime.h"
#include "status/status.h"

#define GW_DEBOUNCE_MS  30


typedef struct {
    const gw_app_conf_t  *conf;
    gw_file_source_t     *src;
    gw_store_t            store;
    gw_runtime_t          rt;
    cJSON                *status;       /* last written */
    int                   live_ok;      /* last apply succeeded */
    char                  live_error[GW_ERR_MSG_LEN];
} gw_app_t;


static void
gw_app_write_status(gw_app_t *app, cJSON *status)
{
    char      path[4096], *text;
    gw_err_t  err;

    if (app->status != NULL && cJSON_Compare(app->status, status, 1)) {
        cJSON_Delete(status);
        return;
    }

    snprintf(path, sizeof(path), "%s/status.json", app->conf->state_dir);
    text = cJSON_Print(status);

    if (gw_file_write_atomic(path, text, strlen(text), 0644, &err) != GW_OK) {
        gw_log(GW_LOG_ERROR, "writing status failed", "error", err.msg, NULL);
    }

    cJSON_free(text);
    cJSON_Delete(app->status);
    app->status = status;
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
gw_app_log_conditions(gw_app_t *app, const cJSON *status)
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


static void
gw_app_reconcile(gw_app_t *app)
{
    gw_err_t             err;
    gw_plan_t            plan;
    cJSON               *status;
    gw_status_outcome_t  outcome;

    if (gw_plan_build(&plan, &app->store, app->conf, &err) != GW_OK) {
        gw_log(GW_LOG_ERROR, "rendering failed", "error", err.msg, NULL);
        app->live_ok = 0;
        snprintf(app->live_error, sizeof(app->live_error), "%s", err.msg);

    } else if (!gw_runtime_is_live(&app->rt, plan.http.data)) {
        if (gw_runtime_apply(&app->rt, plan.http.data, &err) == GW_OK) {
            app->live_ok = 1;
            gw_log(GW_LOG_INFO, "configuration live", "generation",
                   gw_log_int((long long) app->rt.generation), "reload_ms",
                   gw_log_int((long long) app->rt.last_reload_ms), "pid",
                   gw_log_int((long long) app->rt.pid), NULL);
        } else {
            app->live_ok = 0;
            snprintf(app->live_error, sizeof(app->live_error), "%s",
                     err.msg);
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
    }

    outcome.programmed = app->live_ok;
    outcome.message = app->live_error;

    status = gw_status_build(plan.graph, &outcome, app->status);
    gw_app_log_conditions(app, status);
    gw_app_write_status(app, status);

    gw_plan_release(&plan);
}


/* Reloads the manifests; 1 when the store changed. */
static int
gw_app_load(gw_app_t *app)
{
    size_t      nerrors;
    gw_err_t    err;
    gw_store_t  fresh;

    gw_store_init(&fresh);

    if (gw_manifests_load(app->src, &fresh, &nerrors, &err) != GW_OK) {
        gw_log(GW_LOG_ERROR, "reading manifests failed", "error", err.msg,
               NULL);
        gw_store_release(&fresh);
        return 0;
    }

    if (gw_store_equal(&fresh, &app->store)) {
        gw_store_release(&fresh);
        return 0;
    }

    gw_store_release(&app->store);
    app->store = fresh;

    gw_log(GW_LOG_INFO, "manifests loaded", "objects",
           gw_log_int((long long) gw_store_count(&app->store)), "errors",
           gw_log_int((long long) nerrors), NULL);

    return 1;
}


static int
gw_app_loop(gw_app_t *app, int sfd)
{
    int                      n, changed;
    struct pollfd            fds[2];
    struct signalfd_siginfo  si;

    for ( ;; ) {
        fds[0].fd = sfd;
        fds[0].events = POLLIN;
        fds[1].fd = gw_file_source_fd(app->src);
        fds[1].events = POLLIN;

        n = poll(fds, 2, 1000);
        if (n < 0 && errno != EINTR) {
            gw_log(GW_LOG_ERROR, "poll failed", "error", strerror(errno),
                   NULL);
            return 1;
        }

        if (n > 0 && (fds[0].revents & POLLIN)) {
            if (read(sfd, &si, sizeof(si)) == sizeof(si)
                && (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT))
            {
                gw_log(GW_LOG_INFO, "stopping", "signal",
                       si.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
                return 0;
            }
        }

        if (gw_runtime_reap(&app->rt)) {
            gw_log(GW_LOG_WARN, "nginx is gone: starting it again", NULL);
            gw_app_reconcile(app);
        }

        if (n > 0 && (fds[1].revents & POLLIN)) {
            changed = gw_file_source_changed(app->src);
            /* a burst of events becomes one reconcile */
            while (changed) {
                gw_sleep_ms(GW_DEBOUNCE_MS);
                if (!gw_file_source_changed(app->src)) {
                    break;
                }
            }
            if (changed && gw_app_load(app)) {
                gw_app_reconcile(app);
            }
        }
    }
}


int
gw_app_run(const gw_app_conf_t *conf)
{
    int        sfd, rc;
    gw_err_t   err;
    gw_app_t   app;
    sigset_t   mask;

    memset(&app, 0, sizeof(app));
    app.conf = conf;
    gw_store_init(&app.store);
    rc = 1;
    sfd = -1;

    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGPIPE);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sfd < 0) {
        gw_log(GW_LOG_ERROR, "signalfd failed", "error", strerror(errno),
               NULL);
        return 1;
    }

    if (gw_runtime_init(&app.rt, conf->state_dir, conf->nginx_bin,
                        conf->module_path, &err) != GW_OK)
    {
        gw_log(GW_LOG_ERROR, "cannot prepare the state directory", "error",
               err.msg, NULL);
        goto out;
    }
    app.rt.worker_processes = conf->worker_processes;

    app.src = gw_file_source_new(conf->manifests, &err);
    if (app.src == NULL
        || gw_file_source_watch(app.src, &err) != GW_OK)
    {
        gw_log(GW_LOG_ERROR, "cannot read manifests", "path",
               conf->manifests, "error", err.msg, NULL);
        goto out;
    }

    gw_log(GW_LOG_INFO, "starting", "version", GW_VERSION, "manifests",
           conf->manifests, "state_dir", conf->state_dir, "controller",
           conf->controller_name, NULL);

    gw_app_load(&app);
    gw_app_reconcile(&app);

    rc = gw_app_loop(&app, sfd);

out:

    gw_runtime_stop(&app.rt);
    gw_runtime_release(&app.rt);
    if (app.src != NULL) {
        gw_file_source_free(app.src);
    }
    gw_store_release(&app.store);
    cJSON_Delete(app.status);
    close(sfd);

    return rc;
}
