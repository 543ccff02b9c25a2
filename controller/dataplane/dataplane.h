/*
 * ngx-gateway: the data plane model: what nginx must do, in nginx's
 * shape (listen sockets, servers per hostname, locations in precedence
 * order, upstreams, weighted splits), built from the graph.  Sorted and
 * deduplicated, so the same graph always gives byte-identical config.
 */

#ifndef GW_DATAPLANE_H
#define GW_DATAPLANE_H

#include "core/gw_map.h"
#include "dataplane/backend_tls.h"
#include "dataplane/filter.h"
#include "dataplane/front.h"
#include "dataplane/proxy.h"
#include "graph/graph.h"

#define GW_UPSTREAM_500  "gw_internal_500"

typedef struct {
    const char  *name;          /* nginx upstream name */
    const char  *service;       /* ns/name:port, for comments and metrics */
    const char **servers;       /* "127.0.0.1:8080", "[::1]:80" */
    size_t       nservers;      /* 0: no ready endpoints -> 503 */
    int          retry;         /* each endpoint listed once per try, with
                                   max_fails=0 (dataplane/proxy.c) */
    const char  *hash;          /* "hash $<hash> consistent", or NULL:
                                   session persistence (session.c) */
    const gw_dp_backend_tls_t *tls;  /* TLS to it (BackendTLSPolicy), or
                                        NULL */
} gw_dp_upstream_t;

typedef struct gw_dp_candidate_s  gw_dp_candidate_t;
typedef struct gw_dp_location_s   gw_dp_location_t;

typedef struct {
    const char  *upstream;
    int          weight;
    size_t       backend;       /* labelled splits: the backendRef's index */
} gw_dp_share_t;

/*
 * Adds weight to upstream's share among the n of shares (a new share when
 * it has none; shares has room for it); returns the new n.
 */
size_t gw_dp_share_add(gw_dp_share_t *shares, size_t n,
    const char *upstream, int weight);

typedef struct {
    const char     *var;        /* variable name, without '$' */
    const char     *key;        /* what splits: NULL is $request_id, else
                                   a session key variable (session.c) */
    gw_dp_share_t  *shares;
    size_t          nshares;
    long            total;

    /*
     * Labelled (a rule whose backendRefs have RequestHeaderModifiers,
     * upstream.c): one share per backendRef, the split's value is its
     * label "b<backend>", $<var>_up its upstream, and for each of names
     * a map $<var>_h_<i> gives the value its share's request headers
     * (requests[share], composed after the rule's) send; loc is a
     * location of the rule, whose other headers are the default.
     */
    int                          labelled;
    gw_dp_header_mod_t         **requests;
    const char                 **names;
    size_t                       nnames;
    const gw_dp_location_t     *loc;
} gw_dp_split_t;


/*
 * A RequestMirror of a rule (filter_mirror.c): an internal exact location
 * of each server the rule serves, path "/_gw_mirror/<n>", that
 * the rule's locations name in nginx's `mirror`.  It passes the request
 * on to upstream with its original URI ($request_uri) and the rule's
 * request headers, for the share bp of requests (basis points of 10000,
 * chosen by $gw_mirror_<bp>; 10000: every request).
 */
typedef struct {
    const char          *path;
    const char          *route;       /* ns/name */
    size_t               rule;
    const char          *service;     /* ns/name:port, for a comment */
    const char          *upstream;
    int                  bp;
    const char          *host;        /* Host to send, NULL: the client's */
    gw_dp_header_mod_t  *request;     /* RequestHeaderModifier, or NULL */
} gw_dp_mirror_t;

/*
 * A location: what one rule does (proxy, split, status or redirect, with
 * its filters), or, when candidates is not empty, a dispatcher: our
 * module's gateway_match tries the candidates in order and sends the
 * request to the named location of the first that matches (404 when none
 * does).
 */
