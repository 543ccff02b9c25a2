/*
 * ngx-gateway: HTTPRoute filters for nginx: RequestHeaderModifier,
 * ResponseHeaderModifier and RequestRedirect, read from the rule's JSON
 * and checked against the spec and against what nginx can carry.
 */

#include <ctype.h>
#include <strings.h>
#include <string.h>

#include "dataplane/dataplane_int.h"
#include "validate/names.h"

#define GW_HEADER_NAME_MAX   256
#define GW_HEADER_VALUE_MAX  4096


int
gw_dp_filter_type_known(const char *type)
{
    return strcmp(type, "RequestHeaderModifier") == 0
           || strcmp(type, "ResponseHeaderModifier") == 0
           || strcmp(type, "RequestRedirect") == 0;
}


const cJSON *
gw_dp_rule_json(const gw_obj_t *route, size_t index)
{
    const cJSON  *spec, *rules;

    spec = cJSON_GetObjectItemCaseSensitive(route->json, "spec");
    rules = cJSON_GetObjectItemCaseSensitive(spec, "rules");

    return cJSON_GetArrayItem(rules, (int) index);
}


/*
 * nginx passes a client's header to variables as $http_NAME with '-' as
 * '_', and drops headers with '_' by default: letters, digits and '-'.
 */
static const char *
gw_dp_header_name_check(gw_arena_t *a, const char *what, const char *name)
{
    const char  *p;

    if (name[0] == '\0' || strlen(name) > GW_HEADER_NAME_MAX) {
        return gw_arena_printf(a, "%s: a header name must be 1 to %d "
                               "characters", what, GW_HEADER_NAME_MAX);
    }

    for (p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '-'))
        {
            return gw_arena_printf(a, "%s: header name \"%s\" has '%c': "
                                   "only letters, digits and '-' are "
                                   "supported", what, name, *p);
        }
    }

    return NULL;
}


static const char *
gw_dp_header_value_check(gw_arena_t *a, const char *what, const char *name,
    const char *value)
{
    const unsigned char  *p;

    if (value[0] == '\0' || strlen(value) > GW_HEADER_VALUE_MAX) {
        return gw_arena_printf(a, "%s: the value of header %s must be 1 to "
                               "%d characters", what, name,
                               GW_HEADER_VALUE_MAX);
    }

    for (p = (const unsigned char *) value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return gw_arena_printf(a, "%s: the value of header %s has a "
                                   "control character", what, name);
        }

        if (*p == '$') {
            return gw_arena_printf(a, "%s: the value of header %s has '$', "
                                   "which nginx would read as a variable "
                                   "(there is no escape for it): values "
                                   "with '$' are not supported", what,
                                   name);
        }
    }

    return NULL;
}


