/*
 * ngx-gateway: HTTPRoutes: rule validation and attachment to listeners
 * (parentRefs, allowedRoutes, hostname intersection).
 */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dataplane/filter.h"
#include "graph/graph.h"
#include "validate/names.h"
#include "validate/regex.h"


/*
 * A field of gateway_match is one double-quoted nginx token, and nginx's
 * configuration parser takes tokens of at most 4 KiB (NGX_CONF_BUFFER):
 * the longest field we write, quotes and escapes included.
 */
#define GW_MATCH_FIELD_MAX  4000
#define GW_MATCH_NAME_MAX   256

static const char  *gw_match_methods[] = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE",
    "PATCH", NULL
};


/* The length of s written as an nginx double-quoted string. */
static size_t
gw_match_quoted_len(const char *s)
{
    size_t  n;

    for (n = 2; *s; s++) {
        n += (*s == '"' || *s == '\\') ? 2 : 1;
    }

    return n;
}


/*
 * NULL when value may be a field's value: no control characters, and
 * short enough after prefix_len bytes of the field.
 */
static const char *
gw_match_value_check(gw_graph_t *g, const char *what, const char *value,
    size_t prefix_len)
{
    const unsigned char  *p;

    for (p = (const unsigned char *) value; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return gw_arena_printf(g->arena, "%s: the value has a control "
                                   "character (0x%02x)", what, *p);
        }
    }

    if (prefix_len + gw_match_quoted_len(value) > GW_MATCH_FIELD_MAX) {
        return gw_arena_printf(g->arena, "%s: the value is too long for "
                               "nginx's configuration (%zu bytes at most)",
                               what, GW_MATCH_FIELD_MAX - prefix_len - 2);
    }

    return NULL;
}


/*
 * A header or query parameter name: an RFC 7230 token, as the spec's
 * HTTPHeaderName.  nginx itself only sees request headers named with
 * letters, digits and '-' (ignore_invalid_headers drops the others, '_'
 * included), so a match on another header name could never hold.
 */
static const char *
gw_match_name_check(gw_graph_t *g, const char *what, const char *name,
    int header)
{
    const char  *p;

    if (name[0] == '\0' || strlen(name) > GW_MATCH_NAME_MAX) {
        return gw_arena_printf(g->arena, "%s: a name must be 1 to %d "
                               "characters", what, GW_MATCH_NAME_MAX);
    }

    for (p = name; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9')
              || strchr("!#$%&'*+-.^_`|~", *p) != NULL))
        {
            return gw_arena_printf(g->arena, "%s: \"%s\" is not a valid "
                                   "name (RFC 7230 token): it has '%c'",
                                   what, name, *p);
        }

        if (header && *p != '-'
            && !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                 || (*p >= '0' && *p <= '9')))
        {
            return gw_arena_printf(g->arena, "%s: header name \"%s\" has "
                                   "'%c': nginx ignores request headers "
                                   "with names other than letters, digits "
                                   "and '-'", what, name, *p);
        }
    }

    return NULL;
}


/* The header (or query parameter) matches of a match that count. */
static const char *
gw_match_kv_check(gw_graph_t *g, const gw_kv_match_t *kv, size_t n,
    int header)
{
    size_t       i, j;
    gw_err_t     err;
    const char  *why, *what;

    for (i = 0; i < n; i++) {

        /* of equivalent names only the first counts (spec) */
        for (j = 0; j < i; j++) {
            if (header ? strcasecmp(kv[j].name, kv[i].name) == 0
                       : strcmp(kv[j].name, kv[i].name) == 0)
            {
                break;
            }
        }
        if (j < i) {
            continue;
        }

        what = gw_arena_printf(g->arena, "%s match %s",
                               header ? "header" : "query parameter",
                               kv[i].name);

        why = gw_match_name_check(g, what, kv[i].name, header);
        if (why != NULL) {
            return why;
        }

        if (strcmp(kv[i].type, "Exact") != 0
            && strcmp(kv[i].type, "RegularExpression") != 0)
        {
            return gw_arena_printf(g->arena, "%s: type %s is not supported "
                                   "(Exact, RegularExpression)", what,
                                   kv[i].type);
        }

        /* header~NAME=VALUE, query~NAME=VALUE */
        why = gw_match_value_check(g, what, kv[i].value,
                                   strlen(header ? "header~" : "query~")
                                   + gw_match_quoted_len(kv[i].name));
        if (why != NULL) {
            return why;
        }

        if (kv[i].type[0] == 'R'
            && gw_valid_regex(kv[i].value, &err) != GW_OK)
        {
            return gw_arena_printf(g->arena, "%s: %s", what, err.msg);
        }
    }

    return NULL;
}


