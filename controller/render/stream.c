/*
 * ngx-gateway: the view of the stream{} data plane for
 * templates/stream.tmpl.
 */

#include <string.h>

#include "render/stream.h"
#include "render/tmpl.h"


size_t
gw_render_stream_zone_size(const gw_dp_stream_t *s)
{
    size_t                        i, need, peers;
    const gw_dp_upstream_t       *u;
    const gw_dp_stream_server_t  *sv;

    need = 0;

    for (i = 0; i < s->servers.n; i++) {
        sv = s->servers.items[i];
        need += GW_SERIES_BYTES + strlen(sv->gateway) + strlen(sv->listener)
                + (sv->route ? strlen(sv->route) : 0);
    }

    for (i = 0; i < s->upstreams.n; i++) {
        u = s->upstreams.items[i];
        peers = u->nservers > 0 ? u->nservers : 1;
        need += (1 + peers) * (GW_SERIES_BYTES + 2 * strlen(u->service))
                + peers * 64;
    }

    /* as for http{}: a new size is a new zone, so it grows in doublings */
    return gw_render_zone_round(need);
}


/*
 * A key of the SNI map: a validated hostname, "default" for the default,
 * and a hostname that is one of map's own parameters escaped with '\'.
 */
static const char *
gw_render_sni_key(gw_arena_t *a, const char *hostname)
{
    size_t              i;
    static const char  *params[] = {
        "default", "hostnames", "include", "volatile"
    };

    if (hostname == NULL) {
        return "default";
    }

    for (i = 0; i < gw_countof(params); i++) {
        if (strcmp(hostname, params[i]) == 0) {
            return gw_arena_printf(a, "\\%s", hostname);
        }
    }

    return hostname;
}


/* An upstream of a front: a server behind it, on the front's socket. */
static void
gw_render_front_upstream(gw_arena_t *a, gw_view_t *v, const char *state_dir,
    const gw_dp_front_t *f, const char *server)
{
    gw_view_t  *uv;

    uv = gw_view_add(v, "front_upstreams");
    gw_view_setf(uv, "name", "gw_front_%zu_%s", f->index, server);
    gw_view_set(uv, "address", gw_dp_front_sock(a, state_dir, f, server));
}


/*
 * A port's front: ssl_preread and the server names of its listeners, or
 * our module's gateway_preface, choose the server behind it.
 */
static void
gw_render_front(gw_arena_t *a, gw_view_t *v, const char *state_dir,
    const gw_dp_front_t *f)
{
    size_t                    i;
    gw_view_t                *kv;
    const gw_dp_front_sni_t  *e;

    gw_view_set_flag(v, "front", 1);
    gw_view_setf(v, "front_var", "gw_front_%zu", f->index);

    if (f->h2c) {
        gw_view_set_flag(v, "front_h2c", 1);
        gw_view_set(v, "front_source", "$gateway_preface");
        gw_render_front_upstream(a, v, state_dir, f, GW_FRONT_HTTP);
        gw_render_front_upstream(a, v, state_dir, f, GW_FRONT_H2C);

        kv = gw_view_add(v, "front_keys");
        gw_view_set(kv, "key", "h2");
        gw_view_setf(kv, "target", "gw_front_%zu_" GW_FRONT_H2C, f->index);
        kv = gw_view_add(v, "front_keys");
        gw_view_set(kv, "key", "default");
        gw_view_setf(kv, "target", "gw_front_%zu_" GW_FRONT_HTTP, f->index);
        return;
    }

    gw_view_set_flag(v, "front_tls", 1);
    gw_view_set_flag(v, "front_hostnames", 1);
    gw_view_set(v, "front_source", "$ssl_preread_server_name");
    if (f->https) {
        gw_render_front_upstream(a, v, state_dir, f, GW_FRONT_HTTPS);
    }
    if (f->passthrough) {
        gw_render_front_upstream(a, v, state_dir, f, GW_FRONT_TLS);
    }
    if (f->terminate) {
        gw_render_front_upstream(a, v, state_dir, f, GW_FRONT_TERM);
    }

    for (i = 0; i < f->snis.n; i++) {
        e = f->snis.items[i];
        kv = gw_view_add(v, "front_keys");
        gw_view_set(kv, "key", gw_render_sni_key(a, e->hostname));
        gw_view_setf(kv, "target", "gw_front_%zu_%s", f->index, e->server);
    }
}


