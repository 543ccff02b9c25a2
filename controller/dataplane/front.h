/*
 * ngx-gateway: port fronts.  A port whose listeners nginx serves in
 * different places (HTTPS in http{}, TLS Terminate and TLS Passthrough in
 * stream{}: two or three of them on one port),
 * or in one place that cannot tell them apart (HTTP/1.1 beside h2c on a
 * plain HTTP port: nginx 1.22's "listen ... http2" is HTTP/2 only), gets
 * a front: a stream{} server owns the TCP port and sends each connection,
 * by the ClientHello's server name or by the HTTP/2 preface, to the
 * server that serves it, which listens on a unix socket below the state
 * directory with proxy_protocol, so the client's address is kept.
 *
 * The fronts are a pure function of the graph: the http{} and the
 * stream{} builders both ask for them and agree on the sockets.
 */

#ifndef GW_DATAPLANE_FRONT_H
#define GW_DATAPLANE_FRONT_H

#include "graph/graph.h"

/* The servers behind a front, named in their sockets. */
#define GW_FRONT_HTTPS   "https"     /* http{}: HTTPS listeners */
#define GW_FRONT_TLS     "tls"       /* stream{}: TLS Passthrough */
#define GW_FRONT_TERM    "tlsterm"   /* stream{}: TLS Terminate */
#define GW_FRONT_HTTP    "http"      /* http{}: HTTP/1.x */
#define GW_FRONT_H2C     "h2c"       /* http{}: HTTP/2, prior knowledge */

/* A front's socket: STATE_DIR/run/front-<index>-<server>.sock. */
#define GW_FRONT_SOCK    "run/front-%zu-%s.sock"

/* Where a server name goes: a listener hostname and its server. */
typedef struct {
    const char  *hostname;      /* exact or "*.suffix"; NULL: default */
    const char  *server;        /* GW_FRONT_HTTPS, _TLS or _TERM */
} gw_dp_front_sni_t;

typedef struct {
    const char  *address;
    int          port;          /* with the port offset */
    int          is_v6;
    int          tls;           /* TLS listeners of two kinds: by SNI */
    int          https;         /* tls: the servers behind it */
    int          passthrough;
    int          terminate;
    int          h2c;           /* HTTP with GRPCRoutes: by preface */
    size_t       index;         /* of its sockets */
    const char  *gateway;       /* ns/name */
    gw_ptrs_t    snis;          /* tls: gw_dp_front_sni_t *, sorted by
                                   hostname, the default last */
} gw_dp_front_t;

/*
 * The fronts the graph's accepted listeners need, gw_dp_front_t *, sorted
 * by address and port (index is the position).
 */
gw_ptrs_t *gw_dp_fronts(gw_arena_t *a, const gw_graph_t *g,
    int port_offset);

/* The front of address and port (with the offset), or NULL. */
const gw_dp_front_t *gw_dp_front_find(const gw_ptrs_t *fronts,
    const char *address, int port);

/* "unix:STATE_DIR/run/front-<index>-<server>.sock" for nginx's listen. */
const char *gw_dp_front_sock(gw_arena_t *a, const char *state_dir,
    const gw_dp_front_t *f, const char *server);

#endif /* GW_DATAPLANE_FRONT_H */
