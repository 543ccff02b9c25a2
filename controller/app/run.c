/*
 * ngx-gateway: the standalone controller: watch the manifests, reconcile
 * on every change (after a short debounce), supervise nginx, keep the
 * status file current.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app/app.h"
#include "core/gw_log.h"
#include "runtime/runtime.h"

#define GW_DEBOUNCE_MS  30


typedef struct {
    gw_ctl_t           ctl;
    gw_file_source_t  *src;
} gw_app_t;


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

    if (gw_store_equal(&fresh, &app->ctl.store)) {
        gw_store_release(&fresh);
        return 0;
    }

    gw_store_release(&app->ctl.store);
    app->ctl.store = fresh;

    gw_log(GW_LOG_INFO, "manifests loaded", "objects",
           gw_log_int((long long) gw_store_count(&app->ctl.store)), "errors",
           gw_log_int((long long) nerrors), NULL);

    return 1;
}


static int
gw_app_loop(gw_app_t *app)
{
    int            n, changed, timeout;
    size_t         nfds;
    struct pollfd  fds[2 + GW_ADMIN_MAX_FDS];

    for ( ;; ) {
        fds[0].fd = app->ctl.sfd;
        fds[0].events = POLLIN;
        fds[1].fd = gw_file_source_fd(app->src);
        fds[1].events = POLLIN;
        nfds = 2;
        timeout = 1000;
        n = (int) gw_ctl_retry_ms(&app->ctl);
        if (n >= 0 && n < timeout) {
            timeout = n;
        }

        if (app->ctl.admin != NULL) {
            nfds += gw_admin_pollfds(app->ctl.admin, fds + 2,
                                     GW_ADMIN_MAX_FDS);
            n = gw_admin_timeout_ms(app->ctl.admin);
            if (n >= 0 && n < timeout) {
                timeout = n;
            }
        }

        n = poll(fds, nfds, timeout);
        if (n < 0 && errno != EINTR) {
            gw_log(GW_LOG_ERROR, "poll failed", "error", strerror(errno),
                   NULL);
            return 1;
        }

        if (n > 0 && (fds[0].revents & POLLIN)
            && gw_ctl_stop_requested(&app->ctl))
        {
            return 0;
        }

        if (app->ctl.admin != NULL) {
            gw_admin_process(app->ctl.admin);
        }

        if (gw_ctl_retry_ms(&app->ctl) == 0) {
            gw_ctl_reconcile(&app->ctl);
        }

        if (gw_runtime_reap(&app->ctl.rt)) {
            gw_log(GW_LOG_WARN, "nginx is gone: starting it again", NULL);
            gw_ctl_reconcile(&app->ctl);
        }

        if (n > 0 && (fds[1].revents & POLLIN)) {
            changed = gw_file_source_changed(app->src);
            if (changed && app->ctl.changed_ms == 0) {
                app->ctl.changed_ms = (long long) gw_now_ms();
            }
            /* a burst of events becomes one reconcile */
            while (changed) {
                gw_sleep_ms(GW_DEBOUNCE_MS);
                if (!gw_file_source_changed(app->src)) {
                    break;
                }
            }
            if (changed && gw_app_load(app)) {
                gw_ctl_reconcile(&app->ctl);
            }
            app->ctl.changed_ms = 0;
        }
    }
}


int
gw_app_run(const gw_app_conf_t *conf)
{
    int        rc;
    gw_err_t   err;
    gw_app_t   app;

    memset(&app, 0, sizeof(app));
    rc = 1;

    if (gw_ctl_init(&app.ctl, conf, &err) != GW_OK) {
        gw_log(GW_LOG_ERROR, "cannot start", "error", err.msg, NULL);
        return 1;
    }

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
    gw_ctl_reconcile(&app.ctl);

    rc = gw_app_loop(&app);

out:

    gw_ctl_release(&app.ctl);
    if (app.src != NULL) {
        gw_file_source_free(app.src);
    }
    gw_manifests_release();

    return rc;
}
