/*
 * ngx-gateway: HTTPRoutes: rule validation (matches, filters) before the
 * route is attached to listeners (attach.c).
 */

#include <stdlib.h>
#include <string.h>

#include "dataplane/filter.h"
#include "graph/graph.h"
#include "validate/names.h"


static const char *
gw_match_check(gw_graph_t *g, const gw_http_match_t *m)
{
    gw_err_t  err;

    if (m->path_type == GW_PATH_REGEX) {
        return "RegularExpression path matches are not supported yet";
    }

    if (m->nheaders > 0) {
        return "header matches are not supported yet";
    }

    if (m->nqueries > 0) {
        return "query parameter matches are not supported yet";
    }

    if (m->method != NULL) {
        return "method matches are not supported yet";
    }

    if (gw_valid_nginx_path(m->path, &err) != GW_OK) {
        return gw_arena_strdup(g->arena, err.msg);
    }

    return NULL;
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
            return why;
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


void
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
