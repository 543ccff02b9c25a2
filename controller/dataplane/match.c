/*
 * ngx-gateway: HTTPRoute matches as nginx locations.
 *
 * Every match of every rule that serves a server's hostname is a candidate
 * (gw_dp_candidate_t).  The server has one location per distinct path:
 * Exact P gives "location = P", PathPrefix P gives "location = P" and
 * "location P/" (PathPrefix "/" gives "location /"), and, when a
 * RegularExpression path exists, "location /" too, so that every request
 * reaches a location that knows the regexes.  nginx picks the location
 * (the exact one, else the longest prefix), and the location holds every
 * candidate whose path matches there, in the spec's precedence order:
 *
 *   1. hostname tier: the server's own hostname, then the wildcards that
 *      cover it (longest first), then the routes for every host; a
 *      request that no candidate of a tier matches falls through to the
 *      next tier's candidates in the same list;
 *   2. Exact, then RegularExpression (implementation-specific in the
 *      spec; ours: after Exact and before every PathPrefix), then
 *      PathPrefix, the longest first;
 *   3. a method match, then the most header matches, then the most query
 *      parameter matches;
 *   4. the oldest route, then namespace/name, then rule order, then match
 *      order within the rule (the order the candidates were added in).
 *
 * The list stops at the first candidate without conditions: nothing after
 * it can be reached.  When that is the first one, the location does what
 * its rule does, written in the location itself as it always was; else
 * the location is a dispatcher (gateway_match lines) and each candidate's
 * rule is written once in a named location of the server.
 *
 * The location's path choice decides a candidate's Exact or PathPrefix
 * path, so those are not written as fields; a regex path is (path~RE).
 */

#include <string.h>
#include <strings.h>

#include "core/gw_buf.h"
#include "dataplane/dataplane_int.h"


/*
 * ns or name in a named location's name: as it is when it is a DNS name,
 * as the API server has it; else every other byte as _XX, so that the
 * name stays a safe nginx token, unique and the same at every render.
 */
static void
gw_dp_target_part(gw_buf_t *b, const char *s)
{
    for ( /* void */ ; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')
            || *s == '-' || *s == '.')
        {
            gw_buf_putc(b, *s);
        } else {
            gw_buf_printf(b, "_%02x", (unsigned char) *s);
        }
    }
}


const char *
gw_dp_target_name(gw_dp_ctx_t *ctx, const gw_groute_t *r, size_t rule,
    size_t match)
{
    gw_buf_t     b;
    const char  *name;

    gw_buf_init(&b);
    gw_buf_putc(&b, '@');
    gw_dp_target_part(&b, r->obj->meta.namespace);
    gw_buf_putc(&b, '/');
    gw_dp_target_part(&b, r->obj->meta.name);
    gw_buf_printf(&b, ":%zu:%zu", rule, match);

    name = gw_arena_strndup(ctx->a, b.data, b.len);
    gw_buf_free(&b);

    return name;
}


/*
 * The header (or query parameter) fields of a match, in the order written:
 * of equivalent names only the first counts (spec), header names compared
 * without case, query parameter names with.
 */
static size_t
gw_dp_kv_fields(gw_dp_ctx_t *ctx, const gw_kv_match_t *kv, size_t n,
    int header, const char **fields, size_t *nfields)
{
    char    op;
    size_t  i, j, count;

    count = 0;

    for (i = 0; i < n; i++) {
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

        op = (strcmp(kv[i].type, "RegularExpression") == 0) ? '~' : ':';
        fields[(*nfields)++] = gw_arena_printf(ctx->a, "%s%c%s=%s",
                                               header ? "header" : "query",
                                               op, kv[i].name, kv[i].value);
        count++;
    }

    return count;
}


