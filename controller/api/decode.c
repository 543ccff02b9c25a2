/*
 * ngx-gateway: object decoding, common part: kinds, metadata, field
 * helpers, label selectors.
 */

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "api/decode.h"
#include "validate/names.h"


typedef struct {
    const char  *group;          /* apiVersion without the version */
    const char  *kind;
    gw_kind_e    id;
    int          namespaced;
    int        (*decode)(gw_dec_t *d, gw_obj_t *obj);
} gw_kind_desc_t;


static const gw_kind_desc_t  gw_kinds[] = {
    { "", "Namespace", GW_KIND_NAMESPACE, 0, NULL },
    { "", "Service", GW_KIND_SERVICE, 1, gw_decode_service },
    { "discovery.k8s.io", "EndpointSlice", GW_KIND_ENDPOINTSLICE, 1,
      gw_decode_endpointslice },
    { "", "Secret", GW_KIND_SECRET, 1, gw_decode_secret },
    { GW_GROUP, "GatewayClass", GW_KIND_GATEWAYCLASS, 0,
      gw_decode_gatewayclass },
    { GW_GROUP, "Gateway", GW_KIND_GATEWAY, 1, gw_decode_gateway },
    { GW_GROUP, "HTTPRoute", GW_KIND_HTTPROUTE, 1, gw_decode_httproute },
    { GW_GROUP, "GRPCRoute", GW_KIND_GRPCROUTE, 1, gw_decode_grpcroute },
    { GW_GROUP, "TLSRoute", GW_KIND_TLSROUTE, 1, gw_decode_l4route },
    { GW_GROUP, "TCPRoute", GW_KIND_TCPROUTE, 1, gw_decode_l4route },
    { GW_GROUP, "UDPRoute", GW_KIND_UDPROUTE, 1, gw_decode_l4route },
    { GW_GROUP, "ReferenceGrant", GW_KIND_REFERENCEGRANT, 1,
      gw_decode_refgrant },
    { GW_GROUP, "ListenerSet", GW_KIND_LISTENERSET, 1,
      gw_decode_listenerset },
    { "apiextensions.k8s.io", "CustomResourceDefinition", GW_KIND_CRD, 0,
      gw_decode_crd },
    { "", "ConfigMap", GW_KIND_CONFIGMAP, 1, gw_decode_configmap },
    { GW_GROUP, "BackendTLSPolicy", GW_KIND_BACKENDTLSPOLICY, 1,
      gw_decode_backendtlspolicy },
};

_Static_assert(gw_countof(gw_kinds) == GW_KIND_MAX,
               "gw_kinds[] lists every gw_kind_e in order");


const char *
gw_kind_name(gw_kind_e kind)
{
    size_t  i;

    for (i = 0; i < gw_countof(gw_kinds); i++) {
        if (gw_kinds[i].id == kind) {
            return gw_kinds[i].kind;
        }
    }

    return "Unknown";
}


int
gw_kind_namespaced(gw_kind_e kind)
{
    return gw_kinds[kind].namespaced;
}


int
gw_kind_lookup(const char *api_version, const char *kind, gw_kind_e *out)
{
    size_t       i, glen;
    const char  *slash;

    if (api_version == NULL || kind == NULL) {
        return GW_ERR;
    }

    slash = strchr(api_version, '/');
    glen = slash ? (size_t) (slash - api_version) : 0;

    for (i = 0; i < gw_countof(gw_kinds); i++) {
        if (strcmp(gw_kinds[i].kind, kind) != 0) {
            continue;
        }
        if (strlen(gw_kinds[i].group) != glen
            || strncmp(gw_kinds[i].group, api_version, glen) != 0)
        {
            continue;
        }
        *out = gw_kinds[i].id;
        return GW_OK;
    }

    return GW_ERR;
}


char *
gw_dec_path(gw_dec_t *d, const char *base, const char *key, long idx)
{
    if (idx >= 0) {
        return gw_arena_printf(d->arena, "%s%s%s[%ld]", base,
                               *base ? "." : "", key, idx);
    }

    return gw_arena_printf(d->arena, "%s%s%s", base, *base ? "." : "", key);
}


int
gw_dec_str(gw_dec_t *d, const cJSON *obj, const char *key, const char *path,
    const char *def, const char **out)
{
    const cJSON  *v;

    v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        *out = def;
        return GW_OK;
    }

    if (!cJSON_IsString(v)) {
        gw_err_set(d->err, "%s%s%s: must be a string", path, *path ? "." : "",
                   key);
        return GW_ERR;
    }

    *out = gw_arena_strdup(d->arena, v->valuestring);

    return GW_OK;
}


