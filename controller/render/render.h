/*
 * ngx-gateway: rendering the data plane model into nginx configuration
 * with the templates in templates/.
 */

#ifndef GW_RENDER_H
#define GW_RENDER_H

#include "core/gw_buf.h"
#include "dataplane/dataplane.h"
#include "render/tmpl.h"

typedef struct {
    const char  *state_dir;       /* absolute; validated by gw_render_path */
    const char  *module_path;
    const char  *stream_module_path;  /* ngx_stream_gateway_module.so */
    uint64_t     generation;
    int          worker_processes;  /* 0: auto */
    int          stdio_logs;      /* also log to stdout/stderr (nginx in
                                     its own container: kubectl logs) */
} gw_render_conf_t;

/* File names inside the state directory. */
#define GW_FILE_MAIN     "nginx.conf"
#define GW_FILE_HTTP     "conf/http.conf"
#define GW_FILE_STREAM   "conf/stream.conf"
#define GW_FILE_STATUS_SOCK  "run/gateway-status.sock"
#define GW_DIR_SECRETS   "secrets"       /* certificate files, 0700 */

/* Our module's limit on a tag value, and the zone of its counters. */
#define GW_TAG_MAX       512
#define GW_SERIES_BYTES  256
#define GW_ZONE_MIN      (1024 * 1024)

/*
 * The size of the module's zone (gateway_status_zone) for dp: at least
 * twice what its series need, a power of two from 1m up.
 */
size_t gw_render_zone_size(const gw_dp_t *dp);

/* A zone size for need bytes of series: twice that, a doubling of 1m. */
size_t gw_render_zone_round(size_t need);

/* Appends the split_clients view of s to root's "splits" (http, stream). */
void gw_render_split(gw_arena_t *a, gw_view_t *root, const gw_dp_split_t *s);

/*
 * The request headers location loc sends (rule.tmpl's "request_headers"
 * and "add_values" on v): ours, then its RequestHeaderModifier's.
 */
void gw_render_request_headers(gw_arena_t *a, gw_view_t *v,
    const gw_dp_location_t *loc);

/*
 * What location loc sends as request header name when its modifier is m
 * (ours, then m's): *expr an nginx expression, written raw, or *str a
 * string, written with {{%...}} ('$' only in "${gw_join_...}": m's
 * values have none).  A header neither touches: the client's ($http_).
 */
void gw_render_request_header_value(gw_arena_t *a,
    const gw_dp_location_t *loc, const gw_dp_header_mod_t *m,
    const char *name, const char **expr, const char **str);

/* The http{} data plane (conf/http.conf). */
int gw_render_http(const gw_dp_t *dp, const gw_render_conf_t *conf,
    gw_buf_t *out, gw_err_t *err);

/*
 * Debian's stream module: nginx.conf loads it before our stream module
 * when there is a stream{} block.
 */
#define GW_NGINX_STREAM_MODULE  "/usr/lib/nginx/modules/ngx_stream_module.so"

/*
 * The main nginx.conf, including http_conf (a path) inside http{} and,
 * unless it is NULL, stream_conf inside stream{} (with the stream modules
 * loaded).
 */
int gw_render_main(const gw_render_conf_t *conf, const char *http_conf,
    const char *stream_conf, gw_buf_t *out, gw_err_t *err);

/* 1 when s can be written as a value of our modules' tags. */
int gw_render_tag_ok(const char *s);

/*
 * A path we write into nginx configuration: absolute, only characters
 * that need no quoting, and short enough for a unix socket below it.
 */
int gw_render_check_path(const char *path, gw_err_t *err);

#endif /* GW_RENDER_H */
