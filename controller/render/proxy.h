/*
 * ngx-gateway: the view of how an HTTPRoute location passes requests on
 * (templates/rule.tmpl): proxy_pass or grpc_pass (h2c), WebSocket
 * upgrades, timeouts, retries and session persistence.
 */

#ifndef GW_RENDER_PROXY_H
#define GW_RENDER_PROXY_H

#include "dataplane/dataplane.h"
#include "render/tmpl.h"

/*
 * Sets on v: "pass" (proxy | grpc, the prefix of its directives),
 * "scheme" (http | grpc) and, when loc has them, the timeouts, the retry
 * directives and the session's response header (session_var,
 * session_header).
 */
void gw_render_proxy(gw_view_t *v, const gw_dp_location_t *loc);

/* Sets "hash" on an upstream's view when it balances by a session key. */
void gw_render_proxy_upstream(gw_view_t *v, const gw_dp_upstream_t *u);

/*
 * The session persistence maps of dp on root (http.tmpl, "sessions"):
 * session_var, session_source, session_name, and for cookies
 * session_cookie_re (written quoted), session_path, session_max_age;
 * session_header for the Header type.
 */
void gw_render_proxy_sessions(gw_view_t *root, const gw_dp_t *dp);

/* 1 when loc passes WebSocket upgrades on (Upgrade, Connection). */
int gw_render_proxy_ws(const gw_dp_location_t *loc);

/* 1 when some location of dp does (http.tmpl's map, "ws_used"). */
int gw_render_proxy_ws_used(const gw_dp_t *dp);

#endif /* GW_RENDER_PROXY_H */
