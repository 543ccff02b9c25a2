/*
 * ngx-gateway: the stream{} data plane model: one nginx stream server per
 * address, port and transport for the TCP, UDP and TLS Passthrough
 * listeners, the upstreams of their routes' backends, weighted splits and,
 * for TLS Passthrough, the SNI map choosing the backend by the
 * ClientHello's server name.  Sorted, so the same graph always gives
 * byte-identical config.
 */

#ifndef GW_DATAPLANE_STREAM_H
#define GW_DATAPLANE_STREAM_H

#include "dataplane/dataplane.h"

/*
 * The upstream a connection goes to when no backend can take it (no
 * valid backendRef, a Service without ready endpoints, an unknown server
 * name): its only server is marked down, so nginx closes the connection.
 */
#define GW_STREAM_REJECT  "gw_stream_reject"

/*
 * Where a connection goes: an nginx expression, either an upstream name
 * or "$var" of a split (built here from validated names, written raw).
 */
typedef struct {
    const char  *hostname;      /* SNI: exact or "*.suffix"; NULL default */
    const char  *route;         /* ns/name, NULL for the default reject */
    const char  *target;
} gw_dp_passthrough_t;

typedef struct {
    const char  *address;
    int          port;
    int          is_v6;
    int          udp;
    int          passthrough;   /* TLS: ssl_preread and an SNI map */
    const char  *gateway;       /* ns/name: the tag of the server */
    const char  *listener;
    const char  *route;         /* TCP, UDP: the route served, or NULL */
    const char  *target;        /* TCP, UDP: where connections go */
    const char  *sni_var;       /* passthrough: the map's variable */
    gw_ptrs_t    snis;          /* passthrough: gw_dp_passthrough_t *,
                                   by hostname, the default last */
    gw_ptrs_t    listeners;     /* gw_glistener_t *, while building */

    /*
     * front: this server is the port's front (dataplane/front.h) and
     * sends connections to the servers behind it; behind: a TLS
     * Passthrough server listening on its front's socket.
     */
    const gw_dp_front_t  *front;
    const gw_dp_front_t  *behind;
} gw_dp_stream_server_t;

typedef struct {
    gw_ptrs_t  servers;         /* gw_dp_stream_server_t *, sorted; a
                                   port's front before what it fronts */
    gw_ptrs_t  upstreams;       /* gw_dp_upstream_t *, sorted by name */
    gw_ptrs_t  splits;          /* gw_dp_split_t * */
    int        reject;          /* GW_STREAM_REJECT is used */
} gw_dp_stream_t;

/*
 * The stream{} model of every listener the graph serves in stream{}
 * (gw_glistener_t.stream), and the fronts of the ports that need one.
 * Empty (no servers) when there is none.
 */
gw_dp_stream_t *gw_dp_stream_build(gw_arena_t *a, const gw_graph_t *g,
    int port_offset);

#endif /* GW_DATAPLANE_STREAM_H */
