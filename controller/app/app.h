/*
 * ngx-gateway: the pipeline glue shared by the CLI commands: manifests
 * into a store, a store into a plan (graph, data plane, rendered config),
 * and the standalone controller loop.
 */

#ifndef GW_APP_H
#define GW_APP_H

#include "core/gw_buf.h"
#include <cjson/cJSON.h>

#include "admin/endpoints.h"
#include "dataplane/dataplane.h"
#include "dataplane/stream.h"
#include "graph/graph.h"
#include "metrics/metrics.h"
#include "metrics/nginx.h"
#include "runtime/runtime.h"
#include "source/file.h"
#include "store/store.h"

typedef struct {
    const char  *manifests;        /* -f PATH */
    const char  *controller_name;
    const char  *default_address;
    const char  *state_dir;
    const char  *module_path;
    const char  *stream_module_path;  /* ngx_stream_gateway_module.so */
    const char  *nginx_bin;
    int          port_offset;
    int          worker_processes;
    const char  *admin_address;    /* NULL: no admin endpoint */
    int          admin_required;   /* 0: a busy address is only a warning */
    int          external_nginx;   /* nginx runs in its own container */
    int          no_stdio_logs;    /* with it: no logs on nginx's stdio */

    /* Kubernetes mode */
    const char  *kubeconfig;       /* NULL: $KUBECONFIG or in-cluster */
    int          leader_election;
    const char  *lease_name;
    const char  *lease_namespace;  /* NULL: the kubeconfig's or default */
    long         lease_duration_ms;       /* 0: 15 s */
    long         lease_renew_deadline_ms; /* 0: 10 s */
    long         lease_retry_period_ms;   /* 0: 2 s */
    const char  *publish_service;  /* NS/NAME: status addresses from it */
} gw_app_conf_t;

/* One reconcile's worth of derived state, from one arena. */
typedef struct {
    gw_arena_t   arena;
    gw_graph_t  *graph;
    gw_dp_t     *dp;
    gw_dp_stream_t *stream_dp;
    gw_buf_t     http;             /* conf/http.conf */
    gw_buf_t     stream;           /* conf/stream.conf, empty: none */
} gw_plan_t;

/* The files of the plan, for the runtime (stream NULL: no stream{}). */
void gw_plan_confs(const gw_plan_t *p, gw_runtime_confs_t *confs);

/*
 * Scans the source and decodes every document into a fresh store.
 * Malformed documents and objects the API server would refuse are logged
 * with file and line and left out; *nerrors counts them.
 */
int gw_manifests_load(gw_file_source_t *src, gw_store_t *store,
    size_t *nerrors, gw_err_t *err);
/* Frees the creationTimestamps remembered across scans (at exit). */
void gw_manifests_release(void);

/* served_secrets: see gw_graph_conf_t (NULL: none) */
int gw_plan_build(gw_plan_t *p, const gw_store_t *store,
    const gw_store_t *served_secrets, const gw_app_conf_t *conf,
    gw_err_t *err);
void gw_plan_release(gw_plan_t *p);

/* The controller's own metrics (app/metrics.c). */
typedef struct {
    gw_metrics_t  *reg;
    gw_metric_t   *build_info;
    gw_metric_t   *reloads;
    gw_metric_t   *reload_failures;
    gw_metric_t   *reload_seconds;
    gw_metric_t   *reconcile_seconds;
    gw_metric_t   *change_to_live;
    gw_metric_t   *last_reload;
    gw_metric_t   *generation;
    gw_metric_t   *resources;
    gw_metric_t   *watch_reconnects;
    gw_metric_t   *relists;
    gw_metric_t   *status_writes;
    gw_nginx_metrics_t  nginx;    /* the module's counters, at scrape */
} gw_ctl_metrics_t;

/* state_dir: where nginx's status socket is, for its counters */
int gw_ctl_metrics_init(gw_ctl_metrics_t *m, const char *state_dir,
    gw_err_t *err);
void gw_ctl_metrics_release(gw_ctl_metrics_t *m);
void gw_ctl_metrics_resources(gw_ctl_metrics_t *m, const gw_store_t *store,
    const gw_graph_t *g);

#define GW_CTL_RETRY_MS  5000

/* The controller's state, whatever the source. */
typedef struct {
    const gw_app_conf_t  *conf;
    gw_store_t            store;
    gw_store_t            served_secrets;  /* what the live config serves */
    gw_runtime_t          rt;
    cJSON                *status;     /* the latest status List */
    int                   live_ok;    /* the last apply succeeded */
    int                   ever_live;  /* a configuration went live once */
    char                  live_error[GW_ERR_MSG_LEN];
    long long             changed_ms; /* first change not yet live, or 0 */
    double                applied_ms; /* when the last reconcile ran */
    gw_ctl_metrics_t      metrics;
    gw_admin_health_t     health;     /* what /healthz, /readyz answer */
    gw_admin_t           *admin;      /* NULL without --admin-address */
    int                   sfd;        /* signalfd: INT, TERM, CHLD, PIPE */
} gw_ctl_t;

int gw_ctl_init(gw_ctl_t *c, const gw_app_conf_t *conf, gw_err_t *err);

/* Stops nginx and frees everything. */
void gw_ctl_release(gw_ctl_t *c);

/* Drains c->sfd; 1 when SIGTERM or SIGINT asked the controller to stop. */
int gw_ctl_stop_requested(gw_ctl_t *c);


/*
 * Builds the plan from the store, makes it live unless it already is, and
 * computes the status.  Returns 1 when the status List changed (c->status
 * is then the new one, already logged and written to status.json).
 */
int gw_ctl_reconcile(gw_ctl_t *c);

/*
 * Milliseconds until a configuration that did not go live (a port still
 * held, nginx's container not up yet) should be tried again: 0 when due,
 * -1 when the last one is live.
 */
long gw_ctl_retry_ms(const gw_ctl_t *c);

/* Kubernetes mode (app/run_kube.c): returns the process exit code. */
int gw_kube_run(const gw_app_conf_t *conf);

/* The standalone controller: returns the process exit code. */
int gw_app_run(const gw_app_conf_t *conf);

#endif /* GW_APP_H */
