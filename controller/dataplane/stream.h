/*
 * ngx-gateway: the stream{} data plane model: one nginx stream server per
 * address, port and transport for the TCP, UDP and TLS listeners (TLS
 * Passthrough and TLS Terminate apart), the upstreams of their routes'
 * backends, weighted splits and, for TLS, the SNI map choosing the
 * backend by the client's server name; for TLS Terminate the listeners'
 * certificates.  Sorted, so the same graph always gives
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
    int          terminate;     /* TLS: nginx terminates, an SNI map */
    const char  *gateway;       /* ns/name: the tag of the server */
    const char  *listener;
    const char  *route;         /* TCP, UDP: the route served, or NULL */
    const char  *target;        /* TCP, UDP: where connections go */
    const char  *sni_var;       /* TLS: the map's variable */
    gw_ptrs_t    snis;          /* TLS: gw_dp_passthrough_t *,
                                   by hostname, the default last */

    /*
     * terminate: the certificates (gw_dp_cert_t *) of its one listener;
     * with several listeners, cert_var names a map from the server name
     * to the first certificate of its listener (cert_snis, hostname and
     * target the file), loaded at the handshake.
     */
    gw_ptrs_t    certs;
    const char  *cert_var;
    gw_ptrs_t    cert_snis;     /* gw_dp_passthrough_t *, default last */
    gw_verify_e  verify;        /* client certificates (the port's) */
    gw_dp_cert_t *client_ca;    /* their CA bundle (verify != NONE) */
    gw_ptrs_t    listeners;     /* gw_glistener_t *, while building */

    /*
     * front: this server is the port's front (dataplane/front.h) and
     * sends connections to the servers behind it; behind: a TLS server
     * listening on its front's socket (GW_FRONT_TLS or GW_FRONT_TERM).
     */
    const gw_dp_front_t  *front;
    const gw_dp_front_t  *behind;
} gw_dp_stream_server_t;

typedef struct {
    gw_ptrs_t  servers;         /* gw_dp_stream_server_t *, sorted; a
                                   port's front before what it fronts */
    gw_ptrs_t  upstreams;       /* gw_dp_upstream_t *, sorted by name */
    gw_ptrs_t  splits;          /* gw_dp_split_t * */
    gw_ptrs_t  certs;           /* gw_dp_cert_t *, every file, sorted */
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
