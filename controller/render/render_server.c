/*
 * ngx-gateway: the listens of the http{} data plane, their servers and
 * locations (http.tmpl).
 */

#include "render/mirror.h"
#include "render/render.h"
#include "render/render_int.h"


/*
 * A location: the rule it serves, or a dispatcher, whose gateway_match
 * fields are written as quoted literals ({{%field}}: our module never
 * reads variables, '$' is a '$').
 */
static void
gw_render_location(gw_arena_t *a, gw_view_t *sv, const gw_dp_location_t *loc,
    int *port_var)
{
    size_t                    i, j;
    gw_view_t                *v, *cv;
    const gw_dp_candidate_t  *c;

    v = gw_view_add(sv, "locations");
    gw_view_set_flag(v, "exact", loc->exact);
    gw_view_set(v, "path", loc->path);

    if (loc->ncandidates == 0) {
        gw_render_rule(a, v, loc, port_var);
        return;
    }

    gw_view_set_flag(v, "dispatch", 1);

    for (i = 0; i < loc->ncandidates; i++) {
        c = loc->candidates[i];
        cv = gw_view_add(v, "candidates");
        gw_view_set(cv, "target", c->target);
        for (j = 0; j < c->nfields; j++) {
            gw_view_set(gw_view_add(cv, "fields"), "field", c->fields[j]);
        }
    }
}


/*
 * TLS on an HTTPS listen: the SNI map (several listeners: SNI's listener,
 * see dataplane/tls.c) and its variable, $gw_sni_<index>.
 */
static void
gw_render_sni(gw_view_t *v, const gw_dp_listen_t *l, size_t index)
{
    size_t              i;
    gw_view_t          *mv;
    const gw_dp_sni_t  *e;

    gw_view_set_flag(v, "ssl", 1);

    if (l->sni_default == NULL) {
        return;
    }

    mv = gw_view_add(v, "sni_map");
    gw_view_setf(mv, "sni_var", "gw_sni_%zu", index);
    gw_view_set(mv, "sni_default", l->sni_default);

    for (i = 0; i < l->sni.n; i++) {
        e = l->sni.items[i];
        mv = gw_view_add(v, "sni_names");
        gw_view_set(mv, "sni_hostname", e->hostname);
        gw_view_set(mv, "sni_listener", e->listener);
    }
}


/* The named location gateway_match sends a candidate's requests to. */
static void
gw_render_named(gw_arena_t *a, gw_view_t *sv, const gw_dp_location_t *loc,
    int *port_var)
{
    gw_view_t  *v;

    v = gw_view_add(sv, "named");
    gw_view_set(v, "path", loc->path);
    gw_view_set_int(v, "match", (long long) loc->match);

    gw_render_rule(a, v, loc, port_var);
}


/* A server's certificates, and the check of SNI's listener against its. */
static void
gw_render_server_tls(gw_view_t *sv, const gw_dp_listen_t *l,
    const gw_dp_server_t *s, size_t index, const gw_render_conf_t *conf)
{
    size_t               i;
    gw_view_t           *cv;
    const gw_dp_cert_t  *c;

    for (i = 0; i < s->certs.n; i++) {
        c = s->certs.items[i];
        cv = gw_view_add(sv, "certs");
        gw_view_set(cv, "cert_secret", c->secret);
        gw_view_setf(cv, "cert_path", "%s/" GW_DIR_SECRETS "/%s",
                     conf->state_dir, c->file);
    }

    if (s->verify != GW_VERIFY_NONE) {
        cv = gw_view_add(sv, "client_ca");
        gw_view_set(cv, "client_ca_what", s->client_ca->secret);
        gw_view_setf(cv, "client_ca_path", "%s/" GW_DIR_SECRETS "/%s",
                     conf->state_dir, s->client_ca->file);
        gw_view_set_flag(sv, "client_require",
                         s->verify == GW_VERIFY_REQUIRE);
    }

    if (l->sni_default != NULL) {
        cv = gw_view_add(sv, "sni_check");
        gw_view_setf(cv, "sni_var", "gw_sni_%zu", index);
        gw_view_set(cv, "sni_listener",
                    s->listener != NULL ? s->listener->spec->name : "");
    }
}


