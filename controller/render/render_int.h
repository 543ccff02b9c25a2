/*
 * ngx-gateway: the parts of the http{} renderer shared by its files
 * (render.c the root view, render_server.c listens, servers and
 * locations, render_rule.c a rule's body, render_upstream.c upstreams
 * and splits).
 */

#ifndef GW_RENDER_INT_H
#define GW_RENDER_INT_H

#include "render/render.h"
#include "render/tmpl.h"

/*
 * The upstreams, session maps, mirror shares and weighted splits of dp,
 * on root.
 */
void gw_render_upstreams(gw_arena_t *a, gw_view_t *root, const gw_dp_t *dp);

/*
 * Listen l (the index-th of the data plane) with its servers, on root's
 * "listens"; *port_var is set when a redirect needs $gw_redirect_port.
 */
void gw_render_listen(gw_arena_t *a, gw_view_t *root, const gw_dp_listen_t *l,
    size_t index, const gw_render_conf_t *conf, int *port_var);

/* What the rule of location loc does, on v (rule.tmpl, grpc_rule.tmpl). */
void gw_render_rule(gw_arena_t *a, gw_view_t *v, const gw_dp_location_t *loc,
    int *port_var);

#endif /* GW_RENDER_INT_H */