struct gw_dp_location_s {
    int                exact;       /* location = path */
    const char        *path;        /* exact path, prefix ending '/', or
                                       "@..." for a named location */
    const char        *route;       /* ns/name */
    size_t             rule;
    size_t             match;
    int                status;      /* return this (500) instead */
    const char        *upstream;    /* one target */
    gw_dp_split_t     *split;       /* or a weighted split */
    const char        *rewrite_regex;
    const char        *rewrite_repl;
    const char        *host;        /* Host header to send, NULL: $host */
    gw_dp_header_mod_t *request;    /* RequestHeaderModifier, or NULL */
    gw_dp_header_mod_t *response;   /* ResponseHeaderModifier, or NULL */
    gw_dp_redirect_t  *redirect;    /* answer a redirect instead */
    const char        *redirect_regex;  /* its path, as a rewrite */
    const char        *redirect_repl;
    gw_dp_cors_t      *cors;        /* CORS, or NULL */
    gw_dp_candidate_t **candidates; /* gateway_match, precedence order */
    size_t             ncandidates;
    int                grpc;        /* a GRPCRoute's: grpc_pass, and a
                                       status answers as gRPC status */
    const gw_dp_proxy_t *proxy;     /* HTTPRoute: protocol, timeouts,
                                       retries; NULL: the defaults */
    const gw_dp_backend_tls_t *tls; /* TLS to its backends, or NULL */
    gw_dp_mirror_t   **mirrors;     /* RequestMirror, the rule's order */
    size_t             nmirrors;
};

/* Where a path match puts a candidate among those of a location. */
typedef enum {
    GW_DP_PATH_EXACT = 0,
    GW_DP_PATH_REGEX,           /* ours: after Exact, before PathPrefix */
    GW_DP_PATH_PREFIX
} gw_dp_path_class_e;

/*
 * One match of one rule, as a server sees it: the gateway_match fields
 * (method=, path~, header:, header~, query:, query~; written as quoted
 * strings) that the location's path choice does not already decide, the
 * named location that does what the rule does, and its precedence.
 */
struct gw_dp_candidate_s {
    const char          *target;      /* "@ns/name:rule:match" */
    gw_dp_location_t    *action;      /* the named location */
    const char         **fields;
    size_t               nfields;     /* 0: matches whatever reaches it */
    int                  tier;        /* hostname precedence tier */
    gw_dp_path_class_e   path_class;
    const char          *path;        /* exact, normalised prefix, regex */
    size_t               path_len;
    int                  method;
    size_t               nheaders;    /* that count: first of each name */
    size_t               nqueries;
    size_t               seq;         /* route precedence, rule, match */
    int                  named;       /* its named location is written */
};

/*
 * The Gateway listener a server is counted under (gateway_server_tag).
 * nginx has one server per hostname on an address and port, which may
 * serve several listeners (of one Gateway, or of Gateways sharing the
 * address): the server takes the listener the spec would pick for its
 * hostname, the most specific one (the same hostname, then the longest
 * wildcard covering it, then a listener without hostname), the first in
 * precedence order (Gateway order, then listener order) among equals.
 * The catch-all server takes the first listener without hostname, or
 * else the first listener.
 */
typedef struct {
    const char  *gateway;       /* ns/name */
    const char  *listener;
} gw_dp_server_tag_t;

/*
 * A certificate file: the chain of a kubernetes.io/tls Secret, then its
 * key, in one PEM file below STATE_DIR/secrets/ named by the SHA-256 of
 * that content (its first 128 bits in hex), so a changed Secret is a new
 * file and a new configuration.  CA bundles (client certificate
 * validation) are files of the same kind, without a key.
 */
typedef struct gw_dp_cert_s {
    const char  *file;          /* "<32 hex digits>.pem" */
    const char  *secret;        /* ns/name, for a comment (CA bundles:
                                   "ns/gateway listener name") */
    const char  *pem;           /* never logged */
    size_t       len;
} gw_dp_cert_t;

