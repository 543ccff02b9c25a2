/*
 * ngx-gateway: decoding HTTPRoute and GRPCRoute filters (rules and
 * backendRefs) into their typed form (api.h).
 *
 * Like the API server, decoding refuses a filter whose type and fields
 * disagree (the CRD's CEL rules: a RequestRedirect filter needs its
 * requestRedirect field and no other) and fields of the wrong JSON type.
 * Values are kept as written: whether nginx can carry them is checked by
 * the graph (dataplane/filter.c), whose refusal becomes a condition.
 */

#include <string.h>

#include "api/decode.h"

typedef struct {
    const char        *type;
    const char        *field;
    gw_filter_type_e   kind;
} gw_dec_filter_kind_t;

static const gw_dec_filter_kind_t  gw_dec_filter_kinds[] = {
    { "RequestHeaderModifier", "requestHeaderModifier",
      GW_FILTER_REQUEST_HEADER },
    { "ResponseHeaderModifier", "responseHeaderModifier",
      GW_FILTER_RESPONSE_HEADER },
    { "RequestMirror", "requestMirror", GW_FILTER_REQUEST_MIRROR },
    { "RequestRedirect", "requestRedirect", GW_FILTER_REQUEST_REDIRECT },
    { "URLRewrite", "urlRewrite", GW_FILTER_URL_REWRITE },
    { "CORS", "cors", GW_FILTER_CORS },
    { "ExtensionRef", "extensionRef", GW_FILTER_EXTENSION_REF },
    { NULL, NULL, GW_FILTER_UNKNOWN }
};


