/*
 * ngx-gateway: the pipeline glue shared by the CLI commands: manifests
 * into a store, a store into a plan (graph, data plane, rendered config),
 * and the standalone controller loop.
 */

#ifndef GW_APP_H
#define GW_APP_H

#include "core/gw_buf.h"
#include <cjson/cJSON.h>

#include "dataplane/dataplane.h"
#include "graph/graph.h"
#include "runtime/runtime.h"
#include "source/file.h"
#include "store/store.h"

typedef struct {
    const char  *manifests;        /* -f PATH */
    const char  *controller_name;
    const char  *default_address;
    const char  *state_dir;
    const char  *module_path;
    const char  *nginx_bin;
    int          port_offset;
    int          worker_processes;
} gw_app_conf_t;

/* One reconcile's worth of derived state, from one arena. */
typedef struct {
    gw_arena_t   arena;
    gw_graph_t  *graph;
    gw_dp_t     *dp;
    gw_buf_t     http;             /* conf/http.conf */
} gw_plan_t;

/*
 * Scans the source and decodes every document into a fresh store.
 * Malformed documents and objects the API server would refuse are logged
 * with file and line and left out; *nerrors counts them.
 */
int gw_manifests_load(gw_file_source_t *src, gw_store_t *store,
    size_t *nerrors, gw_err_t *err);

int gw_plan_build(gw_plan_t *p, const gw_store_t *store,
    const gw_app_conf_t *conf, gw_err_t *err);
void gw_plan_release(gw_plan_t *p);

/* The controller's state, whatever the source. */
typedef struct {
    const gw_app_conf_t  *conf;
    gw_store_t            store;
    gw_runtime_t          rt;
    cJSON                *status;     /* the latest status List */
    int                   live_ok;    /* the last apply succeeded */
    int                   ever_live;  /* a configuration went live once */
    char                  live_error[GW_ERR_MSG_LEN];
} gw_ctl_t;

int gw_ctl_init(gw_ctl_t *c, const gw_app_conf_t *conf, gw_err_t *err);

/* Stops nginx and frees everything. */
void gw_ctl_release(gw_ctl_t *c);

/*
 * Builds the plan from the store, makes it live unless it already is, and
 * computes the status.  Returns 1 when the status List changed (c->status
 * is then the new one, already logged and written to status.json).
 */
int gw_ctl_reconcile(gw_ctl_t *c);

/* The standalone controller: returns the process exit code. */
int gw_app_run(const gw_app_conf_t *conf);

#endif /* GW_APP_H */
