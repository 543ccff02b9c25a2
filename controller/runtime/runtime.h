/*
 * ngx-gateway: the runtime: writes the configuration, checks it with
 * `nginx -t`, starts or reloads nginx, and confirms through our module
 * that the new generation is live.  On any failure the last good
 * configuration is restored and keeps serving, and the caller gets
 * nginx's own error line.
 */

#ifndef GW_RUNTIME_H
#define GW_RUNTIME_H

#include <sys/types.h>

#include <cjson/cJSON.h>

#include "core/gw_core.h"
#include "dataplane/dataplane.h"

typedef struct {
    const char  *state_dir;
    const char  *nginx_bin;
    const char  *module_path;
    const char  *stream_module_path;  /* loaded when there is a stream{} */
    int          worker_processes;
    pid_t        pid;              /* the nginx master we started */
    int          external;         /* nginx runs beside us (its own
                                      container): signal it, never start
                                      or stop it */
    int          stdio_logs;       /* nginx also logs to its stdout and
                                      stderr (kubectl logs) */
    uint64_t     generation;       /* live generation, 0 = none yet */
    char        *live_http;        /* last good conf/http.conf */
    char        *live_stream;      /* last good conf/stream.conf, NULL
                                      when it had no stream{} */
    char        *live_certs;       /* its certificate files, "\nA\nB\n" */
    double       last_reload_ms;   /* signal to confirmed, last reload */
} gw_runtime_t;

int gw_runtime_init(gw_runtime_t *rt, const char *state_dir,
    const char *nginx_bin, const char *module_path, gw_err_t *err);
void gw_runtime_release(gw_runtime_t *rt);

/* The configuration of one generation: the files nginx.conf includes. */
typedef struct {
    const char  *http;             /* conf/http.conf */
    const char  *stream;           /* conf/stream.conf; NULL: no stream{} */
    const gw_ptrs_t  *certs;       /* gw_dp_cert_t *: the certificate files
                                      http.conf names, written below
                                      STATE_DIR/secrets/ before nginx tests
                                      them; NULL: none */
} gw_runtime_confs_t;

/*
 * Makes the files of confs live, as one transaction: every candidate (and
 * the certificate files) is tested together with `nginx -t`, then swapped
 * in, then nginx reloads; certificate files no longer needed are removed.
 * GW_OK once the module reports the new generation; GW_ERR with nginx's
 * message otherwise (the previous configuration, all of its files, stays
 * live and on disk).
 */
int gw_runtime_apply_confs(gw_runtime_t *rt, const gw_runtime_confs_t *confs,
    gw_err_t *err);

/* 1 when confs is what nginx runs now. */
int gw_runtime_confs_live(const gw_runtime_t *rt,
    const gw_runtime_confs_t *confs);

/* The same for an http{} only configuration. */
int gw_runtime_apply(gw_runtime_t *rt, const char *http_conf,
    gw_err_t *err);
int gw_runtime_is_live(const gw_runtime_t *rt, const char *http_conf);

/* Reaps nginx if it exited; returns 1 when it did (pid is then 0). */
int gw_runtime_reap(gw_runtime_t *rt);

/* Stops nginx gracefully (SIGQUIT), then SIGKILL after a few seconds. */
void gw_runtime_stop(gw_runtime_t *rt);

/*
 * Fetches the module's report (the JSON document of gateway_status, see
 * nginx-module/ngx_http_gateway_report.c) from the status socket below
 * state_dir, within a second.  On GW_OK *report is a JSON object the
 * caller frees with cJSON_Delete(); on GW_ERR it is NULL and err says why
 * (nginx not answering, not HTTP 200, not a JSON object).
 */
int gw_runtime_report(const char *state_dir, cJSON **report,
    gw_err_t *err);

/* Asks the module for the live generation; GW_ERR if it does not answer. */
int gw_runtime_query(const char *state_dir, uint64_t *generation,
    gw_err_t *err);

#endif /* GW_RUNTIME_H */
