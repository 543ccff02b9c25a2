/*
 * ngx-gateway: the Kubernetes objects the controller reads, decoded from
 * the JSON form the API server returns (both sources produce that form).
 *
 * Decoding applies the CRD defaults and the CRD schema's checks that the
 * API server would enforce on create; everything else (references,
 * allowedRoutes, hostnames, ...) is the graph's business.
 *
 * Every decoded object owns an arena; all strings and arrays of the object
 * live in it and are freed with the object.
 */

#ifndef GW_API_H
#define GW_API_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"
#include "core/gw_arena.h"

#define GW_GROUP  "gateway.networking.k8s.io"

typedef enum {
    GW_KIND_NAMESPACE = 0,
    GW_KIND_SERVICE,
    GW_KIND_ENDPOINTSLICE,
    GW_KIND_SECRET,
    GW_KIND_GATEWAYCLASS,
    GW_KIND_GATEWAY,
    GW_KIND_HTTPROUTE,
    GW_KIND_GRPCROUTE,
    GW_KIND_TLSROUTE,
    GW_KIND_TCPROUTE,
    GW_KIND_UDPROUTE,
    GW_KIND_REFERENCEGRANT,
    GW_KIND_LISTENERSET,
    GW_KIND_CRD,
    GW_KIND_CONFIGMAP,
    GW_KIND_BACKENDTLSPOLICY,
    GW_KIND_MAX
} gw_kind_e;

typedef struct {
    const char  *key;
    const char  *value;
} gw_label_t;

typedef struct {
    const char   *name;
    const char   *namespace;          /* "" for cluster-scoped kinds */
    const char   *uid;
    const char   *creation_timestamp;  /* RFC 3339, "" when absent */
    int64_t       generation;
    gw_label_t   *labels;
    size_t        nlabels;
} gw_meta_t;

/* metav1.LabelSelector */

typedef enum {
    GW_SEL_IN = 0,
    GW_SEL_NOT_IN,
    GW_SEL_EXISTS,
    GW_SEL_DOES_NOT_EXIST
} gw_sel_op_e;

typedef struct {
    const char    *key;
    gw_sel_op_e    op;
    const char   **values;
    size_t         nvalues;
} gw_sel_expr_t;

typedef struct {
    gw_label_t     *match_labels;
    size_t          nmatch_labels;
    gw_sel_expr_t  *exprs;
    size_t          nexprs;
} gw_selector_t;

/* GatewayClass */

typedef struct {
    const char  *group;
    const char  *kind;
    const char  *name;
    const char  *namespace;           /* NULL when absent */
} gw_params_ref_t;

typedef struct {
    const char        *controller_name;
    gw_params_ref_t   *parameters_ref;  /* NULL when absent */
} gw_gatewayclass_t;

/* Gateway */

typedef enum {
    GW_FROM_SAME = 0,
    GW_FROM_ALL,
    GW_FROM_SELECTOR,
    GW_FROM_NONE
} gw_from_e;

typedef struct {
    const char  *group;
    const char  *kind;
} gw_route_kind_t;

typedef struct {
    const char  *group;               /* "" = core */
    const char  *kind;
    const char  *name;
    const char  *namespace;           /* NULL = the referrer's namespace */
} gw_obj_ref_t;

typedef struct {
    const char       *name;
    const char       *hostname;       /* NULL when absent */
    int               port;
    const char       *protocol;
    const char       *tls_mode;       /* NULL when no tls block */
    gw_obj_ref_t     *cert_refs;
    size_t            ncert_refs;
    gw_from_e         from;
    gw_selector_t    *selector;       /* for GW_FROM_SELECTOR */
    gw_route_kind_t  *kinds;          /* allowedRoutes.kinds, NULL = default */
    size_t            nkinds;
    int               kinds_set;
} gw_listener_t;

typedef struct {
    const char  *type;                /* IPAddress | Hostname | other */
    const char  *value;
} gw_address_t;

/*
 * Gateway spec.tls.frontend: client certificate validation (mTLS), the
 * default and per port.
 */
typedef struct {
    int            insecure_fallback;   /* mode AllowInsecureFallback */
    gw_obj_ref_t  *ca_refs;             /* caCertificateRefs, at least 1 */
    size_t         nca_refs;
} gw_client_validation_t;

typedef struct {
    int                      port;
    gw_client_validation_t  *validation;   /* NULL when absent */
} gw_frontend_port_t;