int
gw_dec_str_req(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, const char **out)
{
    if (gw_dec_str(d, obj, key, path, NULL, out) != GW_OK) {
        return GW_ERR;
    }

    if (*out == NULL || **out == '\0') {
        gw_err_set(d->err, "%s%s%s: Required value", path, *path ? "." : "",
                   key);
        return GW_ERR;
    }

    return GW_OK;
}


int
gw_dec_int(gw_dec_t *d, const cJSON *obj, const char *key, const char *path,
    int min, int max, int def, int *out)
{
    const cJSON  *v;

    v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    if (v == NULL || cJSON_IsNull(v)) {
        *out = def;
        return GW_OK;
    }

    if (!cJSON_IsNumber(v) || v->valuedouble != (double) (long long)
        v->valuedouble)
    {
        gw_err_set(d->err, "%s%s%s: must be an integer", path,
                   *path ? "." : "", key);
        return GW_ERR;
    }

    if (v->valuedouble < min || v->valuedouble > max) {
        gw_err_set(d->err, "%s%s%s: must be between %d and %d", path,
                   *path ? "." : "", key, min, max);
        return GW_ERR;
    }

    *out = (int) v->valuedouble;

    return GW_OK;
}


int
gw_dec_array(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, size_t max, const cJSON **out, size_t *n)
{
    const cJSON  *v;

    v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *out = NULL;
    *n = 0;

    if (v == NULL || cJSON_IsNull(v)) {
        return GW_OK;
    }

    if (!cJSON_IsArray(v)) {
        gw_err_set(d->err, "%s%s%s: must be a list", path, *path ? "." : "",
                   key);
        return GW_ERR;
    }

    *n = (size_t) cJSON_GetArraySize(v);
    if (*n > max) {
        gw_err_set(d->err, "%s%s%s: must have at most %zu items", path,
                   *path ? "." : "", key, max);
        return GW_ERR;
    }

    *out = v;

    return GW_OK;
}


int
gw_dec_object(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, const cJSON **out)
{
    const cJSON  *v;

    v = obj ? cJSON_GetObjectItemCaseSensitive(obj, key) : NULL;
    *out = NULL;

    if (v == NULL || cJSON_IsNull(v)) {
        return GW_OK;
    }

    if (!cJSON_IsObject(v)) {
        gw_err_set(d->err, "%s%s%s: must be an object", path,
                   *path ? "." : "", key);
        return GW_ERR;
    }

    *out = v;

    return GW_OK;
}


int
gw_dec_strs(gw_dec_t *d, const cJSON *obj, const char *key, const char *path,
    size_t max, const char ***out, size_t *n)
{
    size_t        i;
    const cJSON  *arr, *it;

    if (gw_dec_array(d, obj, key, path, max, &arr, n) != GW_OK) {
        return GW_ERR;
    }

    *out = gw_arena_alloc(d->arena, (*n + 1) * sizeof(char *));

    i = 0;
    cJSON_ArrayForEach(it, arr) {
        if (!cJSON_IsString(it)) {
            gw_err_set(d->err, "%s%s%s[%zu]: must be a string", path,
                       *path ? "." : "", key, i);
            return GW_ERR;
        }
        (*out)[i++] = gw_arena_strdup(d->arena, it->valuestring);
    }

    return GW_OK;
}


int
gw_dec_labels(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, gw_label_t **out, size_t *n)
{
    size_t        i;
    const cJSON  *map, *it;

    if (gw_dec_object(d, obj, key, path, &map) != GW_OK) {
        return GW_ERR;
    }

    *n = map ? (size_t) cJSON_GetArraySize(map) : 0;
    *out = gw_arena_alloc(d->arena, (*n + 1) * sizeof(gw_label_t));

    i = 0;
    cJSON_ArrayForEach(it, map) {
        if (!cJSON_IsString(it)) {
            gw_err_set(d->err, "%s%s%s.%s: must be a string", path,
                       *path ? "." : "", key, it->string);
            return GW_ERR;
        }
        (*out)[i].key = gw_arena_strdup(d->arena, it->string);
        (*out)[i].value = gw_arena_strdup(d->arena, it->valuestring);
        i++;
    }

    return GW_OK;
}


