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
            why = gw_dp_header_mod_check(a, f[i].type, f[i].headers,
                                   &out->request);
            break;

        case GW_FILTER_RESPONSE_HEADER:
            why = gw_dp_header_mod_check(a, f[i].type, f[i].headers,
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

        case GW_FILTER_CORS:
            why = gw_dp_cors_check(a, f[i].cors, &out->cors);
            break;

        case GW_FILTER_REQUEST_MIRROR:
            why = gw_dp_mirror_check(a, f[i].mirror);
            break;

        case GW_FILTER_EXTENSION_REF:
            /* not skipped: the rule answers 500 (gw_dp_filters) */
            if (out->extension == NULL) {
                out->extension = &f[i];
            }
            break;

        case GW_FILTER_UNKNOWN:
            why = gw_arena_printf(a, "filter type %s is not supported "
                                  "(RequestHeaderModifier, "
                                  "ResponseHeaderModifier, RequestRedirect, "
                                  "URLRewrite, RequestMirror, CORS)",
                                  f[i].type);
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


const char *
gw_dp_extension_why(gw_arena_t *a, const gw_http_filter_t *f)
{
    return gw_arena_printf(a, "ExtensionRef filter %s %s/%s: no extension "
                           "is supported, the rule answers 500",
                           f->extension_ref->kind, f->extension_ref->group,
                           f->extension_ref->name);
}


/* How many header names the backendRefs' filters of rule name at most. */
static size_t
gw_dp_backend_header_count(const gw_http_rule_t *rule)
{
    size_t                   i, j, n;
    const gw_header_mod_t   *h;
    const gw_backend_ref_t  *b;

    n = 0;

    for (i = 0; i < rule->nbackends; i++) {
        b = &rule->backends[i];
        for (j = 0; j < b->nfilters; j++) {
            h = b->filters[j].headers;
            if (h != NULL) {
                n += h->nset + h->nadd + h->nremove;
            }
        }
    }

    return n;
}


/*
 * The filters of the rule's backendRefs: header modifiers.  With one
 * backendRef every request it forwards goes there, so they apply after
 * the rule's own.  With several, request headers are chosen per
 * backendRef (out->backends, see upstream.c); response headers would
 * depend on the weighted choice too: not supported yet.
 */
static const char *
gw_dp_backend_filters_check(gw_arena_t *a, const gw_http_rule_t *rule,
    gw_dp_filters_t *out)
{
    size_t                   i, j, nnames;
    const char              *why;
    const char             **names;
    gw_dp_filters_t          bf;
    gw_dp_header_mod_t     **mods;
    const gw_backend_ref_t  *b;

    mods = NULL;
    names = NULL;
    nnames = 0;

    for (i = 0; i < rule->nbackends; i++) {
        b = &rule->backends[i];

        if (b->nfilters == 0) {
            continue;
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

        if (rule->nbackends == 1) {
            out->request = gw_dp_header_compose(a, out->request, bf.request);
            out->response = gw_dp_header_compose(a, out->response,
                                                 bf.response);
            return NULL;
        }

        if (bf.response != NULL) {
            return gw_arena_printf(a, "backendRef %zu: "
                                   "ResponseHeaderModifier on a backendRef "
                                   "of a rule with several backendRefs is "
                                   "not supported yet", i);
        }

        if (bf.request == NULL) {
            continue;
        }

        if (mods == NULL) {
            mods = gw_arena_alloc(a, rule->nbackends
                                     * sizeof(gw_dp_header_mod_t *));
            names = gw_arena_alloc(a, gw_dp_backend_header_count(rule)
                                      * sizeof(char *));
        }

        mods[i] = gw_dp_header_compose(a, out->request, bf.request);
        nnames = gw_dp_header_names(bf.request, names, nnames);
    }

    out->backends = mods;
    out->backend_names = names;
    out->nbackend_names = nnames;

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


/*
 * A GRPCRoute rule's filters: its header modifiers as an HTTPRoute's;
 * RequestMirror, ExtensionRef and filters on backendRefs not yet.
 */
const char *
gw_dp_grpc_filters_check(gw_arena_t *a, const gw_grpc_rule_t *rule,
    gw_dp_filters_t *out)
{
    size_t  i;

    for (i = 0; i < rule->nfilters; i++) {
        if (rule->filters[i].kind != GW_FILTER_REQUEST_HEADER
            && rule->filters[i].kind != GW_FILTER_RESPONSE_HEADER)
        {
            return gw_arena_printf(a, "filter type %s is not supported "
                                   "on GRPCRoutes yet",
                                   rule->filters[i].type);
        }
    }

    for (i = 0; i < rule->nbackends; i++) {
        if (rule->backends[i].nfilters > 0) {
            return gw_arena_printf(a, "backendRef %zu: filters on the "
                                   "backendRefs of GRPCRoutes are not "
                                   "supported yet", i);
        }
    }

    return gw_dp_filter_list_check(a, rule->filters, rule->nfilters, NULL,
                                   0, rule->nbackends, out);
}


/* The variables "add" of m appends to (http.tmpl's joins). */
static void
gw_dp_filters_joins(gw_dp_ctx_t *ctx, const gw_dp_header_mod_t *m)
{
    size_t       i;
    const char  *var;

    for (i = 0; m != NULL && i < m->nadd; i++) {
        var = gw_dp_header_var(ctx->a, m->add[i].name);
        if (gw_map_get(&ctx->joins, var) == NULL) {
            gw_map_put(&ctx->joins, var, (void *) var);
            gw_ptrs_push(ctx->a, &ctx->dp->joins, (void *) var);
        }
    }
}


void
gw_dp_grpc_filters(gw_dp_ctx_t *ctx, const gw_grpc_rule_t *rule,
    gw_dp_location_t *loc)
{
    gw_dp_filters_t  f;

    /* the graph kept the rule: its filters pass */
    if (gw_dp_grpc_filters_check(ctx->a, rule, &f) != NULL) {
        return;
    }

    loc->request = f.request;
    loc->response = f.response;

    gw_dp_filters_joins(ctx, f.request);
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


/*
 * The request headers of each share of a labelled split (upstream.c):
 * its backendRef's, composed after the rule's, or the rule's.  The split
 * is the rule's own: the first of its locations sets them.
 */
static void
gw_dp_filters_backends(gw_dp_ctx_t *ctx, const gw_dp_filters_t *f,
    gw_dp_location_t *loc)
{
    size_t           i;
    gw_dp_split_t   *s;
    gw_dp_share_t   *sh;

    s = loc->split;

    if (s == NULL || !s->labelled || s->requests != NULL) {
        return;
    }

    s->requests = gw_arena_alloc(ctx->a, s->nshares
                                         * sizeof(gw_dp_header_mod_t *));
    s->names = f->backend_names;
    s->nnames = f->nbackend_names;
    s->loc = loc;

    for (i = 0; i < s->nshares; i++) {
        sh = &s->shares[i];
        s->requests[i] = (f->backends != NULL && f->backends[sh->backend])
                         ? f->backends[sh->backend] : f->request;
        gw_dp_filters_joins(ctx, s->requests[i]);
    }
}


void
gw_dp_filters(gw_dp_ctx_t *ctx, const gw_groute_t *r, const gw_grule_t *rule,
    const char *prefix, gw_dp_location_t *loc)
{
    gw_dp_filters_t    f;
    gw_http_filter_t   path;
    gw_dp_location_t   tmp;

    (void) r;

    /* the graph kept the rule: its filters pass */
    if (gw_dp_filters_check(ctx->a, rule->spec, &f) != NULL) {
        return;
    }

    /*
     * an ExtensionRef we cannot resolve is not skipped: the requests it
     * would process get an error (spec), the rule's other filters none
     */
    if (f.extension != NULL) {
        loc->status = 500;
        return;
    }

    loc->request = f.request;
    loc->response = f.response;
    loc->redirect = f.redirect;
    loc->cors = f.cors;

    gw_dp_filters_joins(ctx, f.request);
    gw_dp_filters_backends(ctx, &f, loc);

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