typedef struct {
    const char              *class_name;
    gw_listener_t           *listeners;
    size_t           nlisteners;
    gw_address_t    *addresses;
    size_t           naddresses;
    gw_params_ref_t *infra_params;   /* spec.infrastructure.parametersRef */
    gw_client_validation_t  *frontend_default;   /* NULL when absent */
    gw_frontend_port_t      *frontend_ports;     /* tls.frontend.perPort */
    size_t                   nfrontend_ports;
    gw_obj_ref_t            *backend_cert;  /* tls.backend.clientCertificate
                                               Ref, NULL when absent */
    gw_from_e        lsets_from;     /* spec.allowedListeners, default None */
    gw_selector_t   *lsets_selector; /* for GW_FROM_SELECTOR */
} gw_gateway_t;

/* ListenerSet: listeners attached to a Gateway (GEP-1713) */

typedef struct {
    const char      *group;           /* default gateway.networking.k8s.io */
    const char      *kind;            /* default Gateway */
    const char      *name;
    const char      *namespace;       /* NULL = the ListenerSet's namespace */
    gw_listener_t   *listeners;       /* at least one, names unique */
    size_t           nlisteners;
} gw_listenerset_t;

/* HTTPRoute */

typedef struct {
    const char  *group;
    const char  *kind;
    const char  *namespace;           /* NULL = the route's namespace */
    const char  *name;
    const char  *section_name;        /* NULL when absent */
    int          port;                /* 0 when absent */
} gw_parent_ref_t;

typedef enum {
    GW_PATH_PREFIX = 0,
    GW_PATH_EXACT,
    GW_PATH_REGEX
} gw_path_type_e;

typedef struct {
    const char  *type;                /* Exact | RegularExpression */
    const char  *name;
    const char  *value;
} gw_kv_match_t;

typedef struct {
    gw_path_type_e   path_type;
    const char      *path_type_name;  /* as written, for messages */
    const char      *path;
    gw_kv_match_t   *headers;
    size_t           nheaders;
    gw_kv_match_t   *queries;
    size_t           nqueries;
    const char      *method;          /* NULL when absent */
} gw_http_match_t;

typedef enum {
    GW_REWRITE_NONE = 0,
    GW_REWRITE_FULL,
    GW_REWRITE_PREFIX
} gw_rewrite_e;

/*
 * HTTPRoute and GRPCRoute filters (decode_filter.c), typed.  Decoding
 * keeps what is written (every entry, every value); whether nginx can
 * carry it and which entries count is checked later (dataplane/filter.c),
 * so that a refused filter becomes the route's condition.
 */

typedef enum {
    GW_FILTER_UNKNOWN = 0,            /* a type we do not know */
    GW_FILTER_REQUEST_HEADER,         /* RequestHeaderModifier */
    GW_FILTER_RESPONSE_HEADER,        /* ResponseHeaderModifier */
    GW_FILTER_REQUEST_MIRROR,
    GW_FILTER_REQUEST_REDIRECT,
    GW_FILTER_URL_REWRITE,
    GW_FILTER_CORS,
    GW_FILTER_EXTENSION_REF
} gw_filter_type_e;

typedef struct {
    const char  *name;
    const char  *value;
} gw_header_t;

/* HTTPHeaderFilter: as written, duplicates included. */
typedef struct {
    gw_header_t   *set;
    size_t         nset;
    gw_header_t   *add;
    size_t         nadd;
    const char   **remove;
    size_t         nremove;
} gw_header_mod_t;

/* HTTPRequestRedirectFilter */
typedef struct {
    int            status;            /* statusCode, default 302 */
    const char    *scheme;            /* NULL when absent */
    const char    *hostname;          /* NULL when absent */
    int            port;              /* 0 when absent */
    gw_rewrite_e   path;              /* NONE when absent */
    const char    *path_value;
} gw_redirect_t;

/*
 * HTTPRequestMirrorFilter: the share mirrored as a fraction (percent p is
 * p/100; neither given: 100/100).
 */
typedef struct {
    gw_obj_ref_t   backend;           /* namespace NULL: the route's */
    int            port;              /* 0 when absent */
    int            numerator;
    int            denominator;
} gw_mirror_t;