/* 1 when server s serves GRPCRoutes. */
static int
gw_render_server_grpc(const gw_dp_server_t *s)
{
    size_t                   i;
    const gw_dp_location_t  *loc;

    for (i = 0; i < s->locations.n; i++) {
        loc = s->locations.items[i];
        if (loc->ncandidates == 0 && loc->grpc) {
            return 1;
        }
    }

    for (i = 0; i < s->named.n; i++) {
        loc = s->named.items[i];
        if (loc->grpc) {
            return 1;
        }
    }

    return 0;
}


void
gw_render_listen(gw_arena_t *a, gw_view_t *root, const gw_dp_listen_t *l,
    size_t index, const gw_render_conf_t *conf, int *port_var)
{
    size_t                 i, j;
    gw_view_t             *v, *sv;
    const gw_dp_server_t  *s;

    v = gw_view_add(root, "listens");
    gw_view_set(v, "gateway", l->gateway);

    if (l->front == NULL) {
        gw_view_set(v, "listen", gw_arena_printf(a, l->is_v6 ? "[%s]:%d"
                                                             : "%s:%d",
                                                 l->address, l->port));
        gw_view_set_flag(v, "http2", l->http2);

    } else {
        /* behind the port's front (dataplane/front.h): its sockets */
        gw_view_set(v, "listen",
                    gw_dp_front_sock(a, conf->state_dir, l->front,
                                     l->ssl ? GW_FRONT_HTTPS
                                            : GW_FRONT_HTTP));
        gw_view_set_flag(v, "http2", l->http2 && l->ssl);
        gw_view_set_flag(v, "proxy_protocol", 1);
        if (l->front->h2c && !l->ssl) {
            gw_view_set(v, "listen_h2c",
                        gw_dp_front_sock(a, conf->state_dir, l->front,
                                         GW_FRONT_H2C));
        }
    }

    if (l->ssl) {
        gw_render_sni(v, l, index);
        gw_view_set_flag(root, "ssl_used", 1);
    }

    /* a redirect's Location takes the listener's port (rule.tmpl) */
    gw_view_set_int(v, "listen_port", l->port);

    for (i = 0; i < l->servers.n; i++) {
        s = l->servers.items[i];
        sv = gw_view_add(v, "servers");
        gw_view_set_flag(sv, "catch_all", s->hostname == NULL);
        if (s->hostname != NULL) {
            gw_view_set(sv, "hostname", s->hostname);
        }
        gw_view_set_flag(sv, "has_root", s->has_root);

        /* a gRPC call no rule takes: UNIMPLEMENTED, as a gRPC status */
        gw_view_set_flag(sv, "grpc_errors", gw_render_server_grpc(s));

        if (l->ssl) {
            gw_render_server_tls(sv, l, s, index, conf);
        }

        if (s->tag.gateway != NULL && gw_render_tag_ok(s->tag.gateway)
            && gw_render_tag_ok(s->tag.listener)
            && (s->hostname == NULL || gw_render_tag_ok(s->hostname)))
        {
            gw_view_set(sv, "tag_gateway", s->tag.gateway);
            gw_view_set(sv, "tag_listener", s->tag.listener);
            if (s->hostname != NULL) {
                gw_view_set(sv, "tag_hostname", s->hostname);
            }
        }

        for (j = 0; j < s->locations.n; j++) {
            gw_render_location(a, sv, s->locations.items[j], port_var);
        }

        for (j = 0; j < s->named.n; j++) {
            gw_render_named(a, sv, s->named.items[j], port_var);
        }

        for (j = 0; j < s->mirrors.n; j++) {
            gw_render_mirror(a, sv, s->mirrors.items[j]);
        }
    }
}
