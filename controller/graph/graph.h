/*
 * ngx-gateway: the graph: GatewayClass -> Gateways -> listeners -> routes
 * -> backends, resolved from one store snapshot, with the conditions the
 * spec asks for.  A user's mistake is data here: the node is marked
 * invalid and carries a condition; it is never an error code.
 *
 * Everything is allocated from the arena given to gw_graph_build().
 */

#ifndef GW_GRAPH_H
#define GW_GRAPH_H

#include "api/rule_ext.h"
#include "core/gw_arena.h"
#include "core/gw_map.h"
#include "store/store.h"

#define GW_MAX_CONDS  8

/* The Gateway API release (major.minor) this controller implements. */
#define GW_API_RELEASE  "v1.6"

typedef struct {
    const char  *type;
    const char  *status;       /* "True" | "False" | "Unknown" */
    const char  *reason;
    const char  *message;
} gw_cond_t;

typedef struct {
    gw_cond_t  items[GW_MAX_CONDS];
    size_t     n;
} gw_conds_t;

void gw_conds_set(gw_conds_t *c, const char *type, int status,
    const char *reason, const char *message);
const gw_cond_t *gw_conds_get(const gw_conds_t *c, const char *type);

typedef struct gw_ggateway_s   gw_ggateway_t;
typedef struct gw_glistener_s  gw_glistener_t;
typedef struct gw_groute_s     gw_groute_t;
typedef struct gw_glset_s      gw_glset_t;

typedef struct {
    const gw_obj_t  *obj;
    int              accepted;
    gw_conds_t       conds;
} gw_gclass_t;

/* A route attached to a listener, with the hostnames it serves there. */
typedef struct {
    gw_groute_t     *route;
    gw_glistener_t  *listener;
    const char     **hostnames;     /* empty: every host */
    size_t           nhostnames;
} gw_attach_t;

/*
 * Frontend client certificate validation of an HTTPS listener (Gateway
 * spec.tls.frontend): none, AllowValidOnly, AllowInsecureFallback.
 */
typedef enum {
    GW_VERIFY_NONE = 0,
    GW_VERIFY_REQUIRE,
    GW_VERIFY_OPTIONAL
} gw_verify_e;

struct gw_glistener_s {
    const gw_listener_t  *spec;
    gw_ggateway_t        *gateway;
    gw_glset_t           *lset;       /* its ListenerSet, NULL: the
                                         Gateway's own listener */
    int                   accepted;   /* can carry traffic */
    int                   served;     /* the http{} data plane serves it */
    int                   stream;     /* the stream{} data plane serves it
                                         (TCP, UDP, TLS Passthrough) */
    int                   attached;   /* status.listeners[].attachedRoutes */
    const char          **kinds;      /* supportedKinds (HTTPRoute, ...) */
    size_t                nkinds;
    const gw_obj_t      **secrets;    /* tls.certificateRefs, resolved and
                                         checked (kubernetes.io/tls) */
    size_t                nsecrets;
    gw_verify_e           verify;     /* client certificates (HTTPS) */
    const char          **ca_pems;    /* their trust anchors, checked */
    size_t                nca_pems;
    gw_conds_t            conds;
    gw_ptrs_t             attachments; /* gw_attach_t * */
};

struct gw_ggateway_s {
    const gw_obj_t   *obj;
    gw_gclass_t      *cls;
    int               accepted;
    const char       *address;        /* where its listeners bind, NULL:
                                         nowhere (graph/address.c) */
    const char       *address_unusable; /* spec.addresses this host cannot
                                         serve (AddressNotUsable), or
                                         NULL */
    /*
     * listeners[0 .. nown) are the Gateway's own; the rest come from the
     * ListenerSets it admits, in precedence order (graph/listenerset.c).
     * The data plane serves them all alike.
     */
    gw_glistener_t   *listeners;
    size_t            nlisteners;
    const gw_obj_t   *backend_cert;   /* spec.tls.backend.clientCertificate
                                         Ref, resolved and checked */
    size_t            nown;
    int               attached_lsets; /* status.attachedListenerSets */
    gw_conds_t        conds;
};

/* A ListenerSet whose parent is one of our Gateways. */
struct gw_glset_s {
    const gw_obj_t   *obj;
    gw_ggateway_t    *gateway;
    int               allowed;        /* by the Gateway's allowedListeners */
    int               accepted;
    size_t            first;          /* its listeners in gateway->listeners */
    size_t            nlisteners;
    gw_conds_t        conds;
};

typedef struct {
    const char  *address;             /* IP literal */
    int          port;
    int          is_v6;
} gw_endpoint_addr_t;

typedef struct {
    const gw_backend_ref_t  *ref;
    const char              *namespace;
    int                      valid;   /* reference resolved */
    int                      weight;
    const gw_svc_port_t     *svc_port;
    gw_endpoint_addr_t      *endpoints;  /* ready endpoints, sorted */
    size_t                   nendpoints;
} gw_gbackend_t;

/*
 * A RequestMirror filter of an HTTPRoute rule: its backendRef resolved
 * like a backendRef (ref points to one made from the filter's).
 */