/* HTTPCORSFilter */
typedef struct {
    const char   **allow_origins;
    size_t         nallow_origins;
    const char   **allow_methods;
    size_t         nallow_methods;
    const char   **allow_headers;
    size_t         nallow_headers;
    const char   **expose_headers;
    size_t         nexpose_headers;
    int            allow_credentials; /* 0 when absent */
    int            max_age;           /* seconds, default 5 */
} gw_cors_t;

typedef struct {
    gw_filter_type_e   kind;
    const char        *type;          /* as written: URLRewrite, ... */
    gw_header_mod_t   *headers;       /* Request/ResponseHeaderModifier */
    gw_redirect_t     *redirect;      /* RequestRedirect */
    gw_mirror_t       *mirror;        /* RequestMirror */
    gw_cors_t         *cors;          /* CORS */
    gw_obj_ref_t      *extension_ref; /* ExtensionRef (no namespace) */
    const char        *rewrite_hostname;  /* URLRewrite, NULL: keep */
    gw_rewrite_e       rewrite_path;
    const char        *rewrite_value; /* replaceFullPath/replacePrefixMatch */
} gw_http_filter_t;

typedef struct {
    const char        *group;         /* "" = core */
    const char        *kind;          /* default Service */
    const char        *name;
    const char        *namespace;     /* NULL = the route's namespace */
    int                port;          /* 0 when absent */
    int                weight;        /* default 1 */
    gw_http_filter_t  *filters;
    size_t             nfilters;
} gw_backend_ref_t;

/* timeouts, retry and sessionPersistence of a rule (api/rule_ext.h) */
typedef struct gw_rule_ext_s  gw_rule_ext_t;

typedef struct {
    const char        *name;          /* NULL when absent */
    gw_http_match_t   *matches;       /* at least one (defaulted) */
    size_t             nmatches;
    gw_http_filter_t  *filters;
    size_t             nfilters;
    gw_backend_ref_t  *backends;
    size_t             nbackends;
    gw_rule_ext_t     *ext;           /* never NULL */
} gw_http_rule_t;

typedef struct {
    gw_parent_ref_t   *parents;
    size_t             nparents;
    const char       **hostnames;
    size_t             nhostnames;
    gw_http_rule_t    *rules;
    size_t             nrules;
} gw_httproute_t;

/* GRPCRoute */

typedef struct {
    const char  *type;                /* Exact | RegularExpression */
    const char  *service;             /* NULL when absent */
    const char  *method;              /* NULL when absent */
} gw_grpc_method_t;

typedef struct {
    gw_grpc_method_t  *method;        /* NULL when absent */
    gw_kv_match_t     *headers;
    size_t             nheaders;
} gw_grpc_match_t;

typedef struct {
    const char        *name;          /* NULL when absent */
    gw_grpc_match_t   *matches;
    size_t             nmatches;
    gw_http_filter_t  *filters;       /* GRPCRouteFilter: the HTTPRoute's
                                         header modifiers and mirror */
    size_t             nfilters;
    gw_backend_ref_t  *backends;
    size_t             nbackends;
} gw_grpc_rule_t;

typedef struct {
    gw_parent_ref_t   *parents;
    size_t             nparents;
    const char       **hostnames;
    size_t             nhostnames;
    gw_grpc_rule_t    *rules;
    size_t             nrules;
} gw_grpcroute_t;

/*
 * TLSRoute, TCPRoute and UDPRoute: parents and backends; only TLSRoutes
 * have hostnames (SNI).
 */

typedef struct {
    const char        *name;          /* NULL when absent */
    gw_backend_ref_t  *backends;
    size_t             nbackends;
} gw_l4_rule_t;

typedef struct {
    gw_parent_ref_t   *parents;
    size_t             nparents;
    const char       **hostnames;     /* TLSRoute only */
    size_t             nhostnames;
    gw_l4_rule_t      *rules;
    size_t             nrules;
} gw_l4route_t;

/* ReferenceGrant */

typedef struct {
    const char  *group;
    const char  *kind;
    const char  *namespace;
} gw_grant_from_t;

typedef struct {
    const char  *group;
    const char  *kind;
    const char  *name;                /* NULL = every object of the kind */
} gw_grant_to_t;

typedef struct {
    gw_grant_from_t  *from;
    size_t            nfrom;
    gw_grant_to_t    *to;
    size_t            nto;
} gw_refgrant_t;

/* Service */

