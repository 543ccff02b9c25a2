/*
 * ngx-gateway: the HTTPRoute filters nginx carries with its own directives
 * (RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect), read
 * from a rule's JSON and checked.  The graph calls gw_dp_filters_decode()
 * to refuse a rule (its message becomes the condition); the data plane
 * calls it again for the rules the graph kept.
 *
 * Only what nginx can carry verbatim passes: header names of letters,
 * digits and '-' (nginx names the client's header $http_NAME), header
 * values without control characters and without '$' (nginx would read a
 * variable: there is no escape for it).
 */

#ifndef GW_DATAPLANE_FILTER_H
#define GW_DATAPLANE_FILTER_H

#include <cjson/cJSON.h>

#include "api/api.h"

/* The message of a refusal the spec calls IncompatibleFilters. */
#define GW_DP_INCOMPATIBLE  "incompatible filters: "

typedef struct {
    const char  *name;
    const char  *value;
} gw_dp_kv_t;

typedef struct {
    gw_dp_kv_t   *set;
    size_t        nset;
    gw_dp_kv_t   *add;
    size_t        nadd;
    const char  **remove;
    size_t        nremove;
} gw_dp_header_mod_t;

typedef struct {
    int            status;      /* 301, 302, 303, 307, 308 */
    const char    *scheme;      /* NULL: the request's */
    const char    *hostname;    /* NULL: the request's */
    int            port;        /* 0: by the spec's rules */
    gw_rewrite_e   path;        /* NONE: the request's path and query */
    const char    *path_value;
} gw_dp_redirect_t;

typedef struct {
    gw_dp_header_mod_t  *request;   /* NULL when absent */
    gw_dp_header_mod_t  *response;
    gw_dp_redirect_t    *redirect;
} gw_dp_filters_t;

/*
 * The filters of rule (spec.rules[i] of an HTTPRoute's JSON, decoded as
 * rule) into out.  NULL when nginx can carry them, else why not (starting
 * with GW_DP_INCOMPATIBLE for combinations the spec forbids), allocated
 * from a.  URLRewrite and the filter types we do not carry are left to the
 * caller.
 */
const char *gw_dp_filters_decode(gw_arena_t *a, const cJSON *rule_json,
    const gw_http_rule_t *rule, gw_dp_filters_t *out);

/* 1 for the types gw_dp_filters_decode() reads. */
int gw_dp_filter_type_known(const char *type);

/* "X-Foo" -> "x_foo": nginx has the client's header as $http_x_foo. */
const char *gw_dp_header_var(gw_arena_t *a, const char *name);

/* The rule's JSON (spec.rules[index] of the route), or NULL. */
const cJSON *gw_dp_rule_json(const gw_obj_t *route, size_t index);

#endif /* GW_DATAPLANE_FILTER_H */