/*
 * The certificate file of a kubernetes.io/tls Secret the graph checked,
 * allocated from a; NULL if it cannot be read.  The http{} and stream{}
 * builders both make theirs with it (the same content, the same file).
 */
gw_dp_cert_t *gw_dp_cert_read(gw_arena_t *a, const gw_obj_t *secret);
gw_dp_cert_t *gw_dp_cert_once(gw_arena_t *a, gw_map_t *seen, gw_ptrs_t *files,
    gw_dp_cert_t *c);
gw_dp_cert_t *gw_dp_client_ca_make(gw_arena_t *a, const gw_glistener_t *l);

typedef struct {
    const char          *hostname;  /* NULL: every host (default server) */
    gw_dp_server_tag_t   tag;
    const gw_glistener_t *listener; /* the one tag names, or NULL */
    gw_ptrs_t            certs;     /* gw_dp_cert_t *, TLS: its listener's */
    gw_verify_e          verify;    /* client certificates, its listener's */
    gw_dp_cert_t        *client_ca; /* their CA bundle (verify != NONE) */
    gw_ptrs_t            locations; /* gw_dp_location_t *, sorted by path */
    gw_ptrs_t            named;     /* gw_dp_location_t *: the targets of
                                       gateway_match, precedence order */
    gw_ptrs_t            candidates; /* gw_dp_candidate_t *, seq order */
    gw_map_t            *by_target;  /* target -> gw_dp_candidate_t */
    gw_ptrs_t            mirrors;   /* gw_dp_mirror_t *, in rule order */
    int                  has_root;
} gw_dp_server_t;

/* A listener hostname and the listener's name, for the SNI map. */
typedef struct {
    const char  *hostname;
    const char  *listener;
} gw_dp_sni_t;

typedef struct {
    const char  *address;
    int          port;
    int          is_v6;
    int          ssl;           /* HTTPS listeners: nginx terminates TLS */
    int          http2;         /* HTTPS carrying GRPCRoutes: ALPN offers
                                   h2 beside http/1.1 */
    const char  *gateway;       /* ns/name */
    gw_ptrs_t    servers;       /* gw_dp_server_t *, sorted by hostname */
    gw_map_t    *by_host;
    gw_ptrs_t    attachments;   /* gw_attach_t *, while building */
    gw_ptrs_t    listeners;     /* gw_glistener_t *, precedence order */

    /*
     * Misdirected requests (several HTTPS listeners on this port): the
     * listener the client's SNI selects, by hostname, else sni_default;
     * a server whose listener is another answers 421.  NULL when there is
     * only one listener.
     */
    gw_ptrs_t    sni;           /* gw_dp_sni_t *, sorted by hostname */
    const char  *sni_default;

    /* The port's front, or NULL: nginx listens on the front's sockets */
    const gw_dp_front_t  *front;
} gw_dp_listen_t;

typedef struct {
    gw_ptrs_t  listens;         /* gw_dp_listen_t * */
    gw_ptrs_t  certs;           /* gw_dp_cert_t *, every file, sorted */
    gw_ptrs_t  upstreams;       /* gw_dp_upstream_t * */
    gw_ptrs_t  splits;          /* gw_dp_split_t * */
    gw_ptrs_t  sessions;        /* gw_dp_session_t *, session.c */
    gw_ptrs_t  mirror_shares;   /* gw_dp_mirror_t *, one per bp below
                                   10000, by bp: $gw_mirror_<bp> */
    gw_ptrs_t  joins;           /* header variables that "add" appends to,
                                   "x_foo" for $http_x_foo, sorted */
    int        port_offset;
} gw_dp_t;

gw_dp_t *gw_dataplane_build(gw_arena_t *a, const gw_graph_t *g,
    int port_offset);

/* qsort orders (sort.c): certificates by file, upstreams by name. */
int gw_dp_cert_cmp(const void *a, const void *b);
int gw_dp_upstream_cmp(const void *a, const void *b);


#endif /* GW_DATAPLANE_H */