/* 1 when name is already in one of the lists of m. */
static int
gw_dp_header_seen(const gw_dp_header_mod_t *m, const char *name)
{
    size_t  i;

    for (i = 0; i < m->nset; i++) {
        if (strcasecmp(m->set[i].name, name) == 0) {
            return 1;
        }
    }

    for (i = 0; i < m->nadd; i++) {
        if (strcasecmp(m->add[i].name, name) == 0) {
            return 1;
        }
    }

    for (i = 0; i < m->nremove; i++) {
        if (strcasecmp(m->remove[i], name) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * A set or add list.  Of entries with equivalent names (case-insensitive)
 * the first counts and the others are ignored, as the spec says; a header
 * in two lists (set and add, ...) is refused: nginx cannot do both.
 */
static const char *
gw_dp_header_list(gw_arena_t *a, const char *what, const cJSON *mod,
    const char *key, gw_dp_header_mod_t *m, gw_dp_kv_t **out, size_t *n)
{
    size_t        i;
    const char   *why, *name, *value;
    gw_dp_kv_t   *list;
    const cJSON  *arr, *it;

    arr = cJSON_GetObjectItemCaseSensitive(mod, key);
    if (arr == NULL) {
        return NULL;
    }

    if (!cJSON_IsArray(arr)) {
        return gw_arena_printf(a, "%s.%s must be a list", what, key);
    }

    list = gw_arena_alloc(a, ((size_t) cJSON_GetArraySize(arr) + 1)
                             * sizeof(gw_dp_kv_t));
    *out = list;

    cJSON_ArrayForEach(it, arr) {
        name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(it,
                                                                     "name"));
        value = cJSON_GetStringValue(
                    cJSON_GetObjectItemCaseSensitive(it, "value"));

        if (name == NULL || value == NULL) {
            return gw_arena_printf(a, "%s.%s: every entry needs a name and "
                                   "a value", what, key);
        }

        why = gw_dp_header_name_check(a, what, name);
        if (why == NULL) {
            why = gw_dp_header_value_check(a, what, name, value);
        }
        if (why != NULL) {
            return why;
        }

        for (i = 0; i < *n; i++) {
            if (strcasecmp(list[i].name, name) == 0) {
                break;
            }
        }
        if (i < *n) {
            continue;
        }

        if (gw_dp_header_seen(m, name)) {
            return gw_arena_printf(a, "%s: header %s is in more than one of "
                                   "set, add and remove", what, name);
        }

        list[*n].name = name;
        list[*n].value = value;
        (*n)++;
    }

    return NULL;
}


static const char *
gw_dp_header_mod(gw_arena_t *a, const char *what, const char *field,
    const cJSON *mod, gw_dp_header_mod_t **out)
{
    size_t               i;
    const char          *why, *name;
    const cJSON         *arr, *it;
    gw_dp_header_mod_t  *m;

    if (!cJSON_IsObject(mod)) {
        return gw_arena_printf(a, "%s: the filter needs its %s field",
                               what, field);
    }

    m = gw_arena_alloc(a, sizeof(gw_dp_header_mod_t));
    *out = m;

    why = gw_dp_header_list(a, what, mod, "set", m, &m->set, &m->nset);
    if (why == NULL) {
        why = gw_dp_header_list(a, what, mod, "add", m, &m->add, &m->nadd);
    }
    if (why != NULL) {
        return why;
    }

    arr = cJSON_GetObjectItemCaseSensitive(mod, "remove");
    if (arr == NULL) {
        return NULL;
    }

    if (!cJSON_IsArray(arr)) {
        return gw_arena_printf(a, "%s.remove must be a list", what);
    }

    m->remove = gw_arena_alloc(a, ((size_t) cJSON_GetArraySize(arr) + 1)
                                  * sizeof(char *));

    cJSON_ArrayForEach(it, arr) {
        name = cJSON_GetStringValue(it);
        if (name == NULL) {
            return gw_arena_printf(a, "%s.remove: every entry must be a "
                                   "header name", what);
        }

        why = gw_dp_header_name_check(a, what, name);
        if (why != NULL) {
            return why;
        }

        for (i = 0; i < m->nremove; i++) {
            if (strcasecmp(m->remove[i], name) == 0) {
                break;
            }
        }
        if (i < m->nremove) {
            continue;
        }

        if (gw_dp_header_seen(m, name)) {
            return gw_arena_printf(a, "%s: header %s is in more than one of "
                                   "set, add and remove", what, name);
        }

        m->remove[m->nremove++] = name;
    }

    return NULL;
}


static const char *
gw_dp_redirect_path(gw_arena_t *a, const cJSON *path,
    const gw_http_rule_t *rule, gw_dp_redirect_t *r)
{
    size_t        i;
    gw_err_t      err;
    const char   *type;

    type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(path,
                                                                 "type"));

    if (type != NULL && strcmp(type, "ReplaceFullPath") == 0) {
        r->path = GW_REWRITE_FULL;
        r->path_value = cJSON_GetStringValue(
                  cJSON_GetObjectItemCaseSensitive(path, "replaceFullPath"));

    } else if (type != NULL && strcmp(type, "ReplacePrefixMatch") == 0) {
        r->path = GW_REWRITE_PREFIX;
        r->path_value = cJSON_GetStringValue(
               cJSON_GetObjectItemCaseSensitive(path, "replacePrefixMatch"));

        for (i = 0; i < rule->nmatches; i++) {
            if (rule->matches[i].path_type != GW_PATH_PREFIX) {
                return "RequestRedirect ReplacePrefixMatch needs every "
                       "match of the rule to be a PathPrefix match";
            }
        }

    } else {
        return gw_arena_printf(a, "RequestRedirect: path type %s is not "
                               "supported (ReplaceFullPath, "
                               "ReplacePrefixMatch)",
                               type ? type : "(none)");
    }

    if (r->path_value == NULL) {
        return gw_arena_printf(a, "RequestRedirect: path type %s needs its "
                               "value", type);
    }

    if (gw_valid_nginx_path(r->path_value, &err) != GW_OK) {
        return gw_arena_printf(a, "RequestRedirect: %s", err.msg);
    }

    return NULL;
}


static const char *
gw_dp_redirect(gw_arena_t *a, const cJSON *rr, const gw_http_rule_t *rule,
    gw_dp_redirect_t **out)
{
    int                v;
    gw_err_t           err;
    const cJSON       *it;
    gw_dp_redirect_t  *r;

    if (!cJSON_IsObject(rr)) {
        return "RequestRedirect: the filter needs its requestRedirect field";
    }

    r = gw_arena_alloc(a, sizeof(gw_dp_redirect_t));
    *out = r;
    r->status = 302;

    it = cJSON_GetObjectItemCaseSensitive(rr, "scheme");
    if (it != NULL) {
        r->scheme = cJSON_GetStringValue(it);
        if (r->scheme == NULL
            || (strcmp(r->scheme, "http") != 0
                && strcmp(r->scheme, "https") != 0))
        {
            return "RequestRedirect: scheme must be http or https";
        }
    }

    it = cJSON_GetObjectItemCaseSensitive(rr, "hostname");
    if (it != NULL) {
        r->hostname = cJSON_GetStringValue(it);
        if (r->hostname == NULL
            || gw_valid_hostname(r->hostname, 0, &err) != GW_OK)
        {
            return gw_arena_printf(a, "RequestRedirect: %s",
                                   r->hostname ? err.msg
                                               : "hostname must be a string");
        }
    }

    it = cJSON_GetObjectItemCaseSensitive(rr, "port");
    if (it != NULL) {
        v = cJSON_IsNumber(it) ? it->valueint : 0;
        if (v < 1 || v > 65535 || (double) v != it->valuedouble) {
            return "RequestRedirect: port must be 1 to 65535";
        }
        r->port = v;
    }

    it = cJSON_GetObjectItemCaseSensitive(rr, "statusCode");
    if (it != NULL) {
        v = cJSON_IsNumber(it) ? it->valueint : 0;
        if ((v != 301 && v != 302 && v != 303 && v != 307 && v != 308)
            || (double) v != it->valuedouble)
        {
            return "RequestRedirect: statusCode must be 301, 302, 303, 307 "
                   "or 308";
        }
        r->status = v;
    }

    it = cJSON_GetObjectItemCaseSensitive(rr, "path");
    if (it != NULL) {
        return gw_dp_redirect_path(a, it, rule, r);
    }

    return NULL;
}


const char *
gw_dp_filters_decode(gw_arena_t *a, const cJSON *rule_json,
    const gw_http_rule_t *rule, gw_dp_filters_t *out)
{
    size_t        i, j;
    const char   *why, *type;
    const cJSON  *filters, *f;

    memset(out, 0, sizeof(gw_dp_filters_t));

    filters = cJSON_GetObjectItemCaseSensitive(rule_json, "filters");

    /* the CRD's rules on combinations, which the API server enforces */
    for (i = 0; i < rule->nfilters; i++) {
        for (j = 0; j < i; j++) {
            if (strcmp(rule->filters[i].type, rule->filters[j].type) == 0) {
                return gw_arena_printf(a, GW_DP_INCOMPATIBLE "%s filter "
                                       "cannot be repeated",
                                       rule->filters[i].type);
            }
        }

        if (strcmp(rule->filters[i].type, "RequestRedirect") != 0) {
            continue;
        }

        for (j = 0; j < rule->nfilters; j++) {
            if (strcmp(rule->filters[j].type, "URLRewrite") == 0) {
                return GW_DP_INCOMPATIBLE "RequestRedirect and URLRewrite "
                       "cannot be used together";
            }
        }

        if (rule->nbackends > 0) {
            return GW_DP_INCOMPATIBLE "RequestRedirect filter must not be "
                   "used together with backendRefs";
        }
    }

    for (i = 0; i < rule->nfilters; i++) {
        type = rule->filters[i].type;
        f = cJSON_GetArrayItem(filters, (int) i);
        why = NULL;

        if (strcmp(type, "RequestHeaderModifier") == 0) {
            why = gw_dp_header_mod(a, type, "requestHeaderModifier",
                      cJSON_GetObjectItemCaseSensitive(f,
                                                    "requestHeaderModifier"),
                      &out->request);

        } else if (strcmp(type, "ResponseHeaderModifier") == 0) {
            why = gw_dp_header_mod(a, type, "responseHeaderModifier",
                      cJSON_GetObjectItemCaseSensitive(f,
                                                   "responseHeaderModifier"),
                      &out->response);

        } else if (strcmp(type, "RequestRedirect") == 0) {
            why = gw_dp_redirect(a,
                      cJSON_GetObjectItemCaseSensitive(f, "requestRedirect"),
                      rule, &out->redirect);
        }

        if (why != NULL) {
            return why;
        }
    }

    return NULL;
}


const char *
gw_dp_header_var(gw_arena_t *a, const char *name)
{
    char  *v, *p;

    v = gw_arena_strdup(a, name);

    for (p = v; *p; p++) {
        *p = (*p == '-') ? '_' : (char) tolower((unsigned char) *p);
    }

    return v;
}


void
gw_dp_filters(gw_dp_ctx_t *ctx, const gw_groute_t *r, const gw_grule_t *rule,
    const char *prefix, gw_dp_location_t *loc)
{
    size_t             i;
    const char        *var;
    gw_dp_filters_t    f;
    gw_http_filter_t   path;
    gw_dp_location_t   tmp;

    /* the graph kept the rule: its filters decode */
    if (gw_dp_filters_decode(ctx->a, gw_dp_rule_json(r->obj, rule->index),
                             rule->spec, &f) != NULL)
    {
        return;
    }

    loc->request = f.request;
    loc->response = f.response;
    loc->redirect = f.redirect;

    for (i = 0; f.request != NULL && i < f.request->nadd; i++) {
        var = gw_dp_header_var(ctx->a, f.request->add[i].name);
        if (gw_map_get(&ctx->joins, var) == NULL) {
            gw_map_put(&ctx->joins, var, (void *) var);
            gw_ptrs_push(ctx->a, &ctx->dp->joins, (void *) var);
        }
    }

    if (f.redirect == NULL || f.redirect->path == GW_REWRITE_NONE) {
        return;
    }

    /* the redirect's path is rewritten as URLRewrite's would be */
    memset(&path, 0, sizeof(path));
    path.rewrite_path = f.redirect->path;
    path.rewrite_value = f.redirect->path_value;

    memset(&tmp, 0, sizeof(tmp));
    gw_dp_rewrite(ctx, &path, prefix, &tmp);

    loc->redirect_regex = tmp.rewrite_regex;
    loc->redirect_repl = tmp.rewrite_repl;
}