static const char *
gw_match_check(gw_graph_t *g, const gw_http_match_t *m)
{
    size_t       i;
    gw_err_t     err;
    const char  *why;

    if (m->path_type == GW_PATH_REGEX) {
        why = gw_match_value_check(g, "RegularExpression path", m->path,
                                   strlen("path~"));
        if (why != NULL) {
            return why;
        }

        if (gw_valid_regex(m->path, &err) != GW_OK) {
            return gw_arena_printf(g->arena, "RegularExpression path: %s",
                                   err.msg);
        }

    } else if (gw_valid_nginx_path(m->path, &err) != GW_OK) {
        return gw_arena_strdup(g->arena, err.msg);
    }

    if (m->method != NULL) {
        for (i = 0; gw_match_methods[i] != NULL; i++) {
            if (strcmp(m->method, gw_match_methods[i]) == 0) {
                break;
            }
        }

        if (gw_match_methods[i] == NULL) {
            return gw_arena_printf(g->arena, "method %s is not supported "
                                   "(GET, HEAD, POST, PUT, DELETE, CONNECT, "
                                   "OPTIONS, TRACE, PATCH)", m->method);
        }
    }

    why = gw_match_kv_check(g, m->headers, m->nheaders, 1);
    if (why != NULL) {
        return why;
    }

    return gw_match_kv_check(g, m->queries, m->nqueries, 0);
}


static const char *
gw_rewrite_check(gw_graph_t *g, const gw_http_rule_t *rule,
    const gw_http_filter_t *f)
{
    size_t    i;
    gw_err_t  err;

    if (f->rewrite_hostname != NULL
        && gw_valid_hostname(f->rewrite_hostname, 0, &err) != GW_OK)
    {
        return gw_arena_printf(g->arena, "URLRewrite: %s", err.msg);
    }

    if (f->rewrite_path == GW_REWRITE_NONE) {
        return NULL;
    }

    if (gw_valid_nginx_path(f->rewrite_value, &err) != GW_OK) {
        return gw_arena_printf(g->arena, "URLRewrite: %s", err.msg);
    }

    if (f->rewrite_path == GW_REWRITE_PREFIX) {
        for (i = 0; i < rule->nmatches; i++) {
            if (rule->matches[i].path_type != GW_PATH_PREFIX) {
                return "URLRewrite ReplacePrefixMatch needs every match of "
                       "the rule to be a PathPrefix match";
            }
        }
    }

    return NULL;
}


/*
 * The rule's filters: URLRewrite here, the others as nginx carries them
 * (dataplane/filter.c, which the data plane reads them with again).
 */
static const char *
gw_rule_check(gw_graph_t *g, const gw_groute_t *r,
    const gw_http_rule_t *rule, gw_grule_t *gr)
{
    size_t                   i;
    const char              *why;
    gw_dp_filters_t          filters;
    const gw_http_filter_t  *f;

    for (i = 0; i < rule->nmatches; i++) {
        why = gw_match_check(g, &rule->matches[i]);
        if (why != NULL) {
            return rule->nmatches > 1
                   ? gw_arena_printf(g->arena, "match %zu: %s", i, why)
                   : why;
        }
    }

    for (i = 0; i < rule->nfilters; i++) {
        f = &rule->filters[i];
        if (strcmp(f->type, "URLRewrite") != 0
            && !gw_dp_filter_type_known(f->type))
        {
            return gw_arena_printf(g->arena, "filter type %s is not "
                                   "supported yet", f->type);
        }
    }

    why = gw_dp_filters_decode(g->arena, gw_dp_rule_json(r->obj, gr->index),
                               rule, &filters);
    if (why != NULL) {
        return why;
    }

    for (i = 0; i < rule->nfilters; i++) {
        f = &rule->filters[i];
        if (strcmp(f->type, "URLRewrite") == 0) {
            why = gw_rewrite_check(g, rule, f);
            if (why != NULL) {
                return why;
            }
            gr->rewrite = f;
        }
    }

    for (i = 0; i < rule->nbackends; i++) {
        if (rule->backends[i].nfilters > 0) {
            return "filters on backendRefs are not supported yet";
        }
    }

    return NULL;
}