typedef struct {
    const char  *name;                /* "" when unnamed */
    int          port;
    int          target_port;         /* 0 when given by name */
    const char  *target_port_name;    /* NULL when numeric */
    const char  *protocol;
    const char  *app_protocol;        /* NULL when absent */
} gw_svc_port_t;

typedef struct {
    const char      *type;
    const char      *cluster_ip;
    gw_svc_port_t   *ports;
    size_t           nports;
} gw_service_t;

/* EndpointSlice */

typedef struct {
    const char  **addresses;
    size_t        naddresses;
    int           ready;              /* conditions.ready; absent = ready */
} gw_endpoint_t;

typedef struct {
    const char  *name;                /* "" when unnamed */
    int          port;
    const char  *protocol;
} gw_eps_port_t;

typedef struct {
    const char     *service_name;     /* label kubernetes.io/service-name */
    const char     *address_type;
    gw_endpoint_t  *endpoints;
    size_t          nendpoints;
    gw_eps_port_t  *ports;
    size_t          nports;
} gw_endpointslice_t;

/* Secret: only the type and which keys exist, decoded lazily later */

typedef struct {
    const char  *type;
    cJSON       *data;                /* borrowed from the object's JSON */
} gw_secret_t;

/* BackendTLSPolicy (v1) */

typedef struct {
    const char  *group;
    const char  *kind;
    const char  *name;
    const char  *section_name;        /* NULL when absent */
} gw_policy_target_t;

typedef struct {
    int          uri;                 /* type URI, else Hostname */
    const char  *value;               /* hostname or uri */
} gw_san_t;

typedef struct {
    gw_policy_target_t  *targets;     /* at least one */
    size_t               ntargets;
    gw_obj_ref_t        *ca_refs;     /* namespace always NULL (local) */
    size_t               nca_refs;
    const char          *well_known;  /* wellKnownCACertificates or NULL */
    const char          *hostname;    /* SNI and the name to verify */
    gw_san_t            *sans;        /* subjectAltNames: verified instead
                                         of hostname when given */
    size_t               nsans;
} gw_backendtlspolicy_t;

/* ConfigMap: the data, strings as given (CA bundles in ca.crt) */

typedef struct {
    cJSON       *data;                /* borrowed from the object's JSON */
} gw_configmap_t;

/*
 * CustomResourceDefinition: only what tells which Gateway API release is
 * installed (GatewayClass SupportedVersion).
 */

typedef struct {
    const char  *group;               /* spec.group */
    const char  *bundle_version;      /* annotation, NULL when absent */
    const char  *channel;             /* annotation, NULL when absent */
} gw_crd_t;

/* A decoded object. */

typedef struct {
    gw_kind_e    kind;
    const char  *api_version;
    gw_meta_t    meta;
    cJSON       *json;                /* owned: the object as given */
    const char  *origin;              /* "file:line" or "" */
    gw_arena_t   arena;
    union {
        gw_gatewayclass_t    gatewayclass;
        gw_gateway_t         gateway;
        gw_listenerset_t     listenerset;
        gw_httproute_t       httproute;
        gw_grpcroute_t       grpcroute;
        gw_l4route_t         l4route;   /* TLSRoute, TCPRoute, UDPRoute */
        gw_refgrant_t        refgrant;
        gw_service_t         service;
        gw_endpointslice_t   endpointslice;
        gw_secret_t          secret;
        gw_crd_t             crd;
        gw_configmap_t       configmap;
        gw_backendtlspolicy_t backendtlspolicy;
    } u;
} gw_obj_t;

const char *gw_kind_name(gw_kind_e kind);

/*
 * Looks kind up by apiVersion and kind; GW_ERR for kinds we do not read
 * (the caller warns once per kind).
 */
int gw_kind_lookup(const char *api_version, const char *kind,
    gw_kind_e *out);

int gw_kind_namespaced(gw_kind_e kind);

/*
 * Decodes json (ownership passes to the object, also on failure) into a new
 * object.  GW_ERR when the object is not one the API server would accept;
 * err names the field.
 */
int gw_obj_decode(cJSON *json, const char *origin, gw_obj_t **out,
    gw_err_t *err);

void gw_obj_free(gw_obj_t *obj);

/* Label helpers */
const char *gw_labels_get(const gw_meta_t *meta, const char *key);
int gw_selector_matches(const gw_selector_t *sel, const gw_meta_t *meta);

#endif /* GW_API_H */
