/*
 * ngx-gateway: HTTPRoutes: rule validation (matches, filters) before the
 * route is attached to listeners (attach.c).
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
const char *
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


/*
 * The rule's matches, then its filters as nginx carries them
 * (dataplane/filter.c, which the data plane reads them with again).
 */
static const char *
gw_rule_check(gw_graph_t *g, const gw_http_rule_t *rule, gw_grule_t *gr)
{
    size_t            i;
    const char       *why;
    gw_dp_filters_t   filters;

    for (i = 0; i < rule->nmatches; i++) {
        why = gw_match_check(g, &rule->matches[i]);
        if (why != NULL) {
            return rule->nmatches > 1
                   ? gw_arena_printf(g->arena, "match %zu: %s", i, why)
                   : why;
        }
    }

    why = gw_dp_filters_check(g->arena, rule, &filters);
    if (why != NULL) {
        return why;
    }

    gr->rewrite = filters.rewrite;

    if (filters.extension != NULL) {
        gr->extension = gw_dp_extension_why(g->arena, filters.extension);
    }

    return NULL;
}


void
gw_route_drop_rule(gw_graph_t *g, gw_groute_t *r, const gw_grule_t *gr)
{
    /* every dropped rule is named, in rule order */
    r->invalid = r->invalid == NULL
                 ? gw_arena_printf(g->arena, "rule %zu: %s", gr->index,
                                   gr->invalid_reason)
                 : gw_arena_printf(g->arena, "%s; rule %zu: %s", r->invalid,
                                   gr->index, gr->invalid_reason);
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
        gr->invalid_reason = gw_rule_check(g, gr->spec, gr);
        gr->valid = (gr->invalid_reason == NULL);
        r->nvalid_rules += gr->valid;
        if (!gr->valid) {
            gw_route_drop_rule(g, r, gr);
        }
    }
}