/* A TLS Terminate server's certificates, or the map that picks one. */
static void
gw_render_stream_certs(gw_arena_t *a, gw_view_t *v,
    const gw_dp_stream_server_t *sv, const gw_render_conf_t *conf)
{
    size_t                      i;
    gw_view_t                  *cv;
    const gw_dp_cert_t         *c;
    const gw_dp_passthrough_t  *e;

    gw_view_set_flag(v, "terminate", 1);

    if (sv->verify != GW_VERIFY_NONE) {
        cv = gw_view_add(v, "client_ca");
        gw_view_set(cv, "client_ca_what", sv->client_ca->secret);
        gw_view_setf(cv, "client_ca_path", "%s/" GW_DIR_SECRETS "/%s",
                     conf->state_dir, sv->client_ca->file);
        gw_view_set(cv, "client_verify", sv->verify == GW_VERIFY_REQUIRE
                                         ? "on" : "optional_no_ca");
    }

    for (i = 0; i < sv->certs.n; i++) {
        c = sv->certs.items[i];
        cv = gw_view_add(v, "certs");
        gw_view_set(cv, "cert_secret", c->secret);
        gw_view_setf(cv, "cert_path", "%s/" GW_DIR_SECRETS "/%s",
                     conf->state_dir, c->file);
    }

    if (sv->cert_var == NULL) {
        return;
    }

    gw_view_set(v, "cert_var", sv->cert_var);

    for (i = 0; i < sv->cert_snis.n; i++) {
        e = sv->cert_snis.items[i];
        cv = gw_view_add(v, "cert_snis");
        gw_view_set(cv, "key", gw_render_sni_key(a, e->hostname));
        gw_view_setf(cv, "cert_path", "%s/" GW_DIR_SECRETS "/%s",
                     conf->state_dir, e->target);
    }
}


static void
gw_render_stream_server(gw_arena_t *a, gw_view_t *root,
    const gw_dp_stream_server_t *sv, const gw_render_conf_t *conf)
{
    size_t              i;
    gw_view_t          *v, *ev;
    const gw_dp_passthrough_t  *e;

    v = gw_view_add(root, "servers");
    gw_view_set(v, "gateway", sv->gateway);

    if (sv->behind != NULL) {
        gw_view_set(v, "listen", gw_dp_front_sock(a, conf->state_dir,
                                                  sv->behind,
                                                  sv->terminate
                                                  ? GW_FRONT_TERM
                                                  : GW_FRONT_TLS));
        gw_view_set_flag(v, "proxy_protocol", 1);
    } else {
        gw_view_set(v, "listen", gw_arena_printf(a, sv->is_v6 ? "[%s]:%d"
                                                              : "%s:%d",
                                                 sv->address, sv->port));
    }

    if (sv->front != NULL) {
        gw_render_front(a, v, conf->state_dir, sv->front);
        return;
    }

    gw_view_set(v, "listener", sv->listener);
    gw_view_set_flag(v, "udp", sv->udp);
    gw_view_set_flag(v, "passthrough", sv->passthrough);
    gw_view_set_flag(v, "sni", sv->passthrough || sv->terminate);
    gw_view_set_flag(v, "plain", !sv->passthrough && !sv->terminate);

    if (gw_render_tag_ok(sv->gateway) && gw_render_tag_ok(sv->listener)) {
        gw_view_set(v, "tag_gateway", sv->gateway);
        gw_view_set(v, "tag_listener", sv->listener);
        if (sv->route != NULL && gw_render_tag_ok(sv->route)) {
            gw_view_set(v, "tag_route", sv->route);
        }
    }

    if (!sv->passthrough && !sv->terminate) {
        if (sv->route != NULL) {
            gw_view_set(v, "route", sv->route);
        }
        gw_view_set(v, "target", sv->target);
        return;
    }

    if (sv->terminate) {
        gw_render_stream_certs(a, v, sv, conf);
    }

    gw_view_set(v, "sni_var", sv->sni_var);
    gw_view_set(v, "sni_source", sv->terminate ? "$ssl_server_name"
                                               : "$ssl_preread_server_name");

    for (i = 0; i < sv->snis.n; i++) {
        e = sv->snis.items[i];
        ev = gw_view_add(v, "snis");
        gw_view_set(ev, "key", gw_render_sni_key(a, e->hostname));
        gw_view_set(ev, "target", e->target);
    }
}


int
gw_render_stream(const gw_dp_stream_t *s, const gw_render_conf_t *conf,
    gw_buf_t *out, gw_err_t *err)
{
    int                      rc;
    size_t                   i, j;
    gw_arena_t               a;
    gw_view_t               *root, *v;
    const gw_dp_upstream_t  *u;

    gw_arena_init(&a);
    root = gw_view_new(&a);

    gw_view_setf(root, "access_log", "%s/logs/stream-access.log",
                 conf->state_dir);
    gw_view_setf(root, "zone_size", "%zum",
                 gw_render_stream_zone_size(s) >> 20);
    gw_view_set_flag(root, "reject", s->reject);

    for (i = 0; i < s->upstreams.n; i++) {
        u = s->upstreams.items[i];
        v = gw_view_add(root, "upstreams");
        gw_view_set(v, "name", u->name);
        gw_view_set(v, "service", u->service);
        if (gw_render_tag_ok(u->service)) {
            gw_view_set(v, "backend_tag", u->service);
        }
        for (j = 0; j < u->nservers; j++) {
            gw_view_set(gw_view_add(v, "servers"), "address", u->servers[j]);
        }
    }

    for (i = 0; i < s->splits.n; i++) {
        gw_render_split(&a, root, s->splits.items[i]);
    }

    for (i = 0; i < s->servers.n; i++) {
        gw_render_stream_server(&a, root, s->servers.items[i], conf);
    }

    rc = gw_tmpl_render("stream", root, out, err);

    gw_arena_release(&a);

    return rc;
}