typedef struct {
    const gw_mirror_t      *spec;
    gw_gbackend_t           backend;
} gw_gmirror_t;

typedef struct {
    const gw_http_rule_t  *spec;      /* HTTPRoute rules only, else NULL */
    const gw_backend_ref_t *backend_refs;  /* of every route kind */
    size_t                 nbackend_refs;
    size_t                 index;
    int                    valid;     /* implemented; invalid rules drop */
    const char            *invalid_reason;
    gw_gbackend_t         *backends;
    size_t                 nbackends;
    gw_gmirror_t          *mirrors;   /* RequestMirror filters, in order */
    size_t                 nmirrors;
    const gw_http_filter_t *rewrite;  /* URLRewrite filter or NULL */
    const char             *extension; /* an ExtensionRef filter we cannot
                                          resolve: why the rule answers
                                          500 (ResolvedRefs), or NULL */
    const gw_rule_ext_t    *ext;      /* timeouts, retry, session
                                         persistence (HTTPRoute), or NULL */
    const char             *protocol; /* to its backends: NULL (HTTP/1.1),
                                         "kubernetes.io/h2c" or
                                         "kubernetes.io/ws" */
} gw_grule_t;

typedef struct {
    const gw_parent_ref_t  *ref;
    gw_ggateway_t          *gateway;
    gw_glset_t             *lset;     /* parentRef kind ListenerSet */
    int                     accepted;
    gw_conds_t              conds;
} gw_gparent_t;

struct gw_groute_s {
    const gw_obj_t  *obj;
    gw_kind_e        kind;            /* GW_KIND_HTTPROUTE, ... */
    const char      *kind_name;       /* "HTTPRoute", ... */
    const gw_parent_ref_t *parent_refs;
    size_t           nparent_refs;
    const char     **hostnames;       /* spec.hostnames (none: TCP, UDP) */
    size_t           nhostnames;
    gw_grule_t      *rules;
    size_t           nrules;
    size_t           nvalid_rules;
    const char      *invalid;         /* route-level refusal message */
    gw_gparent_t    *parents;         /* only parents handled by us */
    size_t           nparents;
    gw_cond_t        resolved_refs;
};

/*
 * A BackendTLSPolicy: whether it applies (Accepted), its trust anchors,
 * and the Gateways whose routes reach one of its targets (the ancestors
 * its status is written for).
 */
typedef struct {
    const gw_obj_t  *obj;
    int              accepted;        /* applies to its targets */
    int              system_ca;       /* wellKnownCACertificates System */
    const char     **ca_pems;         /* caCertificateRefs, checked */
    size_t           nca_pems;
    gw_conds_t       conds;           /* Accepted, ResolvedRefs */
    gw_ptrs_t        ancestors;       /* gw_ggateway_t *, graph order */
} gw_gpolicy_t;

/*
 * Whether this host can serve (bind) the IP literal ip: 1 or 0.  The
 * default, gw_addr_host_has(), reads the interface addresses; tests pass
 * their own so that the result does not depend on the machine.
 */
typedef int (*gw_addr_usable_pt)(const char *ip);

int gw_addr_host_has(const char *ip);

typedef struct {
    gw_arena_t     *arena;
    const char     *controller_name;
    const char     *default_address;
    gw_addr_usable_pt addr_usable;    /* see gw_graph_conf_t */
    gw_ptrs_t       classes;          /* gw_gclass_t * */
    gw_ptrs_t       gateways;         /* gw_ggateway_t * */
    gw_ptrs_t       routes;           /* gw_groute_t * */
    gw_ptrs_t       policies;         /* gw_gpolicy_t *, oldest first */
    gw_ptrs_t       lsets;            /* gw_glset_t * */
    gw_map_t       *slices;           /* "ns/svc" -> gw_ptrs_t * */
    const gw_store_t *served_secrets; /* see gw_graph_conf_t */
} gw_graph_t;

typedef struct {
    const char        *controller_name;
    const char        *default_address;
    /*
     * The Secrets the data plane served last (or NULL): when a Secret is
     * edited into something that is not a usable certificate, its
     * listener says so (ResolvedRefs False) but keeps serving the version
     * it served, so a bad edit never takes HTTPS down.
     */
    const gw_store_t  *served_secrets;
    gw_addr_usable_pt  addr_usable;   /* NULL: gw_addr_host_has */
} gw_graph_conf_t;

gw_graph_t *gw_graph_build(gw_arena_t *a, const gw_store_t *store,
    const gw_graph_conf_t *conf);

/* GatewayClass status.supportedFeatures, sorted (graph/features.c). */
extern const char *const  gw_supported_features[];
extern const size_t       gw_nsupported_features;

/* Internal stages, one per file of graph/. */
void gw_graph_classes(gw_graph_t *g, const gw_store_t *store);
void gw_graph_gateways(gw_graph_t *g, const gw_store_t *store);
void gw_graph_routes(gw_graph_t *g, const gw_store_t *store);
void gw_route_rules(gw_graph_t *g, gw_groute_t *r);

