/*
 * ngx-gateway: the view of an HTTPRoute location's protocol, timeouts,
 * retries (see dataplane/proxy.c for what they mean to nginx) and session
 * persistence (dataplane/session.c).
 */

#include "render/proxy.h"


void
gw_render_proxy(gw_view_t *v, const gw_dp_location_t *loc)
{
    const gw_dp_proxy_t  *p;

    p = loc->proxy;

    if (p != NULL && p->h2c) {
        gw_view_set(v, "pass", "grpc");
        gw_view_set(v, "scheme", "grpc");
    } else {
        gw_view_set(v, "pass", "proxy");
        gw_view_set(v, "scheme", "http");
    }

    if (p == NULL) {
        return;
    }

    if (p->connect_timeout != NULL) {
        gw_view_set(v, "connect_timeout", p->connect_timeout);
        gw_view_set(v, "send_timeout", p->send_timeout);
        gw_view_set(v, "read_timeout", p->read_timeout);
    }

    if (p->next_upstream != NULL) {
        gw_view_set(v, "next_upstream", p->next_upstream);
        gw_view_set_int(v, "next_tries", p->tries);
    }

    if (p->next_timeout != NULL) {
        gw_view_set(v, "next_timeout", p->next_timeout);
    }

    /* the first reply starts the session: "add_header NAME $<var>_set" */
    if (p->session != NULL) {
        gw_view_set(v, "session_var", p->session->var);
        gw_view_set(v, "session_header",
                    p->session->header ? p->session->name : "Set-Cookie");
    }
}


void
gw_render_proxy_upstream(gw_view_t *v, const gw_dp_upstream_t *u)
{
    if (u->hash != NULL) {
        gw_view_set(v, "hash", u->hash);
    }
}


void
gw_render_proxy_sessions(gw_view_t *root, const gw_dp_t *dp)
{
    size_t                  i;
    gw_view_t              *v;
    const gw_dp_session_t  *s;

    for (i = 0; i < dp->sessions.n; i++) {
        s = dp->sessions.items[i];

        v = gw_view_add(root, "sessions");
        gw_view_set(v, "session_var", s->var);
        gw_view_set(v, "session_source", s->source);
        gw_view_set(v, "session_name", s->name);

        if (s->header) {
            gw_view_set_flag(v, "session_header", 1);
            continue;
        }

        gw_view_set(v, "session_cookie_re", s->cookie_re);
        gw_view_set(v, "session_path", s->path);
        if (s->max_age >= 0) {
            gw_view_set_int(v, "session_max_age", s->max_age);
        }
    }
}


int
gw_render_proxy_ws(const gw_dp_location_t *loc)
{
    return loc->proxy != NULL && loc->proxy->ws;
}


int
gw_render_proxy_ws_used(const gw_dp_t *dp)
{
    size_t                   i, j, k;
    const gw_dp_listen_t    *l;
    const gw_dp_server_t    *s;

    for (i = 0; i < dp->listens.n; i++) {
        l = dp->listens.items[i];

        for (j = 0; j < l->servers.n; j++) {
            s = l->servers.items[j];

            for (k = 0; k < s->locations.n; k++) {
                if (gw_render_proxy_ws(s->locations.items[k])) {
                    return 1;
                }
            }

            for (k = 0; k < s->named.n; k++) {
                if (gw_render_proxy_ws(s->named.items[k])) {
                    return 1;
                }
            }
        }
    }

    return 0;
}