static void
gw_route_rules(gw_graph_t *g, gw_groute_t *r)
{
    size_t                 i;
    gw_err_t               err;
    gw_grule_t            *gr;
    const gw_httproute_t  *spec;

    spec = &r->obj->u.httproute;

    for (i = 0; i < spec->nhostnames; i++) {
        if (gw_valid_hostname(spec->hostnames[i], 1, &err) != GW_OK) {
            r->invalid = gw_arena_strdup(g->arena, err.msg);
            return;
        }
    }

    r->nrules = spec->nrules;
    r->rules = gw_arena_alloc(g->arena, r->nrules * sizeof(gw_grule_t));

    for (i = 0; i < r->nrules; i++) {
        gr = &r->rules[i];
        gr->spec = &spec->rules[i];
        gr->index = i;
        gr->invalid_reason = gw_rule_check(g, r, gr->spec, gr);
        gr->valid = (gr->invalid_reason == NULL);
        r->nvalid_rules += gr->valid;
        if (!gr->valid) {
            /* every dropped rule is named, in rule order */
            r->invalid = r->invalid == NULL
                         ? gw_arena_printf(g->arena, "rule %zu: %s", i,
                                           gr->invalid_reason)
                         : gw_arena_printf(g->arena, "%s; rule %zu: %s",
                                           r->invalid, i,
                                           gr->invalid_reason);
        }
    }
}


static gw_ggateway_t *
gw_graph_gateway(gw_graph_t *g, const char *ns, const char *name)
{
    size_t          i;
    gw_ggateway_t  *gw;

    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        if (strcmp(gw->obj->meta.namespace, ns) == 0
            && strcmp(gw->obj->meta.name, name) == 0)
        {
            return gw;
        }
    }

    return NULL;
}


static int
gw_listener_allows_ns(const gw_glistener_t *l, const gw_obj_t *route,
    const gw_store_t *store)
{
    gw_meta_t        synth;
    gw_label_t       label;
    const gw_obj_t  *ns;

    switch (l->spec->from) {
    case GW_FROM_ALL:
        return 1;
    case GW_FROM_SAME:
        return strcmp(route->meta.namespace,
                      l->gateway->obj->meta.namespace) == 0;
    case GW_FROM_NONE:
        return 0;
    case GW_FROM_SELECTOR:
        break;
    }

    ns = gw_store_get(store, GW_KIND_NAMESPACE, "", route->meta.namespace);
    if (ns != NULL) {
        return gw_selector_matches(l->spec->selector, &ns->meta);
    }

    /* A namespace with no object of its own has only its name label. */
    memset(&synth, 0, sizeof(synth));
    label.key = "kubernetes.io/metadata.name";
    label.value = route->meta.namespace;
    synth.labels = &label;
    synth.nlabels = 1;

    return gw_selector_matches(l->spec->selector, &synth);
}


/* allowedRoutes.namespaces in words, for a refusal message. */
static const char *
gw_listener_from(gw_graph_t *g, const gw_glistener_t *l, const char *ns)
{
    size_t                i;
    const char           *words;
    const gw_selector_t  *sel;

    switch (l->spec->from) {
    case GW_FROM_ALL:
        return "routes from every namespace";
    case GW_FROM_SAME:
        return gw_arena_printf(g->arena, "routes from its Gateway's "
                               "namespace (%s) only",
                               l->gateway->obj->meta.namespace);
    case GW_FROM_NONE:
        return "no routes (namespaces.from: None)";
    case GW_FROM_SELECTOR:
        break;
    }

    sel = l->spec->selector;
    words = "";
    for (i = 0; sel != NULL && i < sel->nmatch_labels; i++) {
        words = gw_arena_printf(g->arena, "%s%s%s=%s", words,
                                i ? ", " : "", sel->match_labels[i].key,
                                sel->match_labels[i].value);
    }
    if (sel != NULL && sel->nexprs > 0) {
        words = gw_arena_printf(g->arena, "%s%s%zu matchExpression%s",
                                words, sel->nmatch_labels ? " and " : "",
                                sel->nexprs, sel->nexprs > 1 ? "s" : "");
    }

    return gw_arena_printf(g->arena, "routes from namespaces labelled %s "
                           "(add the label to namespace %s, or change "
                           "allowedRoutes)", words, ns);
}


