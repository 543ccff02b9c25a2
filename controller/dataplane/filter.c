/*
 * ngx-gateway: HTTPRoute filters for nginx: RequestHeaderModifier,
 * ResponseHeaderModifier, RequestRedirect and URLRewrite, from their typed
 * form, checked against the spec and against what nginx can carry.
 */

#include <ctype.h>
#include <strings.h>
#include <string.h>

#include "core/gw_buf.h"
#include "dataplane/dataplane_int.h"
#include "validate/names.h"

#define GW_HEADER_NAME_MAX   256
#define GW_HEADER_VALUE_MAX  4096


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
gw_dp_header_list(gw_arena_t *a, const char *what, const gw_header_t *in,
    size_t nin, gw_dp_header_mod_t *m, gw_dp_kv_t **out, size_t *n)
{
    size_t        i, j;
    const char   *why;
    gw_dp_kv_t   *list;

    list = gw_arena_alloc(a, (nin + 1) * sizeof(gw_dp_kv_t));
    *out = list;

    for (i = 0; i < nin; i++) {
        why = gw_dp_header_name_check(a, what, in[i].name);
        if (why == NULL) {
            why = gw_dp_header_value_check(a, what, in[i].name,
                                           in[i].value);
        }
        if (why != NULL) {
            return why;
        }

        for (j = 0; j < *n; j++) {
            if (strcasecmp(list[j].name, in[i].name) == 0) {
                break;
            }
        }
        if (j < *n) {
            continue;
        }

        if (gw_dp_header_seen(m, in[i].name)) {
            return gw_arena_printf(a, "%s: header %s is in more than one of "
                                   "set, add and remove", what, in[i].name);
        }

        list[(*n)++] = in[i];
    }

    return NULL;
}


