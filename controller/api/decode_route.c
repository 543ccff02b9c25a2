/*
 * ngx-gateway: decoding HTTPRoute and ReferenceGrant.
 */

#include <string.h>

#include "api/decode.h"
#include "api/rule_ext.h"


int
gw_decode_parent_refs(gw_dec_t *d, const cJSON *spec, gw_parent_ref_t **out,
    size_t *n)
{
    size_t            i;
    const char       *p;
    const cJSON      *arr, *it;
    gw_parent_ref_t  *pr;

    if (gw_dec_array(d, spec, "parentRefs", "spec", 32, &arr, n) != GW_OK) {
        return GW_ERR;
    }

    *out = gw_arena_alloc(d->arena, (*n + 1) * sizeof(gw_parent_ref_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        pr = &(*out)[i];
        p = gw_dec_path(d, "spec", "parentRefs", (long) i);

        if (gw_dec_str(d, it, "group", p, GW_GROUP, &pr->group) != GW_OK
            || gw_dec_str(d, it, "kind", p, "Gateway", &pr->kind) != GW_OK
            || gw_dec_str(d, it, "namespace", p, NULL, &pr->namespace)
               != GW_OK
            || gw_dec_str_req(d, it, "name", p, &pr->name) != GW_OK
            || gw_dec_str(d, it, "sectionName", p, NULL, &pr->section_name)
               != GW_OK
            || gw_dec_int(d, it, "port", p, 1, 65535, 0, &pr->port) != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


/* The CRD's CEL rules on HTTPPathMatch values. */
static int
gw_decode_check_path(gw_dec_t *d, const char *p, const char *value)
{
    size_t       n;
    const char  *bad;

    if (value[0] != '/') {
        gw_err_set(d->err, "%s.value: Invalid value: value must be an "
                   "absolute path and start with '/' when type one of "
                   "['Exact', 'PathPrefix']", p);
        return GW_ERR;
    }

    n = strlen(value);
    bad = NULL;

    if (strstr(value, "//") != NULL) {
        bad = "must not contain '//'";
    } else if (strstr(value, "/./") != NULL) {
        bad = "must not contain '/./'";
    } else if (strstr(value, "/../") != NULL) {
        bad = "must not contain '/../'";
    } else if (strstr(value, "%2f") != NULL || strstr(value, "%2F") != NULL) {
        bad = "must not contain '%2f' or '%2F'";
    } else if (strchr(value, '#') != NULL) {
        bad = "must not contain '#'";
    } else if ((n >= 2 && strcmp(value + n - 2, "/.") == 0)
               || (n >= 3 && strcmp(value + n - 3, "/..") == 0))
    {
        bad = "must not end with '/.' or '/..'";
    } else if (n > 1024) {
        bad = "must be no more than 1024 characters";
    }

    if (bad != NULL) {
        gw_err_set(d->err, "%s.value: Invalid value: \"%s\": %s", p, value,
                   bad);
        return GW_ERR;
    }

    return GW_OK;
}


int
gw_decode_kv_matches(gw_dec_t *d, const cJSON *m, const char *key,
    const char *p, gw_kv_match_t **out, size_t *n)
{
    size_t        i;
    const char   *q;
    const cJSON  *arr, *it;

    if (gw_dec_array(d, m, key, p, 16, &arr, n) != GW_OK) {
        return GW_ERR;
    }

    *out = gw_arena_alloc(d->arena, (*n + 1) * sizeof(gw_kv_match_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        q = gw_dec_path(d, p, key, (long) i);
        if (gw_dec_str(d, it, "type", q, "Exact", &(*out)[i].type) != GW_OK
            || gw_dec_str_req(d, it, "name", q, &(*out)[i].name) != GW_OK
            || gw_dec_str(d, it, "value", q, "", &(*out)[i].value) != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


static int
gw_decode_match(gw_dec_t *d, const cJSON *m, const char *p,
    gw_http_match_t *out)
{
    const char   *q;
    const cJSON  *path;

    out->path_type = GW_PATH_PREFIX;
    out->path_type_name = "PathPrefix";
    out->path = "/";

    if (gw_dec_object(d, m, "path", p, &path) != GW_OK) {
        return GW_ERR;
    }

    if (path != NULL) {
        q = gw_dec_path(d, p, "path", -1);
        if (gw_dec_str(d, path, "type", q, "PathPrefix", &out->path_type_name)
                != GW_OK
            || gw_dec_str(d, path, "value", q, "/", &out->path) != GW_OK)
        {
            return GW_ERR;
        }

        if (strcmp(out->path_type_name, "PathPrefix") == 0) {
            out->path_type = GW_PATH_PREFIX;
        } else if (strcmp(out->path_type_name, "Exact") == 0) {
            out->path_type = GW_PATH_EXACT;
        } else if (strcmp(out->path_type_name, "RegularExpression") == 0) {
            out->path_type = GW_PATH_REGEX;
        } else {
            gw_err_set(d->err, "%s.type: Unsupported value: \"%s\": "
                       "supported values: \"Exact\", \"PathPrefix\", "
                       "\"RegularExpression\"", q, out->path_type_name);
            return GW_ERR;
        }

        if (out->path_type != GW_PATH_REGEX
            && gw_decode_check_path(d, q, out->path) != GW_OK)
        {
            return GW_ERR;
        }
    }

    if (gw_decode_kv_matches(d, m, "headers", p, &out->headers,
                             &out->nheaders) != GW_OK
        || gw_decode_kv_matches(d, m, "queryParams", p, &out->queries,
                                &out->nqueries) != GW_OK)
    {
        return GW_ERR;
    }

    return gw_dec_str(d, m, "method", p, NULL, &out->method);
}


int
gw_decode_backend_refs(gw_dec_t *d, const cJSON *rule, const char *p,
    gw_backend_ref_t **out, size_t *n)
{
    size_t             i;
    const char        *q;
    const cJSON       *arr, *it;
    gw_backend_ref_t  *b;

    if (gw_dec_array(d, rule, "backendRefs", p, 16, &arr, n) != GW_OK) {
        return GW_ERR;
    }

    *out = gw_arena_alloc(d->arena, (*n + 1) * sizeof(gw_backend_ref_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        b = &(*out)[i];
        q = gw_dec_path(d, p, "backendRefs", (long) i);

        if (gw_dec_str(d, it, "group", q, "", &b->group) != GW_OK
            || gw_dec_str(d, it, "kind", q, "Service", &b->kind) != GW_OK
            || gw_dec_str_req(d, it, "name", q, &b->name) != GW_OK
            || gw_dec_str(d, it, "namespace", q, NULL, &b->namespace)
               != GW_OK
            || gw_dec_int(d, it, "port", q, 1, 65535, 0, &b->port) != GW_OK
            || gw_dec_int(d, it, "weight", q, 0, 1000000, 1, &b->weight)
               != GW_OK
            || gw_decode_filters(d, it, q, &b->filters, &b->nfilters)
               != GW_OK)
        {
            return GW_ERR;
        }

        if (b->port == 0 && b->group[0] == '\0'
            && strcmp(b->kind, "Service") == 0)
        {
            gw_err_set(d->err, "%s: Invalid value: Must have port for "
                       "Service reference", q);
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


static int
gw_decode_rule(gw_dec_t *d, const cJSON *it, const char *p,
    gw_http_rule_t *rule)
{
    size_t        i, n;
    gw_err_t      err;
    const char   *q;
    const cJSON  *arr, *m;

    if (gw_dec_str(d, it, "name", p, NULL, &rule->name) != GW_OK
        || gw_dec_array(d, it, "matches", p, 64, &arr, &n) != GW_OK)
    {
        return GW_ERR;
    }

    /* CRD default: one match, PathPrefix "/" */
    rule->nmatches = n ? n : 1;
    rule->matches = gw_arena_alloc(d->arena,
                                   rule->nmatches * sizeof(gw_http_match_t));
    if (n == 0) {
        rule->matches[0].path_type = GW_PATH_PREFIX;
        rule->matches[0].path_type_name = "PathPrefix";
        rule->matches[0].path = "/";
    }

    i = 0;
    cJSON_ArrayForEach(m, arr) {
        q = gw_dec_path(d, p, "matches", (long) i);
        if (gw_decode_match(d, m, q, &rule->matches[i]) != GW_OK) {
            return GW_ERR;
        }
        i++;
    }

    if (gw_decode_filters(d, it, p, &rule->filters, &rule->nfilters)
        != GW_OK
        || gw_decode_backend_refs(d, it, p, &rule->backends,
                                  &rule->nbackends) != GW_OK)
    {
        return GW_ERR;
    }

    /*
     * A timeouts, retry or sessionPersistence value the CRD refuses drops
     * this rule only (rule->ext->error, graph/route_ext.c), not the route.
     */
    rule->ext = gw_arena_alloc(d->arena, sizeof(gw_rule_ext_t));
    (void) gw_rule_ext_decode(d->arena, it, p, rule->ext, &err);

    return GW_OK;
}


int
gw_decode_httproute(gw_dec_t *d, gw_obj_t *obj)
{
    size_t           i, n;
    const char      *p;
    const cJSON     *spec, *arr, *it;
    gw_httproute_t  *r;

    r = &obj->u.httproute;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_decode_parent_refs(d, spec, &r->parents, &r->nparents)
           != GW_OK
        || gw_dec_strs(d, spec, "hostnames", "spec", 16, &r->hostnames,
                       &r->nhostnames) != GW_OK
        || gw_dec_array(d, spec, "rules", "spec", 16, &arr, &n) != GW_OK)
    {
        return GW_ERR;
    }

    /* CRD default: one rule matching PathPrefix "/" */
    r->nrules = n ? n : 1;
    r->rules = gw_arena_alloc(d->arena, r->nrules * sizeof(gw_http_rule_t));

    if (n == 0) {
        return gw_decode_rule(d, NULL, "spec.rules[0]", &r->rules[0]);
    }

    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "rules", (long) i);
        if (gw_decode_rule(d, it, p, &r->rules[i]) != GW_OK) {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


int
gw_decode_refgrant(gw_dec_t *d, gw_obj_t *obj)
{
    size_t          i;
    const char     *p;
    const cJSON    *spec, *arr, *it;
    gw_refgrant_t  *g;

    g = &obj->u.refgrant;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_dec_array(d, spec, "from", "spec", 16, &arr, &g->nfrom)
           != GW_OK)
    {
        return GW_ERR;
    }

    if (g->nfrom == 0) {
        gw_err_set(d->err, "spec.from: Required value");
        return GW_ERR;
    }

    g->from = gw_arena_alloc(d->arena, g->nfrom * sizeof(gw_grant_from_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "from", (long) i);
        if (gw_dec_str(d, it, "group", p, "", &g->from[i].group) != GW_OK
            || gw_dec_str_req(d, it, "kind", p, &g->from[i].kind) != GW_OK
            || gw_dec_str_req(d, it, "namespace", p, &g->from[i].namespace)
               != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    if (gw_dec_array(d, spec, "to", "spec", 16, &arr, &g->nto) != GW_OK) {
        return GW_ERR;
    }

    if (g->nto == 0) {
        gw_err_set(d->err, "spec.to: Required value");
        return GW_ERR;
    }

    g->to = gw_arena_alloc(d->arena, g->nto * sizeof(gw_grant_to_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "to", (long) i);
        if (gw_dec_str(d, it, "group", p, "", &g->to[i].group) != GW_OK
            || gw_dec_str_req(d, it, "kind", p, &g->to[i].kind) != GW_OK
            || gw_dec_str(d, it, "name", p, NULL, &g->to[i].name) != GW_OK)
        {
            return GW_ERR;
        }
        if (g->to[i].name != NULL && g->to[i].name[0] == '\0') {
            g->to[i].name = NULL;
        }
        i++;
    }

    return GW_OK;
}