static int
gw_dec_sel_op(gw_dec_t *d, const char *op, const char *path, gw_sel_op_e *out)
{
    if (gw_streq(op, "In")) {
        *out = GW_SEL_IN;
    } else if (gw_streq(op, "NotIn")) {
        *out = GW_SEL_NOT_IN;
    } else if (gw_streq(op, "Exists")) {
        *out = GW_SEL_EXISTS;
    } else if (gw_streq(op, "DoesNotExist")) {
        *out = GW_SEL_DOES_NOT_EXIST;
    } else {
        gw_err_set(d->err, "%s.operator: Unsupported value: \"%s\": "
                   "supported values: \"In\", \"NotIn\", \"Exists\", "
                   "\"DoesNotExist\"", path, op ? op : "");
        return GW_ERR;
    }

    return GW_OK;
}


int
gw_dec_selector(gw_dec_t *d, const cJSON *obj, const char *path,
    gw_selector_t **out)
{
    size_t          i;
    const char     *op, *p;
    const cJSON    *arr, *it;
    gw_selector_t  *sel;
    gw_sel_expr_t  *e;

    sel = gw_arena_alloc(d->arena, sizeof(gw_selector_t));

    if (gw_dec_labels(d, obj, "matchLabels", path, &sel->match_labels,
                      &sel->nmatch_labels) != GW_OK
        || gw_dec_array(d, obj, "matchExpressions", path, 1024, &arr,
                        &sel->nexprs) != GW_OK)
    {
        return GW_ERR;
    }

    sel->exprs = gw_arena_alloc(d->arena,
                                (sel->nexprs + 1) * sizeof(gw_sel_expr_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        e = &sel->exprs[i];
        p = gw_dec_path(d, path, "matchExpressions", (long) i);

        if (gw_dec_str_req(d, it, "key", p, &e->key) != GW_OK
            || gw_dec_str_req(d, it, "operator", p, &op) != GW_OK
            || gw_dec_sel_op(d, op, p, &e->op) != GW_OK
            || gw_dec_strs(d, it, "values", p, 1024, &e->values,
                           &e->nvalues) != GW_OK)
        {
            return GW_ERR;
        }

        if ((e->op == GW_SEL_IN || e->op == GW_SEL_NOT_IN)
            && e->nvalues == 0)
        {
            gw_err_set(d->err, "%s.values: must be specified when "
                       "`operator` is 'In' or 'NotIn'", p);
            return GW_ERR;
        }

        if ((e->op == GW_SEL_EXISTS || e->op == GW_SEL_DOES_NOT_EXIST)
            && e->nvalues != 0)
        {
            gw_err_set(d->err, "%s.values: may not be specified when "
                       "`operator` is 'Exists' or 'DoesNotExist'", p);
            return GW_ERR;
        }
        i++;
    }

    *out = sel;

    return GW_OK;
}


const char *
gw_labels_get(const gw_meta_t *meta, const char *key)
{
    size_t  i;

    for (i = 0; i < meta->nlabels; i++) {
        if (strcmp(meta->labels[i].key, key) == 0) {
            return meta->labels[i].value;
        }
    }

    return NULL;
}


int
gw_selector_matches(const gw_selector_t *sel, const gw_meta_t *meta)
{
    size_t                i, j;
    int                   found;
    const char           *v;
    const gw_sel_expr_t  *e;

    for (i = 0; i < sel->nmatch_labels; i++) {
        v = gw_labels_get(meta, sel->match_labels[i].key);
        if (!gw_streq(v, sel->match_labels[i].value)) {
            return 0;
        }
    }

    for (i = 0; i < sel->nexprs; i++) {
        e = &sel->exprs[i];
        v = gw_labels_get(meta, e->key);

        found = 0;
        for (j = 0; v != NULL && j < e->nvalues; j++) {
            if (strcmp(v, e->values[j]) == 0) {
                found = 1;
            }
        }

        switch (e->op) {
        case GW_SEL_IN:
            if (!found) {
                return 0;
            }
            break;
        case GW_SEL_NOT_IN:
            if (found) {
                return 0;
            }
            break;
        case GW_SEL_EXISTS:
            if (v == NULL) {
                return 0;
            }
            break;
        case GW_SEL_DOES_NOT_EXIST:
            if (v != NULL) {
                return 0;
            }
            break;
        }
    }

    return 1;
}


static int
gw_decode_meta(gw_dec_t *d, gw_obj_t *obj)
{
    int            namespaced;
    double         gen;
    const cJSON   *meta, *g;
    char           synth[512];
    gw_label_t    *labels;

    meta = cJSON_GetObjectItemCaseSensitive(obj->json, "metadata");
    if (!cJSON_IsObject(meta)) {
        gw_err_set(d->err, "metadata: Required value");
        return GW_ERR;
    }

    namespaced = gw_kind_namespaced(obj->kind);

    if (gw_dec_str_req(d, meta, "name", "metadata", &obj->meta.name) != GW_OK
        || gw_dec_str(d, meta, "namespace", "metadata",
                      namespaced ? "default" : "", &obj->meta.namespace)
           != GW_OK
        || gw_dec_str(d, meta, "uid", "metadata", "", &obj->meta.uid) != GW_OK
        || gw_dec_str(d, meta, "creationTimestamp", "metadata", "",
                      &obj->meta.creation_timestamp) != GW_OK
        || gw_dec_labels(d, meta, "labels", "metadata", &obj->meta.labels,
                         &obj->meta.nlabels) != GW_OK)
    {
        return GW_ERR;
    }

    if (!namespaced) {
        obj->meta.namespace = "";
    }

    /* as the API server checks them: names reach nginx and file names */
    if (gw_valid_object_name("metadata.name", obj->meta.name,
                             obj->kind == GW_KIND_NAMESPACE
                             || obj->kind == GW_KIND_SERVICE, d->err)
            != GW_OK
        || (namespaced
            && gw_valid_object_name("metadata.namespace",
                                    obj->meta.namespace, 1, d->err)
               != GW_OK))
    {
        return GW_ERR;
    }

    g = cJSON_GetObjectItemCaseSensitive(meta, "generation");
    gen = cJSON_IsNumber(g) ? g->valuedouble : 1;
    obj->meta.generation = gen >= 1 ? (int64_t) gen : 1;

    /* The API server labels every Namespace with its own name. */
    if (obj->kind == GW_KIND_NAMESPACE
        && gw_labels_get(&obj->meta, "kubernetes.io/metadata.name") == NULL)
    {
        labels = gw_arena_alloc(d->arena,
                                (obj->meta.nlabels + 1) * sizeof(gw_label_t));
        if (obj->meta.nlabels > 0) {
            memcpy(labels, obj->meta.labels,
                   obj->meta.nlabels * sizeof(gw_label_t));
        }
        snprintf(synth, sizeof(synth), "%s", obj->meta.name);
        labels[obj->meta.nlabels].key = "kubernetes.io/metadata.name";
        labels[obj->meta.nlabels].value = gw_arena_strdup(d->arena, synth);
        obj->meta.labels = labels;
        obj->meta.nlabels++;
    }

    return GW_OK;
}


int
gw_obj_decode(cJSON *json, const char *origin, gw_obj_t **out, gw_err_t *err)
{
    int          rc;
    gw_dec_t     d;
    gw_obj_t    *obj;
    const char  *kind;

    obj = gw_xcalloc(1, sizeof(gw_obj_t));
    gw_arena_init(&obj->arena);
    obj->json = json;
    obj->origin = gw_arena_strdup(&obj->arena, origin ? origin : "");

    d.arena = &obj->arena;
    d.err = err;

    rc = GW_ERR;

    if (!cJSON_IsObject(json)) {
        gw_err_set(err, "object is not a mapping");
        goto out;
    }

    if (gw_dec_str(&d, json, "apiVersion", "", NULL, &obj->api_version)
            != GW_OK
        || gw_dec_str(&d, json, "kind", "", NULL, &kind) != GW_OK)
    {
        goto out;
    }

    if (gw_kind_lookup(obj->api_version, kind, &obj->kind) != GW_OK) {
        gw_err_set(err, "unsupported kind %s/%s",
                   obj->api_version ? obj->api_version : "",
                   kind ? kind : "");
        goto out;
    }

    if (gw_decode_meta(&d, obj) != GW_OK) {
        goto out;
    }

    if (gw_kinds[obj->kind].decode != NULL
        && gw_kinds[obj->kind].decode(&d, obj) != GW_OK)
    {
        goto out;
    }

    rc = GW_OK;

out:

    if (rc != GW_OK) {
        gw_obj_free(obj);
        obj = NULL;
    }

    *out = obj;

    return rc;
}


void
gw_obj_free(gw_obj_t *obj)
{
    if (obj == NULL) {
        return;
    }

    cJSON_Delete(obj->json);
    gw_arena_release(&obj->arena);
    free(obj);
}
