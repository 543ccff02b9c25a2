/*
 * ngx-gateway: the view of how an HTTPRoute location passes requests on
 * (templates/rule.tmpl): proxy_pass or grpc_pass (h2c), WebSocket
 * upgrades, timeouts and retries.
 */

#ifndef GW_RENDER_PROXY_H
#define GW_RENDER_PROXY_H

#include "dataplane/dataplane.h"
#include "render/tmpl.h"

/*
 * Sets on v: "pass" (proxy | grpc, the prefix of its directives),
 * "scheme" (http | grpc) and, when loc has them, the timeouts and the
 * retry directives.
 */
void gw_render_proxy(gw_view_t *v, const gw_dp_location_t *loc);

/* 1 when loc passes WebSocket upgrades on (Upgrade, Connection). */
int gw_render_proxy_ws(const gw_dp_location_t *loc);

/* 1 when some location of dp does (http.tmpl's map, "ws_used"). */
int gw_render_proxy_ws_used(const gw_dp_t *dp);

#endif /* GW_RENDER_PROXY_H */
