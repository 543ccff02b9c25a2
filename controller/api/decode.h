/*
 * ngx-gateway: helpers shared by the per-kind decoders (internal).
 */

#ifndef GW_DECODE_H
#define GW_DECODE_H

#include "api/api.h"

typedef struct {
    gw_arena_t  *arena;
    gw_err_t    *err;
} gw_dec_t;

/* A string field; def when absent; GW_ERR when present but not a string. */
int gw_dec_str(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, const char *def, const char **out);
/* As gw_dec_str, but absent or empty is an error. */
int gw_dec_str_req(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, const char **out);
/* An integer field in [min, max]; def when absent. */
int gw_dec_int(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, int min, int max, int def, int *out);
/* An array field (NULL when absent), with at most max items. */
int gw_dec_array(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, size_t max, const cJSON **out, size_t *n);
/* An object field (NULL when absent). */
int gw_dec_object(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, const cJSON **out);
/* An array of strings. */
int gw_dec_strs(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, size_t max, const char ***out, size_t *n);
/* A map of string to string (labels). */
int gw_dec_labels(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, gw_label_t **out, size_t *n);
int gw_dec_selector(gw_dec_t *d, const cJSON *obj, const char *path,
    gw_selector_t **out);

char *gw_dec_path(gw_dec_t *d, const char *base, const char *key, long idx);

int gw_decode_gatewayclass(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_gateway(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_httproute(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_grpcroute(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_l4route(gw_dec_t *d, gw_obj_t *obj);
/* Shared by every route kind (decode_route.c). */
int gw_decode_parent_refs(gw_dec_t *d, const cJSON *spec,
    gw_parent_ref_t **out, size_t *n);
int gw_decode_backend_refs(gw_dec_t *d, const cJSON *rule, const char *p,
    gw_backend_ref_t **out, size_t *n);
/* HTTPRoute/GRPCRoute filters (decode_filter.c): obj's "filters". */
int gw_decode_filters(gw_dec_t *d, const cJSON *obj, const char *p,
    gw_http_filter_t **out, size_t *n);
int gw_decode_kv_matches(gw_dec_t *d, const cJSON *m, const char *key,
    const char *p, gw_kv_match_t **out, size_t *n);
/* One listener entry (Gateway and ListenerSet; decode_gateway.c). */
int gw_decode_listener(gw_dec_t *d, const cJSON *it, const char *p,
    gw_listener_t *l);
/* ListenerSet, and a Gateway's spec.allowedListeners (decode_listenerset.c) */
int gw_decode_listenerset(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_allowed_listeners(gw_dec_t *d, const cJSON *spec,
    gw_gateway_t *gw);
int gw_decode_refgrant(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_service(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_endpointslice(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_secret(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_crd(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_configmap(gw_dec_t *d, gw_obj_t *obj);
int gw_decode_backendtlspolicy(gw_dec_t *d, gw_obj_t *obj);

#endif /* GW_DECODE_H */
