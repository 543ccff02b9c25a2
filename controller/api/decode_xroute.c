/*
 * ngx-gateway: decoding GRPCRoute, TLSRoute, TCPRoute and UDPRoute, with
 * the CRD defaults and schema checks (v1.6.1; the v1alpha2 and v1alpha3
 * forms have the same fields).
 */

#include <string.h>

#include "api/decode.h"


static int
gw_decode_grpc_method(gw_dec_t *d, const cJSON *m, const char *p,
    gw_grpc_match_t *out)
{
    const char        *q;
    const cJSON       *obj;
    gw_grpc_method_t  *gm;

    if (gw_dec_object(d, m, "method", p, &obj) != GW_OK) {
        return GW_ERR;
    }

    if (obj == NULL) {
        return GW_OK;
    }

    q = gw_dec_path(d, p, "method", -1);
    gm = gw_arena_alloc(d->arena, sizeof(gw_grpc_method_t));

    if (gw_dec_str(d, obj, "type", q, "Exact", &gm->type) != GW_OK
        || gw_dec_str(d, obj, "service", q, NULL, &gm->service) != GW_OK
        || gw_dec_str(d, obj, "method", q, NULL, &gm->method) != GW_OK)
    {
        return GW_ERR;
    }

    if (strcmp(gm->type, "Exact") != 0
        && strcmp(gm->type, "RegularExpression") != 0)
    {
        gw_err_set(d->err, "%s.type: Unsupported value: \"%s\": supported "
                   "values: \"Exact\", \"RegularExpression\"", q, gm->type);
        return GW_ERR;
    }

    /* the CRD's maxLength, as the API server refuses the object */
    if (gm->service != NULL && strlen(gm->service) > 1024) {
        gw_err_set(d->err, "%s.service: Too long: may not be more than "
                   "1024 bytes", q);
        return GW_ERR;
    }

    if (gm->method != NULL && strlen(gm->method) > 1024) {
        gw_err_set(d->err, "%s.method: Too long: may not be more than "
                   "1024 bytes", q);
        return GW_ERR;
    }

    if (gm->service == NULL && gm->method == NULL) {
        gw_err_set(d->err, "%s: Invalid value: One or both of 'service' or "
                   "'method' must be specified", q);
        return GW_ERR;
    }

    if (strcmp(gm->type, "Exact") == 0
        && ((gm->service != NULL && strchr(gm->service, '/') != NULL)
            || (gm->method != NULL && strchr(gm->method, '/') != NULL)))
    {
        gw_err_set(d->err, "%s: Invalid value: service and method must not "
                   "contain '/' when type is Exact", q);
        return GW_ERR;
    }

    out->method = gm;

    return GW_OK;
}


static int
gw_decode_grpc_rule(gw_dec_t *d, const cJSON *it, const char *p,
    gw_grpc_rule_t *rule)
{
    size_t        i;
    const char   *q;
    const cJSON  *arr, *m;

    if (gw_dec_str(d, it, "name", p, NULL, &rule->name) != GW_OK
        || gw_dec_array(d, it, "matches", p, 64, &arr, &rule->nmatches)
           != GW_OK)
    {
        return GW_ERR;
    }

    rule->matches = gw_arena_alloc(d->arena, (rule->nmatches + 1)
                                             * sizeof(gw_grpc_match_t));
    i = 0;
    cJSON_ArrayForEach(m, arr) {
        q = gw_dec_path(d, p, "matches", (long) i);
        if (gw_decode_grpc_method(d, m, q, &rule->matches[i]) != GW_OK
            || gw_decode_kv_matches(d, m, "headers", q,
                                    &rule->matches[i].headers,
                                    &rule->matches[i].nheaders) != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    if (gw_decode_filters(d, it, p, &rule->filters, &rule->nfilters)
        != GW_OK)
    {
        return GW_ERR;
    }

    return gw_decode_backend_refs(d, it, p, &rule->backends,
                                  &rule->nbackends);
}


int
gw_decode_grpcroute(gw_dec_t *d, gw_obj_t *obj)
{
    size_t           i;
    const char      *p;
    const cJSON     *spec, *arr, *it;
    gw_grpcroute_t  *r;

    r = &obj->u.grpcroute;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_decode_parent_refs(d, spec, &r->parents, &r->nparents)
           != GW_OK
        || gw_dec_strs(d, spec, "hostnames", "spec", 16, &r->hostnames,
                       &r->nhostnames) != GW_OK
        || gw_dec_array(d, spec, "rules", "spec", 16, &arr, &r->nrules)
           != GW_OK)
    {
        return GW_ERR;
    }

    /* No CRD default rule: a GRPCRoute without rules has nothing to do. */
    r->rules = gw_arena_alloc(d->arena,
                              (r->nrules + 1) * sizeof(gw_grpc_rule_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "rules", (long) i);
        if (gw_decode_grpc_rule(d, it, p, &r->rules[i]) != GW_OK) {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


/* TLSRoute, TCPRoute, UDPRoute */

int
gw_decode_l4route(gw_dec_t *d, gw_obj_t *obj)
{
    int            v1;
    size_t         i;
    const char    *p, *slash;
    const cJSON   *spec, *arr, *it;
    gw_l4route_t  *r;

    r = &obj->u.l4route;

    /* v1 allows one rule and needs a TLSRoute hostname; alphas did not */
    slash = strchr(obj->api_version, '/');
    v1 = (slash != NULL && strcmp(slash + 1, "v1") == 0);

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_decode_parent_refs(d, spec, &r->parents, &r->nparents)
           != GW_OK
        || gw_dec_array(d, spec, "rules", "spec", v1 ? 1 : 16, &arr,
                        &r->nrules)
           != GW_OK)
    {
        return GW_ERR;
    }

    if (obj->kind == GW_KIND_TLSROUTE) {
        if (gw_dec_strs(d, spec, "hostnames", "spec", 1024, &r->hostnames,
                        &r->nhostnames) != GW_OK)
        {
            return GW_ERR;
        }

        if (v1 && r->nhostnames == 0) {
            gw_err_set(d->err, "spec.hostnames: Required value");
            return GW_ERR;
        }
    }

    if (r->nrules == 0) {
        gw_err_set(d->err, "spec.rules: Required value");
        return GW_ERR;
    }

    r->rules = gw_arena_alloc(d->arena,
                              (r->nrules + 1) * sizeof(gw_l4_rule_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "rules", (long) i);

        if (gw_dec_str(d, it, "name", p, NULL, &r->rules[i].name) != GW_OK
            || gw_decode_backend_refs(d, it, p, &r->rules[i].backends,
                                      &r->rules[i].nbackends) != GW_OK)
        {
            return GW_ERR;
        }

        if (r->rules[i].nbackends == 0) {
            gw_err_set(d->err, "%s.backendRefs: Required value", p);
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}
