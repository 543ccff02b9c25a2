/*
 * ngx-gateway: data plane construction, internal interface.
 */

#ifndef GW_DATAPLANE_INT_H
#define GW_DATAPLANE_INT_H

#include "dataplane/dataplane.h"

typedef struct {
    gw_arena_t  *a;
    gw_dp_t     *dp;
    const gw_graph_t *g;
    gw_map_t     listens;       /* "address port" -> gw_dp_listen_t */
    gw_map_t     upstreams;     /* name -> gw_dp_upstream_t */
    gw_map_t     splits;        /* shares key -> gw_dp_split_t */
    gw_map_t     joins;         /* variable -> itself */
    gw_map_t     certs;         /* file -> gw_dp_cert_t */
    gw_map_t     mirrors;       /* "ns/name rule i" -> its path */
    size_t       nmirrors;
} gw_dp_ctx_t;

/* What a rule does with a request: a status, an upstream or a split. */
typedef struct {
    int             status;
    const char     *upstream;
    gw_dp_split_t  *split;
    gw_dp_proxy_t  *proxy;      /* NULL: HTTP/1.1, nginx's defaults */
    const gw_dp_backend_tls_t *tls;  /* TLS to the backends, or NULL */
} gw_dp_target_t;

/*
 * The protocol, timeouts and retries of an HTTPRoute rule (proxy.c), or
 * NULL when it has none; *copies is how many times its upstreams list
 * each endpoint, so that nginx can retry on a Service with fewer
 * endpoints than tries (1: no retry upstream).
 */
gw_dp_proxy_t *gw_dp_proxy(gw_dp_ctx_t *ctx, const gw_grule_t *rule,
    int *copies);

/*
 * The session persistence of an HTTPRoute rule (session.c), made once per
 * rule and listed in dp->sessions, or NULL when it has none.
 */
const gw_dp_session_t *gw_dp_session(gw_dp_ctx_t *ctx,
    const gw_grule_t *rule);

void gw_dp_rule_target(gw_dp_ctx_t *ctx, const gw_grule_t *rule,
    gw_dp_target_t *t);

/*
 * The upstream of valid backend b without retry, session or TLS (a
 * mirror's; upstream.c).
 */
const char *gw_dp_backend_upstream(gw_dp_ctx_t *ctx, const gw_gbackend_t *b);

/*
 * The RequestMirror filters of rule on location loc of server s (after
 * its filters: the mirrors send its request headers), filter_mirror.c.
 */
void gw_dp_mirrors(gw_dp_ctx_t *ctx, gw_dp_server_t *s, const gw_groute_t *r,
    const gw_grule_t *rule, gw_dp_location_t *loc);

/* The rewrite for a location made from match path (normalised prefix). */
void gw_dp_rewrite(gw_dp_ctx_t *ctx, const gw_http_filter_t *f,
    const char *prefix, gw_dp_location_t *loc);

/* The filters of a rule the graph kept, on the location prototype. */
void gw_dp_filters(gw_dp_ctx_t *ctx, const gw_groute_t *r,
    const gw_grule_t *rule, const char *prefix, gw_dp_location_t *loc);

/* The filters of a GRPCRoute rule the graph kept, on its location. */
void gw_dp_grpc_filters(gw_dp_ctx_t *ctx, const gw_grpc_rule_t *rule,
    gw_dp_location_t *loc);

/* The named location of match of rule of route r: "@ns/name:rule:match". */
const char *gw_dp_target_name(gw_dp_ctx_t *ctx, const gw_groute_t *r,
    size_t rule, size_t match);

/*
 * Match m as the next candidate of server s (match.c): prefix is its
 * normalised PathPrefix, action what its rule does, named target.
 */
void gw_dp_candidate_add(gw_dp_ctx_t *ctx, gw_dp_server_t *s,
    const gw_http_match_t *m, int tier, const char *prefix,
    gw_dp_location_t *action, const char *target);

/*
 * The matches of a GRPCRoute rule as candidates of server s (grpc.c),
 * each with a location that passes it on with grpc_pass.
 */
void gw_dp_grpc_rule(gw_dp_ctx_t *ctx, gw_dp_server_t *s,
    const gw_groute_t *r, const gw_grule_t *rule, int tier);

/* qsort order of candidate pointers: the spec's precedence. */
int gw_dp_candidate_cmp(const void *a, const void *b);

/* The locations of s from its candidates, once they are all added. */
void gw_dp_server_locations(gw_dp_ctx_t *ctx, gw_dp_server_t *s);
/*
 * TLS termination (tls.c): the certificates of server s on an HTTPS
 * listen (those of its listener), and the SNI map of listen l that tells
 * misdirected requests apart.
 */
void gw_dp_tls_server(gw_dp_ctx_t *ctx, gw_dp_server_t *s);
void gw_dp_tls_sni(gw_dp_ctx_t *ctx, gw_dp_listen_t *l);

/*
 * The file of content pem (len bytes) below STATE_DIR/secrets/, named by
 * its hash and labelled what; the chain and key file of a checked
 * kubernetes.io/tls Secret (tls.c).  NULL when it cannot be made.
 */
gw_dp_cert_t *gw_dp_file(gw_dp_ctx_t *ctx, const char *pem, size_t len,
    const char *what);
gw_dp_cert_t *gw_dp_cert(gw_dp_ctx_t *ctx, const gw_obj_t *secret);

/*
 * BackendTLSPolicy (backend_tls.c): the TLS to backend b (*tls, NULL when
 * no policy targets it); GW_ERR when policies target it but none applies
 * (its share answers 500 rather than plain text to a TLS port).
 */
int gw_dp_backend_tls(gw_dp_ctx_t *ctx, const gw_gbackend_t *b,
    const gw_dp_backend_tls_t **tls);

/*
 * The TLS of the locations of server s, once its listener is known: the
 * client certificate of its Gateway added; gRPC locations that would
 * need TLS answer UNAVAILABLE (not carried yet).
 */
void gw_dp_backend_tls_server(gw_dp_ctx_t *ctx, gw_dp_server_t *s);

/* The certificate files in name order, the SNI maps by hostname. */
void gw_dp_tls_sort(gw_dp_t *dp);

void gw_dp_sort(gw_dp_t *dp);

#endif /* GW_DATAPLANE_INT_H */
