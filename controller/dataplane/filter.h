/*
 * ngx-gateway: the filters of HTTPRoute rules as nginx carries them with
 * its own directives, from their typed form (api.h): RequestHeaderModifier,
 * ResponseHeaderModifier, RequestRedirect and URLRewrite.  The graph calls
 * gw_dp_filters_check() to refuse a rule (its message becomes the
 * condition); the data plane calls it again for the rules the graph kept.
 *
 * Only what nginx can carry verbatim passes: header names of letters,
 * digits and '-' (nginx names the client's header $http_NAME), header
 * values without control characters and without '$' (nginx would read a
 * variable: there is no escape for it).
 */

#ifndef GW_DATAPLANE_FILTER_H
#define GW_DATAPLANE_FILTER_H

#include "api/api.h"

/* The message of a refusal the spec calls IncompatibleFilters. */
#define GW_DP_INCOMPATIBLE  "incompatible filters: "

typedef gw_header_t      gw_dp_kv_t;

/*
 * A header modifier as nginx applies it: of names equal but for case only
 * the first counts, and no name is in two of the lists.
 */
typedef gw_header_mod_t  gw_dp_header_mod_t;

typedef gw_redirect_t    gw_dp_redirect_t;

/*
 * CORS as nginx answers it (filter_cors.c): origins is the anchored
 * pattern of allowOrigins (NULL: every origin); methods, headers and
 * expose are the lists joined with ", ", with *_any when "*" is in them
 * (then the request's own values are echoed).
 */
typedef struct {
    const char  *origins;
    const char  *methods;
    int          methods_any;
    const char  *headers;
    int          headers_any;
    const char  *expose;
    int          expose_any;
    int          credentials;
    int          max_age;
} gw_dp_cors_t;

typedef struct {
    gw_dp_header_mod_t      *request;   /* NULL when absent */
    gw_dp_header_mod_t      *response;
    gw_redirect_t           *redirect;  /* a copy */
    const gw_http_filter_t  *rewrite;   /* URLRewrite */
    gw_dp_cors_t            *cors;
    const gw_http_filter_t  *extension; /* the first ExtensionRef: none is
                                           supported, the rule answers 500
                                           (spec: not skipped) */

    /*
     * A rule with several backendRefs, some with RequestHeaderModifier:
     * per backendRef, its request headers composed after the rule's
     * (request: the rule's alone), and the names of the headers some
     * backendRef modifies (the first spelling of each), which the data
     * plane chooses per backendRef.
     */
    gw_dp_header_mod_t     **backends;   /* NULL: one backendRef, or none
                                            with filters */
    const char             **backend_names;
    size_t                   nbackend_names;
} gw_dp_filters_t;

/*
 * The filters of rule and of its backendRefs into out (a backendRef's
 * header modifiers composed after the rule's).  NULL when nginx can carry
 * them, else why not (starting with GW_DP_INCOMPATIBLE for combinations
 * the spec forbids), allocated from a.  An ExtensionRef is no refusal: it
 * is out->extension, and the rule answers 500.
 */
const char *gw_dp_filters_check(gw_arena_t *a, const gw_http_rule_t *rule,
    gw_dp_filters_t *out);

/*
 * The filters of a GRPCRoute rule into out (request and response header
 * modifiers), or why not.
 */
const char *gw_dp_grpc_filters_check(gw_arena_t *a,
    const gw_grpc_rule_t *rule, gw_dp_filters_t *out);

/*
 * Header modifier in (what: the filter type, for messages) checked for
 * nginx and normalised into *out (filter_header.c); NULL or why not.
 */
const char *gw_dp_header_mod_check(gw_arena_t *a, const char *what,
    const gw_header_mod_t *in, gw_dp_header_mod_t **out);

/*
 * One modifier doing what r (a rule's) then b (its backendRef's) do:
 * b's set and remove win; b's add appends to what r leaves.  Either may
 * be NULL.
 */
gw_dp_header_mod_t *gw_dp_header_compose(gw_arena_t *a,
    const gw_dp_header_mod_t *r, const gw_dp_header_mod_t *b);

/*
 * Adds the names of the headers m touches to names (n of them, room for
 * all), each once whatever its case; returns the new n.
 */
size_t gw_dp_header_names(const gw_dp_header_mod_t *m, const char **names,
    size_t n);

/* A CORS filter checked for nginx into *out; NULL or why not. */
const char *gw_dp_cors_check(gw_arena_t *a, const gw_cors_t *c,
    gw_dp_cors_t **out);

/*
 * A RequestMirror filter checked for nginx (filter_mirror.c); NULL or why
 * not.  Its backendRef is the graph's (gw_grule_t mirrors).
 */
const char *gw_dp_mirror_check(gw_arena_t *a, const gw_mirror_t *m);

/*
 * Why the rule of ExtensionRef filter f answers 500 (the route's
 * ResolvedRefs message), allocated from a.
 */
const char *gw_dp_extension_why(gw_arena_t *a, const gw_http_filter_t *f);

/* "X-Foo" -> "x_foo": nginx has the client's header as $http_x_foo. */
const char *gw_dp_header_var(gw_arena_t *a, const char *name);

#endif /* GW_DATAPLANE_FILTER_H */