void
gw_dp_candidate_add(gw_dp_ctx_t *ctx, gw_dp_server_t *s,
    const gw_http_match_t *m, int tier, const char *prefix,
    gw_dp_location_t *action, const char *target)
{
    gw_dp_candidate_t  *c;

    c = gw_arena_alloc(ctx->a, sizeof(gw_dp_candidate_t));
    c->target = target;
    c->action = action;
    c->tier = tier;
    c->seq = s->candidates.n;
    c->fields = gw_arena_alloc(ctx->a, (2 + m->nheaders + m->nqueries)
                                       * sizeof(char *));

    if (m->method != NULL) {
        c->method = 1;
        c->fields[c->nfields++] = gw_arena_printf(ctx->a, "method=%s",
                                                  m->method);
    }

    switch (m->path_type) {
    case GW_PATH_EXACT:
        c->path_class = GW_DP_PATH_EXACT;
        c->path = m->path;
        break;
    case GW_PATH_REGEX:
        c->path_class = GW_DP_PATH_REGEX;
        c->path = m->path;
        c->fields[c->nfields++] = gw_arena_printf(ctx->a, "path~%s",
                                                  m->path);
        break;
    default:
        c->path_class = GW_DP_PATH_PREFIX;
        c->path = prefix;
        break;
    }

    c->path_len = strlen(c->path);

    c->nheaders = gw_dp_kv_fields(ctx, m->headers, m->nheaders, 1,
                                  c->fields, &c->nfields);
    c->nqueries = gw_dp_kv_fields(ctx, m->queries, m->nqueries, 0,
                                  c->fields, &c->nfields);

    gw_ptrs_push(ctx->a, &s->candidates, c);
    gw_map_put(s->by_target, target, c);
}


int
gw_dp_candidate_cmp(const void *a, const void *b)
{
    const gw_dp_candidate_t  *x = *(gw_dp_candidate_t * const *) a;
    const gw_dp_candidate_t  *y = *(gw_dp_candidate_t * const *) b;

    if (x->tier != y->tier) {
        return x->tier < y->tier ? -1 : 1;
    }

    if (x->path_class != y->path_class) {
        return x->path_class < y->path_class ? -1 : 1;
    }

    if (x->path_class == GW_DP_PATH_PREFIX && x->path_len != y->path_len) {
        return x->path_len > y->path_len ? -1 : 1;
    }

    if (x->method != y->method) {
        return x->method ? -1 : 1;
    }

    if (x->nheaders != y->nheaders) {
        return x->nheaders > y->nheaders ? -1 : 1;
    }

    if (x->nqueries != y->nqueries) {
        return x->nqueries > y->nqueries ? -1 : 1;
    }

    if (x->seq != y->seq) {
        return x->seq < y->seq ? -1 : 1;
    }

    return 0;
}


typedef struct {
    gw_map_t   exact;           /* path -> gw_ptrs_t of candidates */
    gw_map_t   prefix;          /* normalised prefix -> gw_ptrs_t */
    gw_ptrs_t  regex;
    gw_map_t   keys;            /* "=P", "^P/" of locations made */
} gw_dp_index_t;


static void
gw_dp_index_put(gw_dp_ctx_t *ctx, gw_map_t *m, const char *path,
    gw_dp_candidate_t *c)
{
    gw_ptrs_t  *list;

    list = gw_map_get(m, path);
    if (list == NULL) {
        list = gw_arena_alloc(ctx->a, sizeof(gw_ptrs_t));
        gw_map_put(m, path, list);
    }

    gw_ptrs_push(ctx->a, list, c);
}


static void
gw_dp_gather_list(gw_dp_ctx_t *ctx, gw_ptrs_t *out, const gw_ptrs_t *list)
{
    size_t  i;

    for (i = 0; list != NULL && i < list->n; i++) {
        gw_ptrs_push(ctx->a, out, list->items[i]);
    }
}


/*
 * The candidates whose path matches every request nginx gives to the
 * location for path u ("P" of "location = P", "P/" of "location P/"):
 * Exact u, the PathPrefixes that cover u (u itself, each u cut before a
 * '/', and "/"; a longer prefix would have its own location, which nginx
 * would pick) and every regex.
 */
