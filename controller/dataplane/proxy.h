/*
 * ngx-gateway: how a location passes requests to its backends, beyond the
 * upstream: the protocol (HTTP/1.1 with proxy_pass, HTTP/2 cleartext with
 * grpc_pass, WebSocket upgrades), timeouts and retries (dataplane/proxy.c).
 * Every string is built here from numbers: nothing comes from a resource.
 */

#ifndef GW_DATAPLANE_PROXY_H
#define GW_DATAPLANE_PROXY_H

typedef struct {
    int          h2c;               /* grpc_pass grpc://: HTTP/2 cleartext */
    int          ws;                /* pass Upgrade and Connection on */
    const char  *connect_timeout;   /* "500ms"; NULL: nginx's default */
    const char  *send_timeout;
    const char  *read_timeout;
    const char  *next_upstream;     /* "error timeout http_500 ...", NULL */
    int          tries;             /* next_upstream_tries; 0: not set */
    const char  *next_timeout;      /* next_upstream_timeout, NULL */
} gw_dp_proxy_t;

#endif /* GW_DATAPLANE_PROXY_H */
