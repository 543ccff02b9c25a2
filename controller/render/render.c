/*
 * ngx-gateway: view builders: flat, already-validated views of the data
 * plane for the templates.
 */

#include <string.h>

#include "render/proxy.h"
#include "render/render.h"
#include "render/render_int.h"
#include "render/tmpl.h"


int
gw_render_check_path(const char *path, gw_err_t *err)
{
    const char  *p;

    if (path[0] != '/') {
        gw_err_set(err, "path \"%s\" must be absolute", path);
        return GW_ERR;
    }

    for (p = path; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || strchr("/._-+", *p) != NULL))
        {
            gw_err_set(err, "path \"%s\" contains '%c': use a path made of "
                       "letters, digits and / . _ - +", path, *p);
            return GW_ERR;
        }
    }

    /* a unix socket path must fit in sun_path (108 bytes) */
    if (strlen(path) + sizeof("/run/gateway-status.sock") > 100) {
        gw_err_set(err, "path \"%s\" is too long for the unix sockets "
                   "nginx creates below it: use a shorter one", path);
        return GW_ERR;
    }

    return GW_OK;
}


/*
 * A value our module takes in a tag, as a safe token: 1..512 printable
 * ASCII characters without whitespace, quotes, backslash, ; { } $ #.
 * Gateway API names and hostnames always are; a value that is not (a
 * name the API server would have refused) leaves its object untagged
 * rather than failing the whole configuration.
 */
int
gw_render_tag_ok(const char *s)
{
    size_t  n;

    for (n = 0; s[n] != '\0'; n++) {
        if (s[n] <= ' ' || s[n] > '~'
            || strchr("\"'\\;{}$#", s[n]) != NULL)
        {
            return 0;
        }
    }

    return n > 0 && n <= GW_TAG_MAX;
}


/*
 * The series of the module's zone: one per tagged server and location,
 * per tagged upstream and per peer of it (an upstream without endpoints
 * has one, the 503 socket), each about GW_SERIES_BYTES plus its key.
 * Locations of one route rule share a series; counting each is headroom.
 */
size_t
gw_render_zone_size(const gw_dp_t *dp)
{
    size_t                   i, j, k, need, peers;
    const gw_dp_listen_t    *l;
    const gw_dp_server_t    *s;
    const gw_dp_location_t  *loc;
    const gw_dp_upstream_t  *u;

    need = 0;

    for (i = 0; i < dp->listens.n; i++) {
        l = dp->listens.items[i];
        for (j = 0; j < l->servers.n; j++) {
            s = l->servers.items[j];
            need += GW_SERIES_BYTES + strlen(l->gateway)
                    + (s->hostname ? strlen(s->hostname) : 0)
                    + (s->tag.listener ? strlen(s->tag.listener) : 0);
            for (k = 0; k < s->locations.n; k++) {
                loc = s->locations.items[k];
                need += GW_SERIES_BYTES
                        + (loc->route ? strlen(loc->route) : 0) + 20;
            }
            for (k = 0; k < s->named.n; k++) {
                loc = s->named.items[k];
                need += GW_SERIES_BYTES + strlen(loc->route) + 20;
            }
        }
    }

    for (i = 0; i < dp->upstreams.n; i++) {
        u = dp->upstreams.items[i];
        peers = u->nservers > 0 ? u->nservers : 1;
        need += (1 + peers) * (GW_SERIES_BYTES + 2 * strlen(u->service))
                + peers * 64;
    }

    return gw_render_zone_round(need);
}


size_t
gw_render_zone_round(size_t need)
{
    size_t  size;

    /* twice what is needed, in steps that double: a new size is a new
     * zone (the counters restart), so it should rarely change */
    size = GW_ZONE_MIN;
    while (size < 2 * need) {
        size *= 2;
    }

    return size;
}




int
gw_render_http(const gw_dp_t *dp, const gw_render_conf_t *conf,
    gw_buf_t *out, gw_err_t *err)
{
    int          rc, port_var;
    size_t       i;
    gw_arena_t   a;
    gw_view_t   *root;

    gw_arena_init(&a);
    root = gw_view_new(&a);

    gw_view_setf(root, "temp_client_body", "%s/tmp/client_body",
                 conf->state_dir);
    gw_view_setf(root, "temp_proxy", "%s/tmp/proxy", conf->state_dir);
    gw_view_setf(root, "secrets_dir", "%s/" GW_DIR_SECRETS, conf->state_dir);
    gw_view_set(root, "system_ca", GW_SYSTEM_CA_BUNDLE);
    gw_view_setf(root, "temp_fastcgi", "%s/tmp/fastcgi", conf->state_dir);
    gw_view_setf(root, "temp_uwsgi", "%s/tmp/uwsgi", conf->state_dir);
    gw_view_setf(root, "temp_scgi", "%s/tmp/scgi", conf->state_dir);
    gw_view_setf(root, "status_socket", "%s/" GW_FILE_STATUS_SOCK,
                 conf->state_dir);
    gw_view_setf(root, "socket_500", "%s/run/internal-500.sock",
                 conf->state_dir);
    gw_view_setf(root, "socket_503", "%s/run/internal-503.sock",
                 conf->state_dir);
    gw_view_setf(root, "zone_size", "%zum", gw_render_zone_size(dp) >> 20);

    gw_render_upstreams(&a, root, dp);

    for (i = 0; i < dp->joins.n; i++) {
        gw_view_set(gw_view_add(root, "joins"), "join_var",
                    dp->joins.items[i]);
    }

    port_var = 0;

    for (i = 0; i < dp->listens.n; i++) {
        gw_render_listen(&a, root, dp->listens.items[i], i, conf,
                         &port_var);
    }

    gw_view_set_flag(root, "redirect_port", port_var);
    gw_view_set_flag(root, "ws_used", gw_render_proxy_ws_used(dp));

    rc = gw_tmpl_render("http", root, out, err);

    gw_arena_release(&a);

    return rc;
}


int
gw_render_main(const gw_render_conf_t *conf, const char *http_conf,
    const char *stream_conf, gw_buf_t *out, gw_err_t *err)
{
    int          rc;
    gw_arena_t   a;
    gw_view_t   *root;

    gw_arena_init(&a);
    root = gw_view_new(&a);

    gw_view_set(root, "module_path", conf->module_path);
    if (conf->worker_processes > 0) {
        gw_view_set_int(root, "worker_processes", conf->worker_processes);
    } else {
        gw_view_set(root, "worker_processes", "auto");
    }
    gw_view_setf(root, "pid_path", "%s/nginx.pid", conf->state_dir);
    gw_view_setf(root, "error_log", "%s/logs/error.log", conf->state_dir);
    gw_view_setf(root, "access_log", "%s/logs/access.log", conf->state_dir);
    gw_view_set_flag(root, "stdio_logs", conf->stdio_logs);
    gw_view_setf(root, "generation", "%llu",
                 (unsigned long long) conf->generation);
    gw_view_set(root, "http_conf", http_conf);

    if (stream_conf != NULL) {
        gw_view_set(root, "stream_conf", stream_conf);
        gw_view_set(root, "nginx_stream_module", GW_NGINX_STREAM_MODULE);
        gw_view_set(root, "stream_module_path", conf->stream_module_path);
    }

    rc = gw_tmpl_render("main", root, out, err);

    gw_arena_release(&a);

    return rc;
}