static void
gw_dp_gather(gw_dp_ctx_t *ctx, gw_dp_index_t *ix, int exact, const char *u,
    gw_ptrs_t *out)
{
    size_t  i;

    if (exact) {
        gw_dp_gather_list(ctx, out, gw_map_get(&ix->exact, u));
    }

    gw_dp_gather_list(ctx, out, gw_map_get(&ix->prefix, u));

    /* "/" itself comes last, once */
    for (i = strlen(u) - 1; i > 1; i--) {
        if (u[i] == '/') {
            gw_dp_gather_list(ctx, out,
                              gw_map_get(&ix->prefix,
                                         gw_arena_strndup(ctx->a, u, i)));
        }
    }

    if (strcmp(u, "/") != 0) {
        gw_dp_gather_list(ctx, out, gw_map_get(&ix->prefix, "/"));
    }

    gw_dp_gather_list(ctx, out, &ix->regex);
}


static void
gw_dp_make_location(gw_dp_ctx_t *ctx, gw_dp_server_t *s, gw_dp_index_t *ix,
    int exact, const char *path)
{
    size_t              i, n;
    const char         *key;
    gw_ptrs_t           list;
    gw_dp_location_t   *loc;
    gw_dp_candidate_t  *c;

    key = gw_arena_printf(ctx->a, "%c%s", exact ? '=' : '^', path);
    if (gw_map_get(&ix->keys, key) != NULL) {
        return;
    }
    gw_map_put(&ix->keys, key, (void *) key);

    memset(&list, 0, sizeof(list));
    gw_dp_gather(ctx, ix, exact, path, &list);

    if (list.n == 0) {
        return;                 /* cannot be: path is a candidate's */
    }

    gw_ptrs_sort(&list, gw_dp_candidate_cmp);

    /* nothing after a candidate without conditions can be reached */
    for (n = 0; n < list.n; n++) {
        c = list.items[n];
        if (c->nfields == 0) {
            n++;
            break;
        }
    }

    loc = gw_arena_alloc(ctx->a, sizeof(gw_dp_location_t));
    c = list.items[0];

    if (c->nfields == 0) {
        *loc = *c->action;

    } else {
        loc->ncandidates = n;
        loc->candidates = gw_arena_alloc(ctx->a,
                                         n * sizeof(gw_dp_candidate_t *));
        for (i = 0; i < n; i++) {
            loc->candidates[i] = list.items[i];
            loc->candidates[i]->named = 1;
        }
    }

    loc->exact = exact;
    loc->path = path;

    gw_ptrs_push(ctx->a, &s->locations, loc);

    if (!exact && strcmp(path, "/") == 0) {
        s->has_root = 1;
    }
}


void
gw_dp_server_locations(gw_dp_ctx_t *ctx, gw_dp_server_t *s)
{
    size_t              i;
    gw_dp_index_t       ix;
    gw_dp_candidate_t  *c;

    gw_map_init(&ix.exact, ctx->a);
    gw_map_init(&ix.prefix, ctx->a);
    gw_map_init(&ix.keys, ctx->a);
    memset(&ix.regex, 0, sizeof(ix.regex));

    for (i = 0; i < s->candidates.n; i++) {
        c = s->candidates.items[i];
        switch (c->path_class) {
        case GW_DP_PATH_EXACT:
            gw_dp_index_put(ctx, &ix.exact, c->path, c);
            break;
        case GW_DP_PATH_REGEX:
            gw_ptrs_push(ctx->a, &ix.regex, c);
            break;
        default:
            gw_dp_index_put(ctx, &ix.prefix, c->path, c);
            break;
        }
    }

    for (i = 0; i < s->candidates.n; i++) {
        c = s->candidates.items[i];

        if (c->path_class == GW_DP_PATH_EXACT) {
            gw_dp_make_location(ctx, s, &ix, 1, c->path);

        } else if (c->path_class == GW_DP_PATH_REGEX
                   || strcmp(c->path, "/") == 0)
        {
            gw_dp_make_location(ctx, s, &ix, 0, "/");

        } else {
            gw_dp_make_location(ctx, s, &ix, 1, c->path);
            gw_dp_make_location(ctx, s, &ix, 0,
                                gw_arena_printf(ctx->a, "%s/", c->path));
        }
    }

    /* the named locations the dispatchers use, in precedence order */
    for (i = 0; i < s->candidates.n; i++) {
        c = s->candidates.items[i];
        if (c->named) {
            gw_ptrs_push(ctx->a, &s->named, c->action);
        }
    }
}