/* Names a dropped rule in r->invalid (PartiallyInvalid's message). */
void gw_route_drop_rule(gw_graph_t *g, gw_groute_t *r, const gw_grule_t *gr);

/* Why header (header 1) or query matches cannot be served, or NULL. */
const char *gw_match_kv_check(gw_graph_t *g, const gw_kv_match_t *kv,
    size_t n, int header);
void gw_route_rules_other(gw_graph_t *g, gw_groute_t *r);

/*
 * The address a Gateway is served at, from spec.addresses (address.c):
 * sets gw->address and gw->address_unusable, or refuses the Gateway
 * (Accepted False, UnsupportedAddress).
 */
void gw_gateway_address(gw_graph_t *g, gw_ggateway_t *gw);

/* A listener's checks of its own (gateway.c). */
void gw_listener_check(gw_graph_t *g, gw_glistener_t *l,
    const gw_store_t *store);

/*
 * ListenerSets (listenerset.c): gw_lsets_join() appends to gw->listeners
 * the listeners of the ListenerSets gw admits (before the Gateway's
 * conflicts are resolved); gw_lsets_summary() sets their conditions once
 * every Gateway has its own.
 */
void gw_lsets_join(gw_graph_t *g, gw_ggateway_t *gw,
    const gw_store_t *store);
void gw_lsets_summary(gw_graph_t *g);
gw_glset_t *gw_graph_lset(gw_graph_t *g, const char *ns, const char *name);
/* 1 when ls's listeners are not part of its Gateway (not allowed there,
 * or the Gateway is not accepted). */
int gw_lset_detached(const gw_glset_t *ls);

/* The namespace and kind of the object that defines listener l. */
const char *gw_listener_ns(const gw_glistener_t *l);
const char *gw_listener_owner_kind(const gw_glistener_t *l);

/* The listener's tls.certificateRefs -> its ResolvedRefs condition. */
void gw_listener_tls(gw_graph_t *g, gw_glistener_t *l,
    const gw_store_t *store);

/*
 * The Gateway's spec.tls.frontend validation for HTTPS listener l: its
 * verify mode and CA bundles, or the listener's conditions when the CA
 * references are wrong (listener_tls.c).
 */
void gw_listener_client_validation(gw_graph_t *g, gw_glistener_t *l,
    const gw_store_t *store);

/*
 * The Gateway's spec.tls.backend.clientCertificateRef: gw->backend_cert
 * and the Gateway's ResolvedRefs condition (listener_tls.c).
 */
void gw_gateway_backend_tls(gw_graph_t *g, gw_ggateway_t *gw,
    const gw_store_t *store);

/*
 * BackendTLSPolicies (policy.c): conditions, conflicts (the oldest wins),
 * ancestors; after the routes.
 */
void gw_graph_policies(gw_graph_t *g, const gw_store_t *store);

/* The accepted BackendTLSPolicy for backend b, or NULL. */
const gw_gpolicy_t *gw_policy_for(const gw_graph_t *g,
    const gw_gbackend_t *b);

/* 1 when a BackendTLSPolicy, accepted or not, targets backend b. */
int gw_policy_targeted(const gw_graph_t *g, const gw_gbackend_t *b);

/* 1 when the data plane serves routes of kind on listener l. */
int gw_listener_serves(const gw_glistener_t *l, gw_kind_e kind);

/*
 * 1 when a listener of this spec is served in stream{} (TCP, UDP, TLS
 * Passthrough); *kind is then the route kind it carries.
 */
int gw_listener_stream_kind(const gw_listener_t *spec, gw_kind_e *kind);
void gw_graph_backends(gw_graph_t *g, gw_groute_t *r,
    const gw_store_t *store);

/*
 * An HTTPRoute's timeouts, retry, sessionPersistence and backend
 * protocols (graph/route_ext.c), once its backends are resolved: sets
 * each rule's ext and protocol, drops the rules nginx cannot carry.
 */
void gw_route_ext_rules(gw_graph_t *g, gw_groute_t *r);

/* Why a Service port's appProtocol cannot carry an HTTPRoute, or NULL. */
const char *gw_backend_app_protocol_check(gw_graph_t *g,
    const gw_svc_port_t *port);

/* ReferenceGrant: may from (group/kind in ns) refer to to (group/kind/name
 * in to_ns)? */
int gw_refgrant_allows(const gw_store_t *store, const char *from_group,
    const char *from_kind, const char *from_ns, const char *to_group,
    const char *to_kind, const char *to_ns, const char *to_name);

/* Hostname intersection: the effective hostname of listener host lh and
 * route host rh, or NULL when they do not intersect (lh NULL = any). */
const char *gw_hostname_intersect(const char *lh, const char *rh);

/* 1 when wildcard w ("*.example.com") matches hostname h. */
int gw_hostname_wildcard_match(const char *w, const char *h);

/* qsort order of gw_attach_t pointers: by gw_route_precedes. */
int gw_attach_cmp(const void *a, const void *b);

/* Sort order of routes: oldest first, then namespace/name. */
int gw_route_precedes(const gw_obj_t *a, const gw_obj_t *b);

#endif /* GW_GRAPH_H */
