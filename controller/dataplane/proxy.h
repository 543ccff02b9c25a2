/*
 * ngx-gateway: how a location passes requests to its backends, beyond the
 * upstream: the protocol (HTTP/1.1 with proxy_pass, HTTP/2 cleartext with
 * grpc_pass, WebSocket upgrades), timeouts and retries (dataplane/proxy.c),
 * session persistence (dataplane/session.c).  Every string is built from
 * numbers, except the session's names and path, which the graph and
 * session.c checked.
 */

#ifndef GW_DATAPLANE_PROXY_H
#define GW_DATAPLANE_PROXY_H

#include <stddef.h>

/*
 * The session persistence of one route rule: three maps at http level
 * (templates/http.tmpl) and the hash key of the rule's upstreams.
 *
 *   $<var>       Cookie: the value of the session cookie (a map on
 *                $http_cookie with cookie_re), else ""
 *   $<var>_key   what the client sent, else $request_id: the key of
 *                "hash ... consistent" in the rule's upstreams and of its
 *                weighted split
 *   $<var>_set   the response header that starts a session, "" (not
 *                sent) when the client sent one
 */
typedef struct {
    const void  *rule;          /* the gw_grule_t it is made for */
    const char  *var;           /* "gw_sp_N", without '$' */
    int          header;        /* type Header (else Cookie) */
    const char  *name;          /* the cookie or header name */
    const char  *source;        /* variable the client's value is in:
                                   var (Cookie) or http_x_... (Header) */
    const char  *cookie_re;     /* Cookie: "~regex" on $http_cookie, its
                                   first capture the value */
    const char  *path;          /* Cookie: Path attribute */
    long long    max_age;       /* Cookie: Max-Age, -1: none (Session) */
} gw_dp_session_t;

typedef struct {
    int          h2c;               /* grpc_pass grpc://: HTTP/2 cleartext */
    int          ws;                /* pass Upgrade and Connection on */
    const char  *connect_timeout;   /* "500ms"; NULL: nginx's default */
    const char  *send_timeout;
    const char  *read_timeout;
    const char  *next_upstream;     /* "error timeout http_500 ...", NULL */
    int          tries;             /* next_upstream_tries; 0: not set */
    const char  *next_timeout;      /* next_upstream_timeout, NULL */
    const gw_dp_session_t *session; /* sessionPersistence, or NULL */
} gw_dp_proxy_t;

#endif /* GW_DATAPLANE_PROXY_H */