static int
gw_decode_header_list(gw_dec_t *d, const cJSON *mod, const char *key,
    const char *p, gw_header_t **out, size_t *n)
{
    size_t        i;
    const char   *q;
    const cJSON  *arr, *it;

    if (gw_dec_array(d, mod, key, p, 16, &arr, n) != GW_OK) {
        return GW_ERR;
    }

    *out = gw_arena_alloc(d->arena, (*n + 1) * sizeof(gw_header_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        q = gw_dec_path(d, p, key, (long) i);
        if (gw_dec_str_req(d, it, "name", q, &(*out)[i].name) != GW_OK
            || gw_dec_str(d, it, "value", q, "", &(*out)[i].value) != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


static int
gw_decode_header_mod(gw_dec_t *d, const cJSON *mod, const char *p,
    gw_header_mod_t **out)
{
    gw_header_mod_t  *m;

    m = gw_arena_alloc(d->arena, sizeof(gw_header_mod_t));
    *out = m;

    if (gw_decode_header_list(d, mod, "set", p, &m->set, &m->nset) != GW_OK
        || gw_decode_header_list(d, mod, "add", p, &m->add, &m->nadd)
           != GW_OK)
    {
        return GW_ERR;
    }

    return gw_dec_strs(d, mod, "remove", p, 16, &m->remove, &m->nremove);
}


/* HTTPPathModifier of URLRewrite and RequestRedirect. */
static int
gw_decode_path_mod(gw_dec_t *d, const cJSON *obj, const char *p,
    gw_rewrite_e *type, const char **value)
{
    const char   *q, *ptype;
    const cJSON  *path;

    if (gw_dec_object(d, obj, "path", p, &path) != GW_OK) {
        return GW_ERR;
    }

    if (path == NULL) {
        return GW_OK;
    }

    q = gw_dec_path(d, p, "path", -1);
    if (gw_dec_str_req(d, path, "type", q, &ptype) != GW_OK) {
        return GW_ERR;
    }

    if (strcmp(ptype, "ReplaceFullPath") == 0) {
        *type = GW_REWRITE_FULL;
        return gw_dec_str_req(d, path, "replaceFullPath", q, value);
    }

    if (strcmp(ptype, "ReplacePrefixMatch") == 0) {
        *type = GW_REWRITE_PREFIX;
        return gw_dec_str(d, path, "replacePrefixMatch", q, "/", value);
    }

    gw_err_set(d->err, "%s.type: Unsupported value: \"%s\": supported "
               "values: \"ReplaceFullPath\", \"ReplacePrefixMatch\"", q,
               ptype);
    return GW_ERR;
}


static int
gw_decode_redirect(gw_dec_t *d, const cJSON *rr, const char *p,
    gw_redirect_t **out)
{
    gw_redirect_t  *r;

    r = gw_arena_alloc(d->arena, sizeof(gw_redirect_t));
    *out = r;

    /* statusCode and scheme are checked with the other values */
    if (gw_dec_str(d, rr, "scheme", p, NULL, &r->scheme) != GW_OK
        || gw_dec_str(d, rr, "hostname", p, NULL, &r->hostname) != GW_OK
        || gw_dec_int(d, rr, "port", p, 1, 65535, 0, &r->port) != GW_OK
        || gw_dec_int(d, rr, "statusCode", p, 0, 999, 302, &r->status)
           != GW_OK)
    {
        return GW_ERR;
    }

    return gw_decode_path_mod(d, rr, p, &r->path, &r->path_value);
}


static int
gw_decode_rewrite(gw_dec_t *d, const cJSON *rw, const char *p,
    gw_http_filter_t *f)
{
    if (gw_dec_str(d, rw, "hostname", p, NULL, &f->rewrite_hostname)
        != GW_OK)
    {
        return GW_ERR;
    }

    return gw_decode_path_mod(d, rw, p, &f->rewrite_path, &f->rewrite_value);
}


static int
gw_decode_mirror(gw_dec_t *d, const cJSON *rm, const char *p,
    gw_mirror_t **out)
{
    int           percent;
    const char   *q;
    const cJSON  *ref, *fraction;
    gw_mirror_t  *m;

    m = gw_arena_alloc(d->arena, sizeof(gw_mirror_t));
    *out = m;

    if (gw_dec_object(d, rm, "backendRef", p, &ref) != GW_OK
        || gw_dec_object(d, rm, "fraction", p, &fraction) != GW_OK
        || gw_dec_int(d, rm, "percent", p, 0, 100, -1, &percent) != GW_OK)
    {
        return GW_ERR;
    }

    if (ref == NULL) {
        gw_err_set(d->err, "%s.backendRef: Required value", p);
        return GW_ERR;
    }

    q = gw_dec_path(d, p, "backendRef", -1);
    if (gw_dec_str(d, ref, "group", q, "", &m->backend.group) != GW_OK
        || gw_dec_str(d, ref, "kind", q, "Service", &m->backend.kind)
           != GW_OK
        || gw_dec_str_req(d, ref, "name", q, &m->backend.name) != GW_OK
        || gw_dec_str(d, ref, "namespace", q, NULL, &m->backend.namespace)
           != GW_OK
        || gw_dec_int(d, ref, "port", q, 1, 65535, 0, &m->port) != GW_OK)
    {
        return GW_ERR;
    }

    if (percent >= 0 && fraction != NULL) {
        gw_err_set(d->err, "%s: Invalid value: Only one of percent or "
                   "fraction may be specified in HTTPRequestMirrorFilter",
                   p);
        return GW_ERR;
    }

    m->numerator = 100;
    m->denominator = 100;

    if (percent >= 0) {
        m->numerator = percent;

    } else if (fraction != NULL) {
        q = gw_dec_path(d, p, "fraction", -1);
        if (gw_dec_int(d, fraction, "numerator", q, 0, 1000000000, -1,
                       &m->numerator) != GW_OK
            || gw_dec_int(d, fraction, "denominator", q, 1, 1000000000, 100,
                          &m->denominator) != GW_OK)
        {
            return GW_ERR;
        }

        if (m->numerator < 0) {
            gw_err_set(d->err, "%s.numerator: Required value", q);
            return GW_ERR;
        }

        if (m->numerator > m->denominator) {
            gw_err_set(d->err, "%s: Invalid value: numerator must be less "
                       "than or equal to denominator", q);
            return GW_ERR;
        }
    }

    return GW_OK;
}


static int
gw_decode_cors(gw_dec_t *d, const cJSON *c, const char *p, gw_cors_t **out)
{
    const cJSON  *it;
    gw_cors_t    *cors;

    cors = gw_arena_alloc(d->arena, sizeof(gw_cors_t));
    *out = cors;

    if (gw_dec_strs(d, c, "allowOrigins", p, 64, &cors->allow_origins,
                    &cors->nallow_origins) != GW_OK
        || gw_dec_strs(d, c, "allowMethods", p, 9, &cors->allow_methods,
                       &cors->nallow_methods) != GW_OK
        || gw_dec_strs(d, c, "allowHeaders", p, 64, &cors->allow_headers,
                       &cors->nallow_headers) != GW_OK
        || gw_dec_strs(d, c, "exposeHeaders", p, 64, &cors->expose_headers,
                       &cors->nexpose_headers) != GW_OK
        || gw_dec_int(d, c, "maxAge", p, 1, 2147483647, 5, &cors->max_age)
           != GW_OK)
    {
        return GW_ERR;
    }

    it = cJSON_GetObjectItemCaseSensitive(c, "allowCredentials");
    if (it != NULL && !cJSON_IsBool(it)) {
        gw_err_set(d->err, "%s.allowCredentials: must be a boolean", p);
        return GW_ERR;
    }
    cors->allow_credentials = cJSON_IsTrue(it);

    return GW_OK;
}


static int
gw_decode_extension_ref(gw_dec_t *d, const cJSON *e, const char *p,
    gw_obj_ref_t **out)
{
    gw_obj_ref_t  *ref;

    ref = gw_arena_alloc(d->arena, sizeof(gw_obj_ref_t));
    *out = ref;

    if (gw_dec_str(d, e, "group", p, "", &ref->group) != GW_OK
        || gw_dec_str_req(d, e, "kind", p, &ref->kind) != GW_OK)
    {
        return GW_ERR;
    }

    return gw_dec_str_req(d, e, "name", p, &ref->name);
}


/* The filter's own field, decoded by its type. */
static int
gw_decode_filter_body(gw_dec_t *d, const cJSON *body, const char *p,
    gw_http_filter_t *f)
{
    switch (f->kind) {

    case GW_FILTER_REQUEST_HEADER:
    case GW_FILTER_RESPONSE_HEADER:
        return gw_decode_header_mod(d, body, p, &f->headers);

    case GW_FILTER_REQUEST_MIRROR:
        return gw_decode_mirror(d, body, p, &f->mirror);

    case GW_FILTER_REQUEST_REDIRECT:
        return gw_decode_redirect(d, body, p, &f->redirect);

    case GW_FILTER_URL_REWRITE:
        return gw_decode_rewrite(d, body, p, f);

    case GW_FILTER_CORS:
        return gw_decode_cors(d, body, p, &f->cors);

    case GW_FILTER_EXTENSION_REF:
        return gw_decode_extension_ref(d, body, p, &f->extension_ref);

    default:
        return GW_OK;
    }
}


static int
gw_decode_filter(gw_dec_t *d, const cJSON *it, const char *p,
    gw_http_filter_t *f)
{
    size_t                       i;
    const char                  *q;
    const cJSON                 *body, *other;
    const gw_dec_filter_kind_t  *k, *own;

    if (gw_dec_str_req(d, it, "type", p, &f->type) != GW_OK) {
        return GW_ERR;
    }

    own = NULL;

    for (i = 0; gw_dec_filter_kinds[i].type != NULL; i++) {
        k = &gw_dec_filter_kinds[i];

        if (strcmp(f->type, k->type) == 0) {
            own = k;
            continue;
        }

        other = cJSON_GetObjectItemCaseSensitive(it, k->field);
        if (other != NULL && !cJSON_IsNull(other)) {
            gw_err_set(d->err, "%s: Invalid value: filter.%s must be nil "
                       "if the filter.type is not %s", p, k->field,
                       k->type);
            return GW_ERR;
        }
    }

    if (own == NULL) {
        /* unknown: the graph says so in the route's condition */
        f->kind = GW_FILTER_UNKNOWN;
        return GW_OK;
    }

    f->kind = own->kind;

    if (gw_dec_object(d, it, own->field, p, &body) != GW_OK) {
        return GW_ERR;
    }

    if (body == NULL) {
        gw_err_set(d->err, "%s.%s: Required value: filter.%s must be "
                   "specified for %s filter.type", p, own->field,
                   own->field, own->type);
        return GW_ERR;
    }

    q = gw_dec_path(d, p, own->field, -1);

    return gw_decode_filter_body(d, body, q, f);
}


int
gw_decode_filters(gw_dec_t *d, const cJSON *obj, const char *p,
    gw_http_filter_t **out, size_t *n)
{
    size_t        i;
    const char   *q;
    const cJSON  *arr, *it;

    if (gw_dec_array(d, obj, "filters", p, 16, &arr, n) != GW_OK) {
        return GW_ERR;
    }

    *out = gw_arena_alloc(d->arena, (*n + 1) * sizeof(gw_http_filter_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        q = gw_dec_path(d, p, "filters", (long) i);
        if (gw_decode_filter(d, it, q, &(*out)[i]) != GW_OK) {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}
