/*
 * ngx-gateway: the controller's own metrics (docs/operations.md lists
 * them): reloads, durations, what the store holds, and, in Kubernetes
 * mode, watches and status writes.
 */

#include <string.h>

#include "app/app.h"


static const double  gw_reload_buckets[] = {
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10
};

static const double  gw_reconcile_buckets[] = {
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5
};


int
gw_ctl_metrics_init(gw_ctl_metrics_t *m, const char *state_dir,
    gw_err_t *err)
{
    static const char  *reason[] = { "reason", NULL };
    static const char  *kind_valid[] = { "kind", "valid", NULL };
    static const char  *result[] = { "result", NULL };
    static const char  *version[] = { "version", NULL };

    memset(m, 0, sizeof(gw_ctl_metrics_t));
    m->reg = gw_metrics_new();

#define GW_METRIC(field, expr)                                                \
    m->field = (expr);                                                        \
    if (m->field == NULL) {                                                   \
        gw_ctl_metrics_release(m);                                           \
        return GW_ERR;                                                        \
    }

    GW_METRIC(build_info, gw_metrics_gauge(m->reg,
              "ngx_gateway_build_info", "The controller's version: 1.",
              version, err))
    GW_METRIC(reloads, gw_metrics_counter(m->reg,
              "ngx_gateway_reloads_total",
              "nginx reloads (or starts) attempted.", NULL, err))
    GW_METRIC(reload_failures, gw_metrics_counter(m->reg,
              "ngx_gateway_reload_failures_total",
              "Configurations that did not go live: render (the "
              "controller could not render it), reload (nginx refused or "
              "did not confirm it).", reason, err))
    GW_METRIC(reload_seconds, gw_metrics_histogram(m->reg,
              "ngx_gateway_reload_duration_seconds",
              "From signalling nginx to the module confirming the new "
              "generation.", NULL, gw_reload_buckets,
              gw_countof(gw_reload_buckets), err))
    GW_METRIC(reconcile_seconds, gw_metrics_histogram(m->reg,
              "ngx_gateway_reconcile_duration_seconds",
              "Graph, data plane and rendering of one reconcile.", NULL,
              gw_reconcile_buckets, gw_countof(gw_reconcile_buckets), err))
    GW_METRIC(change_to_live, gw_metrics_gauge(m->reg,
              "ngx_gateway_last_change_to_live_seconds",
              "From the first change of the last applied burst to nginx "
              "serving it.", NULL, err))
    GW_METRIC(last_reload, gw_metrics_gauge(m->reg,
              "ngx_gateway_last_reload_success_timestamp_seconds",
              "Unix time of the last configuration nginx confirmed.", NULL,
              err))
    GW_METRIC(generation, gw_metrics_gauge(m->reg,
              "ngx_gateway_config_generation",
              "The configuration generation nginx runs.", NULL, err))
    GW_METRIC(resources, gw_metrics_gauge(m->reg, "ngx_gateway_resources",
              "Objects the controller reads, by kind and whether they are "
              "accepted (Gateways, routes) or merely present (others).",
              kind_valid, err))
    GW_METRIC(watch_reconnects, gw_metrics_counter(m->reg,
              "ngx_gateway_watch_reconnects_total",
              "Watches re-established after an error (Kubernetes mode).",
              NULL, err))
    GW_METRIC(relists, gw_metrics_counter(m->reg,
              "ngx_gateway_relists_total",
              "Lists after the first one, e.g. after 410 Gone (Kubernetes "
              "mode).", NULL, err))
    GW_METRIC(status_writes, gw_metrics_counter(m->reg,
              "ngx_gateway_status_writes_total",
              "Status writes: to the API server's status subresources "
              "(ok, conflict, error) or to the status file (file, "
              "file_error).",
              result, err))

#undef GW_METRIC

    gw_metric_gauge_set(m->build_info, 1, "version", GW_VERSION, NULL);

    if (gw_nginx_metrics_init(&m->nginx, m->reg, err) != GW_OK) {
        gw_ctl_metrics_release(m);
        return GW_ERR;
    }

    m->nginx.state_dir = state_dir;
    gw_metrics_on_collect(m->reg, gw_nginx_metrics_collect, &m->nginx);

    return GW_OK;
}


void
gw_ctl_metrics_release(gw_ctl_metrics_t *m)
{
    gw_metrics_free(m->reg);
    memset(m, 0, sizeof(gw_ctl_metrics_t));
}


static int
gw_kind_is_route(gw_kind_e k)
{
    return k == GW_KIND_HTTPROUTE || k == GW_KIND_GRPCROUTE
           || k == GW_KIND_TLSROUTE || k == GW_KIND_TCPROUTE
           || k == GW_KIND_UDPROUTE;
}


/* Resources by kind, and whether the graph accepted them. */
void
gw_ctl_metrics_resources(gw_ctl_metrics_t *m, const gw_store_t *store,
    const gw_graph_t *g)
{
    size_t               i, j, ok, n;
    gw_kind_e            k;
    const gw_groute_t   *r;
    const gw_ggateway_t *gw;

    gw_metric_clear(m->resources);

    for (k = 0; k < GW_KIND_MAX; k++) {
        n = gw_store_list(store, k)->n;
        ok = n;

        if (g != NULL && k == GW_KIND_GATEWAY) {
            ok = 0;
            for (i = 0; i < g->gateways.n; i++) {
                gw = g->gateways.items[i];
                ok += gw->accepted;
            }
        }

        if (g != NULL && gw_kind_is_route(k)) {
            ok = 0;
            for (i = 0; i < g->routes.n; i++) {
                r = g->routes.items[i];
                if (r->kind != k) {
                    continue;
                }
                for (j = 0; j < r->nparents; j++) {
                    if (r->parents[j].accepted) {
                        ok++;
                        break;
                    }
                }
            }
        }

        gw_metric_gauge_set(m->resources, (double) ok, "kind",
                            gw_kind_name(k), "valid", "true", NULL);
        if (n > ok) {
            gw_metric_gauge_set(m->resources, (double) (n - ok), "kind",
                                gw_kind_name(k), "valid", "false", NULL);
        }
    }
}