static int
gw_listener_allows_kind(const gw_glistener_t *l, const char *kind)
{
    size_t  i;

    for (i = 0; i < l->nkinds; i++) {
        if (strcmp(l->kinds[i], kind) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * 1 when the listener itself was refused (Accepted False: port taken,
 * protocol unsupported, conflict), as opposed to accepted but not
 * programmable (e.g. a bad certificate), where routes stay accepted.
 */
static int
gw_listener_refused(const gw_glistener_t *l)
{
    const gw_cond_t  *c;

    if (l == NULL) {
        return 0;
    }

    c = gw_conds_get(&l->conds, "Accepted");

    return c != NULL && strcmp(c->status, "False") == 0;
}


/* The route's hostnames as served on this listener; 0 = no intersection. */
static int
gw_route_hostnames(gw_graph_t *g, const gw_groute_t *r,
    const gw_glistener_t *l, gw_attach_t *at)
{
    size_t                 i;
    const char            *h;
    const gw_httproute_t  *spec;

    spec = &r->obj->u.httproute;

    at->hostnames = gw_arena_alloc(g->arena,
                                   (spec->nhostnames + 1) * sizeof(char *));
    at->nhostnames = 0;

    if (spec->nhostnames == 0) {
        if (l->spec->hostname != NULL) {
            at->hostnames[at->nhostnames++] = l->spec->hostname;
        }
        return 1;
    }

    for (i = 0; i < spec->nhostnames; i++) {
        h = gw_hostname_intersect(l->spec->hostname, spec->hostnames[i]);
        if (h != NULL) {
            at->hostnames[at->nhostnames++] = h;
        }
    }

    return at->nhostnames > 0;
}


/* 1 when every rule was refused for filters the spec calls incompatible. */
static int
gw_route_incompatible(const gw_groute_t *r)
{
    size_t  i;

    for (i = 0; i < r->nrules; i++) {
        if (r->rules[i].valid
            || strncmp(r->rules[i].invalid_reason, GW_DP_INCOMPATIBLE,
                       sizeof(GW_DP_INCOMPATIBLE) - 1) != 0)
        {
            return 0;
        }
    }

    return r->nrules > 0;
}


static void
gw_route_attach(gw_graph_t *g, gw_groute_t *r, gw_gparent_t *p,
    const gw_store_t *store)
{
    size_t           i;
    int              matched, allowed, hosts, attached, live;
    const char      *why;
    gw_attach_t     *at;
    gw_glistener_t  *l, *refused;

    matched = allowed = hosts = attached = live = 0;
    refused = NULL;
    why = NULL;

    for (i = 0; i < p->gateway->nlisteners; i++) {
        l = &p->gateway->listeners[i];

        if ((p->ref->section_name != NULL
             && strcmp(p->ref->section_name, l->spec->name) != 0)
            || (p->ref->port != 0 && p->ref->port != l->spec->port))
        {
            continue;
        }
        matched++;

        if (!gw_listener_allows_kind(l, "HTTPRoute")) {
            why = gw_arena_printf(g->arena, "%s%slistener %s does not take "
                                  "HTTPRoutes", why ? why : "",
                                  why ? "; " : "", l->spec->name);
            continue;
        }
        if (!gw_listener_allows_ns(l, r->obj, store)) {
            why = gw_arena_printf(g->arena, "%s%slistener %s allows %s",
                                  why ? why : "", why ? "; " : "",
                                  l->spec->name,
                                  gw_listener_from(g, l,
                                      r->obj->meta.namespace));
            continue;
        }
        allowed++;

        at = gw_arena_alloc(g->arena, sizeof(gw_attach_t));
        if (!gw_route_hostnames(g, r, l, at)) {
            continue;
        }
        hosts++;

        if (r->nvalid_rules == 0) {
            continue;
        }

        /* attachedRoutes counts it even on a refused listener (spec) */
        at->route = r;
        at->listener = l;
        gw_ptrs_push(g->arena, &l->attachments, at);
        l->attached++;
        attached++;

        if (l->accepted) {
            live++;
        } else if (refused == NULL) {
            refused = l;
        }
    }

    if (matched == 0) {
        gw_conds_set(&p->conds, "Accepted", 0, "NoMatchingParent",
                     p->ref->section_name != NULL
                     ? gw_arena_printf(g->arena, "Gateway %s has no "
                           "listener named %s%s", p->gateway->obj->meta.name,
                           p->ref->section_name,
                           p->ref->port ? " on that port" : "")
                     : gw_arena_printf(g->arena, "Gateway %s has no "
                           "listener on port %d", p->gateway->obj->meta.name,
                           p->ref->port));
    } else if (allowed == 0) {
        gw_conds_set(&p->conds, "Accepted", 0, "NotAllowedByListeners",
                     gw_arena_printf(g->arena, "no listener of Gateway %s/%s "
                         "allows HTTPRoutes from namespace %s: %s",
                         p->gateway->obj->meta.namespace,
                         p->gateway->obj->meta.name,
                         r->obj->meta.namespace, why));
    } else if (hosts == 0) {
        gw_conds_set(&p->conds, "Accepted", 0, "NoMatchingListenerHostname",
                     "no hostname of the route matches a listener "
                     "hostname");
    } else if (attached == 0) {
        gw_conds_set(&p->conds, "Accepted", 0,
                     gw_route_incompatible(r) ? "IncompatibleFilters"
                                              : "UnsupportedValue",
                     r->invalid ? r->invalid : "no rule can be programmed");
    } else if (live == 0 && gw_listener_refused(refused)) {
        gw_conds_set(&p->conds, "Accepted", 0, "NotAllowedByListeners",
                     gw_arena_printf(g->arena, "listener %s of Gateway "
                         "%s/%s is not accepted (%s): %s",
                         refused->spec->name,
                         p->gateway->obj->meta.namespace,
                         p->gateway->obj->meta.name,
                         gw_conds_get(&refused->conds, "Accepted")->reason,
                         gw_conds_get(&refused->conds, "Accepted")->message));
    } else {
        p->accepted = 1;
        gw_conds_set(&p->conds, "Accepted", 1, "Accepted",
                     "Route is accepted");
    }

    gw_conds_set(&p->conds, "ResolvedRefs",
                 strcmp(r->resolved_refs.status, "True") == 0,
                 r->resolved_refs.reason, r->resolved_refs.message);

    if (p->accepted && r->nvalid_rules < r->nrules) {
        gw_conds_set(&p->conds, "PartiallyInvalid", 1, "UnsupportedValue",
                     gw_arena_printf(g->arena, "Dropped Rule(s): %s",
                                     r->invalid));
    }
}


int
gw_attach_cmp(const void *a, const void *b)
{
    const gw_attach_t  *x = *(gw_attach_t * const *) a;
    const gw_attach_t  *y = *(gw_attach_t * const *) b;

    if (gw_route_precedes(x->route->obj, y->route->obj)) {
        return -1;
    }

    return gw_route_precedes(y->route->obj, x->route->obj) ? 1 : 0;
}


void
gw_graph_routes(gw_graph_t *g, const gw_store_t *store)
{
    size_t                  i, j, k;
    const char             *ns;
    gw_groute_t            *r;
    gw_gparent_t           *p;
    gw_ggateway_t          *gw;
    gw_glistener_t         *l;
    const gw_obj_t         *obj;
    const gw_objlist_t     *list;
    const gw_parent_ref_t  *ref;

    list = gw_store_list(store, GW_KIND_HTTPROUTE);

    for (i = 0; i < list->n; i++) {
        obj = list->items[i];

        r = gw_arena_alloc(g->arena, sizeof(gw_groute_t));
        r->obj = obj;
        r->parents = gw_arena_alloc(g->arena, (obj->u.httproute.nparents + 1)
                                              * sizeof(gw_gparent_t));

        gw_route_rules(g, r);
        gw_graph_backends(g, r, store);

        for (j = 0; j < obj->u.httproute.nparents; j++) {
            ref = &obj->u.httproute.parents[j];
            if (strcmp(ref->group, GW_GROUP) != 0
                || strcmp(ref->kind, "Gateway") != 0)
            {
                continue;
            }

            ns = ref->namespace ? ref->namespace : obj->meta.namespace;
            gw = gw_graph_gateway(g, ns, ref->name);
            if (gw == NULL) {
                continue;               /* not ours: no status entry */
            }

            p = &r->parents[r->nparents++];
            p->ref = ref;
            p->gateway = gw;
            gw_route_attach(g, r, p, store);
        }

        if (r->nparents > 0) {
            gw_ptrs_push(g->arena, &g->routes, r);
        }
    }

    /* Listeners serve their routes in the spec's precedence order. */
    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        for (k = 0; k < gw->nlisteners; k++) {
            l = &gw->listeners[k];
            if (l->attachments.n > 1) {
                qsort(l->attachments.items, l->attachments.n,
                      sizeof(void *), gw_attach_cmp);
            }
        }
    }
}