static const char *
gw_dp_header_mod(gw_arena_t *a, const char *what, const gw_header_mod_t *in,
    gw_dp_header_mod_t **out)
{
    size_t               i, j;
    const char          *why, *name;
    gw_dp_header_mod_t  *m;

    m = gw_arena_alloc(a, sizeof(gw_dp_header_mod_t));
    *out = m;

    why = gw_dp_header_list(a, what, in->set, in->nset, m, &m->set,
                            &m->nset);
    if (why == NULL) {
        why = gw_dp_header_list(a, what, in->add, in->nadd, m, &m->add,
                                &m->nadd);
    }
    if (why != NULL) {
        return why;
    }

    m->remove = gw_arena_alloc(a, (in->nremove + 1) * sizeof(char *));

    for (i = 0; i < in->nremove; i++) {
        name = in->remove[i];

        why = gw_dp_header_name_check(a, what, name);
        if (why != NULL) {
            return why;
        }

        for (j = 0; j < m->nremove; j++) {
            if (strcasecmp(m->remove[j], name) == 0) {
                break;
            }
        }
        if (j < m->nremove) {
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


/* The path of a RequestRedirect or URLRewrite (what: the filter type). */
static const char *
gw_dp_path_mod_check(gw_arena_t *a, const char *what, gw_rewrite_e type,
    const char *value, const gw_http_match_t *matches, size_t nmatches)
{
    size_t    i;
    gw_err_t  err;

    if (type == GW_REWRITE_NONE) {
        return NULL;
    }

    /* an empty ReplacePrefixMatch strips the prefix (spec) */
    if (type == GW_REWRITE_PREFIX && value[0] == '\0') {
        value = "/";
    }

    if (gw_valid_nginx_path(value, &err) != GW_OK) {
        return gw_arena_printf(a, "%s: %s", what, err.msg);
    }

    if (type != GW_REWRITE_PREFIX) {
        return NULL;
    }

    for (i = 0; i < nmatches; i++) {
        if (matches[i].path_type != GW_PATH_PREFIX) {
            return gw_arena_printf(a, "%s ReplacePrefixMatch needs every "
                                   "match of the rule to be a PathPrefix "
                                   "match", what);
        }
    }

    return NULL;
}


static const char *
gw_dp_redirect_check(gw_arena_t *a, const gw_redirect_t *r,
    const gw_http_match_t *matches, size_t nmatches)
{
    gw_err_t  err;

    if (r->scheme != NULL
        && strcmp(r->scheme, "http") != 0 && strcmp(r->scheme, "https") != 0)
    {
        return "RequestRedirect: scheme must be http or https";
    }

    if (r->hostname != NULL
        && gw_valid_hostname(r->hostname, 0, &err) != GW_OK)
    {
        return gw_arena_printf(a, "RequestRedirect: %s", err.msg);
    }

    if (r->status != 301 && r->status != 302 && r->status != 303
        && r->status != 307 && r->status != 308)
    {
        return "RequestRedirect: statusCode must be 301, 302, 303, 307 or "
               "308";
    }

    return gw_dp_path_mod_check(a, "RequestRedirect", r->path, r->path_value,
                                matches, nmatches);
}


static const char *
gw_dp_rewrite_check(gw_arena_t *a, const gw_http_filter_t *f,
    const gw_http_match_t *matches, size_t nmatches)
{
    gw_err_t  err;

    if (f->rewrite_hostname != NULL
        && gw_valid_hostname(f->rewrite_hostname, 0, &err) != GW_OK)
    {
        return gw_arena_printf(a, "URLRewrite: %s", err.msg);
    }

    return gw_dp_path_mod_check(a, "URLRewrite", f->rewrite_path,
                                f->rewrite_value, matches, nmatches);
}


/* The CRD's rules on combinations, which the API server enforces. */
static const char *
gw_dp_filters_combination(gw_arena_t *a, const gw_http_filter_t *f,
    size_t n, size_t nbackends)
{
    size_t  i, j;

    for (i = 0; i < n; i++) {
        for (j = 0; j < i; j++) {
            if (f[i].kind == f[j].kind
                && f[i].kind != GW_FILTER_REQUEST_MIRROR
                && f[i].kind != GW_FILTER_EXTENSION_REF)
            {
                return gw_arena_printf(a, GW_DP_INCOMPATIBLE "%s filter "
                                       "cannot be repeated", f[i].type);
            }
        }

        if (f[i].kind != GW_FILTER_REQUEST_REDIRECT) {
            continue;
        }

        for (j = 0; j < n; j++) {
            if (f[j].kind == GW_FILTER_URL_REWRITE) {
                return GW_DP_INCOMPATIBLE "RequestRedirect and URLRewrite "
                       "cannot be used together";
            }
        }

        if (nbackends > 0) {
            return GW_DP_INCOMPATIBLE "RequestRedirect filter must not be "
                   "used together with backendRefs";
        }
    }

    return NULL;
}


static const char *
gw_dp_filter_list_check(gw_arena_t *a, const gw_http_filter_t *f, size_t n,
    const gw_http_match_t *matches, size_t nmatches, size_t nbackends,
    gw_dp_filters_t *out)
{
    size_t          i;
    const char     *why;
    gw_redirect_t  *r;

    memset(out, 0, sizeof(gw_dp_filters_t));

    why = gw_dp_filters_combination(a, f, n, nbackends);
    if (why != NULL) {
        return why;
    }

    for (i = 0; i < n; i++) {
        switch (f[i].kind) {

        case GW_FILTER_REQUEST_HEADER:
            why = gw_dp_header_mod(a, f[i].type, f[i].headers,
                                   &out->request);
            break;

        case GW_FILTER_RESPONSE_HEADER:
            why = gw_dp_header_mod(a, f[i].type, f[i].headers,
                                   &out->response);
            break;

        case GW_FILTER_REQUEST_REDIRECT:
            why = gw_dp_redirect_check(a, f[i].redirect, matches, nmatches);
            r = gw_arena_alloc(a, sizeof(gw_redirect_t));
            *r = *f[i].redirect;
            out->redirect = r;
            break;

        case GW_FILTER_URL_REWRITE:
            why = gw_dp_rewrite_check(a, &f[i], matches, nmatches);
            out->rewrite = &f[i];
            break;

        case GW_FILTER_EXTENSION_REF:
            why = gw_arena_printf(a, "ExtensionRef filter %s %s/%s: no "
                                  "extension is supported",
                                  f[i].extension_ref->kind,
                                  f[i].extension_ref->group,
                                  f[i].extension_ref->name);
            break;

        case GW_FILTER_UNKNOWN:
            why = gw_arena_printf(a, "filter type %s is not supported "
                                  "(RequestHeaderModifier, "
                                  "ResponseHeaderModifier, RequestRedirect, "
                                  "URLRewrite)", f[i].type);
            break;

        default:
            why = gw_arena_printf(a, "filter type %s is not supported yet",
                                  f[i].type);
            break;
        }

        if (why != NULL) {
            return why;
        }
    }

    return NULL;
}


/* Where name is in m: 0 nowhere, 1 set, 2 add, 3 remove; *value its. */
static int
gw_dp_header_find(const gw_dp_header_mod_t *m, const char *name,
    const char **value)
{
    size_t  i;

    for (i = 0; m != NULL && i < m->nset; i++) {
        if (strcasecmp(m->set[i].name, name) == 0) {
            *value = m->set[i].value;
            return 1;
        }
    }

    for (i = 0; m != NULL && i < m->nadd; i++) {
        if (strcasecmp(m->add[i].name, name) == 0) {
            *value = m->add[i].value;
            return 2;
        }
    }

    for (i = 0; m != NULL && i < m->nremove; i++) {
        if (strcasecmp(m->remove[i], name) == 0) {
            return 3;
        }
    }

    return 0;
}


static void
gw_dp_header_put(gw_dp_header_mod_t *m, int list, const char *name,
    const char *value)
{
    if (list == 1) {
        m->set[m->nset].name = name;
        m->set[m->nset++].value = value;

    } else if (list == 2) {
        m->add[m->nadd].name = name;
        m->add[m->nadd++].value = value;

    } else {
        m->remove[m->nremove++] = name;
    }
}


/*
 * One modifier doing what r (the rule's) then b (the backendRef's) do:
 * b's set and remove win; b's add appends to what r leaves (after r's set
 * or add the values joined with ',', after r's remove a set).
 */
static gw_dp_header_mod_t *
gw_dp_header_compose(gw_arena_t *a, const gw_dp_header_mod_t *r,
    const gw_dp_header_mod_t *b)
{
    size_t               i, n;
    const char          *rv, *bv;
    gw_dp_header_mod_t  *m;

    if (r == NULL) {
        return (gw_dp_header_mod_t *) b;
    }

    if (b == NULL) {
        return (gw_dp_header_mod_t *) r;
    }

    n = r->nset + r->nadd + r->nremove + b->nset + b->nadd + b->nremove + 1;

    m = gw_arena_alloc(a, sizeof(gw_dp_header_mod_t));
    m->set = gw_arena_alloc(a, n * sizeof(gw_dp_kv_t));
    m->add = gw_arena_alloc(a, n * sizeof(gw_dp_kv_t));
    m->remove = gw_arena_alloc(a, n * sizeof(char *));

    /* what only the rule touches */
    for (i = 0; i < r->nset; i++) {
        if (gw_dp_header_find(b, r->set[i].name, &bv) == 0) {
            gw_dp_header_put(m, 1, r->set[i].name, r->set[i].value);
        }
    }

    for (i = 0; i < r->nadd; i++) {
        if (gw_dp_header_find(b, r->add[i].name, &bv) == 0) {
            gw_dp_header_put(m, 2, r->add[i].name, r->add[i].value);
        }
    }

    for (i = 0; i < r->nremove; i++) {
        if (gw_dp_header_find(b, r->remove[i], &bv) == 0) {
            gw_dp_header_put(m, 3, r->remove[i], NULL);
        }
    }

    for (i = 0; i < b->nset; i++) {
        gw_dp_header_put(m, 1, b->set[i].name, b->set[i].value);
    }

    for (i = 0; i < b->nremove; i++) {
        gw_dp_header_put(m, 3, b->remove[i], NULL);
    }

    for (i = 0; i < b->nadd; i++) {
        bv = b->add[i].value;

        switch (gw_dp_header_find(r, b->add[i].name, &rv)) {

        case 1:
            gw_dp_header_put(m, 1, b->add[i].name,
                             gw_arena_printf(a, "%s,%s", rv, bv));
            break;

        case 2:
            gw_dp_header_put(m, 2, b->add[i].name,
                             gw_arena_printf(a, "%s,%s", rv, bv));
            break;

        case 3:
            gw_dp_header_put(m, 1, b->add[i].name, bv);
            break;

        default:
            gw_dp_header_put(m, 2, b->add[i].name, bv);
            break;
        }
    }

    return m;
}


/*
 * The filters of the rule's backendRefs.  Header modifiers are carried
 * when the rule has one backendRef: every request it forwards goes there,
 * so they apply after the rule's own.  With several backendRefs they
 * would depend on the weighted choice: not supported yet.
 */
static const char *
gw_dp_backend_filters_check(gw_arena_t *a, const gw_http_rule_t *rule,
    gw_dp_filters_t *out)
{
    size_t                   i, j;
    const char              *why;
    gw_dp_filters_t          bf;
    const gw_backend_ref_t  *b;

    for (i = 0; i < rule->nbackends; i++) {
        b = &rule->backends[i];

        if (b->nfilters == 0) {
            continue;
        }

        if (rule->nbackends > 1) {
            return gw_arena_printf(a, "backendRef %zu: filters on a "
                                   "backendRef of a rule with several "
                                   "backendRefs are not supported yet", i);
        }

        for (j = 0; j < b->nfilters; j++) {
            if (b->filters[j].kind != GW_FILTER_REQUEST_HEADER
                && b->filters[j].kind != GW_FILTER_RESPONSE_HEADER)
            {
                return gw_arena_printf(a, "backendRef %zu: filter type %s "
                                       "is not supported on backendRefs "
                                       "(RequestHeaderModifier, "
                                       "ResponseHeaderModifier)", i,
                                       b->filters[j].type);
            }
        }

        why = gw_dp_filter_list_check(a, b->filters, b->nfilters,
                                      rule->matches, rule->nmatches, 0, &bf);
        if (why != NULL) {
            return gw_arena_printf(a, "backendRef %zu: %s", i, why);
        }

        out->request = gw_dp_header_compose(a, out->request, bf.request);
        out->response = gw_dp_header_compose(a, out->response, bf.response);
    }

    return NULL;
}


const char *
gw_dp_filters_check(gw_arena_t *a, const gw_http_rule_t *rule,
    gw_dp_filters_t *out)
{
    const char  *why;

    why = gw_dp_filter_list_check(a, rule->filters, rule->nfilters,
                                  rule->matches, rule->nmatches,
                                  rule->nbackends, out);
    if (why != NULL) {
        return why;
    }

    return gw_dp_backend_filters_check(a, rule, out);
}


/* Escapes a path for a PCRE pattern: only [A-Za-z0-9/] stay bare. */
static void
gw_dp_regex_escape(gw_buf_t *b, const char *s)
{
    for ( ; *s; s++) {
        if (!isalnum((unsigned char) *s) && *s != '/') {
            gw_buf_putc(b, '\\');
        }
        gw_buf_putc(b, *s);
    }
}


void
gw_dp_rewrite(gw_dp_ctx_t *ctx, const gw_http_filter_t *f,
    const char *prefix, gw_dp_location_t *loc)
{
    size_t       n;
    gw_buf_t     re;
    const char  *repl;

    if (f == NULL) {
        return;
    }

    if (f->rewrite_hostname != NULL) {
        loc->host = f->rewrite_hostname;
    }

    if (f->rewrite_path == GW_REWRITE_FULL) {
        loc->rewrite_regex = "^";
        loc->rewrite_repl = f->rewrite_value;
        return;
    }

    if (f->rewrite_path != GW_REWRITE_PREFIX || prefix == NULL) {
        return;
    }

    /*
     * the replacement without its trailing '/' ("/" stays "/"; an empty
     * one strips the prefix as "/" does)
     */
    repl = f->rewrite_value;
    n = strlen(repl);
    while (n > 1 && repl[n - 1] == '/') {
        n--;
    }
    if (n == 0) {
        repl = "/";
        n = 1;
    }

    gw_buf_init(&re);
    gw_buf_putc(&re, '^');

    if (strcmp(prefix, "/") == 0) {
        gw_buf_puts(&re, "/(.*)$");
        loc->rewrite_repl = (n == 1)
                            ? "/$1"
                            : gw_arena_printf(ctx->a, "%.*s/$1", (int) n,
                                              repl);
    } else if (n == 1) {
        gw_dp_regex_escape(&re, prefix);
        gw_buf_puts(&re, "/?(.*)$");
        loc->rewrite_repl = "/$1";
    } else {
        gw_dp_regex_escape(&re, prefix);
        gw_buf_puts(&re, "(/.*)?$");
        loc->rewrite_repl = gw_arena_printf(ctx->a, "%.*s$1", (int) n, repl);
    }

    loc->rewrite_regex = gw_arena_strndup(ctx->a, re.data, re.len);
    gw_buf_free(&re);
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

    (void) r;

    /* the graph kept the rule: its filters pass */
    if (gw_dp_filters_check(ctx->a, rule->spec, &f) != NULL) {
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
