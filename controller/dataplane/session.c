/*
 * ngx-gateway: HTTPRoute rules[].sessionPersistence in open-source nginx
 * (no NGINX Plus "sticky").
 *
 * A session is a key that the client carries: a cookie or a header.  The
 * rule's upstreams balance with "hash $<var>_key consistent", where the
 * key is what the client sent or, on a first request, $request_id.  The
 * first reply hands that $request_id back (Set-Cookie, or the header), so
 * the next request carries the very key that chose its endpoint, and the
 * consistent hash sends it to the same one.  Nothing is stored: sessions
 * survive reloads and restarts while the endpoints stay the same, and
 * when an endpoint goes only its sessions move (ketama: the other
 * endpoints keep their points on the ring).
 *
 * A weighted split between several backends uses the same key, so a
 * session also keeps its backend while the weights stay the same; a new
 * session (a fresh $request_id) is split by the weights.
 *
 * The maps (templates/http.tmpl):
 *
 *   map $http_cookie $<var>     { "~(?:^|;)\s*NAME=([^;\s]+)" $1;
 *                                 default ""; }        (Cookie only)
 *   map $<source> $<var>_key    { "" $request_id; default $<source>; }
 *   map $<source> $<var>_set    { "" "NAME=$request_id; Path=..; HttpOnly";
 *                                 default ""; }        (Cookie)
 *                               { "" $request_id; default ""; } (Header)
 *
 * and the location adds "add_header Set-Cookie|NAME $<var>_set always":
 * nginx sends no header whose value is empty.
 *
 * The names are checked by the graph (graph/route_ext.c): a cookie name
 * is an HTTP token without '$', '#' and "'" (nginx syntax), a header name
 * is made of letters, digits and '-' (nginx drops other request headers).
 * The Path is the rule's path match (the common leading segments of its
 * Exact and PathPrefix paths; "/" with a RegularExpression match or a
 * path with a character outside the safe set below).
 */

#include <ctype.h>
#include <string.h>

#include "api/rule_ext.h"
#include "core/gw_buf.h"
#include "dataplane/dataplane_int.h"

#define GW_SESSION_COOKIE_DEFAULT  "gw_session"
#define GW_SESSION_HEADER_DEFAULT  "X-Gw-Session"


/* The characters a cookie Path keeps as we write it. */
static int
gw_dp_session_path_char(int c)
{
    return c != '\0'
           && (isalnum(c) || strchr("/._~!%&*+,:@=-", c) != NULL);
}


/*
 * The cookie's Path: the leading whole segments that every path match of
 * the rule shares ("/" when they share none).
 */
static const char *
gw_dp_session_path(gw_dp_ctx_t *ctx, const gw_http_rule_t *spec)
{
    size_t                  i, k, n, len;
    const char             *first, *p;
    const gw_http_match_t  *m;

    first = NULL;
    len = 0;

    for (i = 0; i < spec->nmatches; i++) {
        m = &spec->matches[i];
        if (m->path_type == GW_PATH_REGEX || m->path == NULL) {
            return "/";
        }

        p = m->path;
        n = strlen(p);
        while (n > 1 && p[n - 1] == '/') {
            n--;
        }

        if (first == NULL) {
            first = p;
            len = n;
            continue;
        }

        for (k = 0; k < len && k < n && first[k] == p[k]; k++) {
            /* the common characters */
        }

        if (k == len && (k == n || p[k] == '/')) {
            continue;                   /* first[0..len) leads p */
        }

        if (k == n && first[k] == '/') {
            len = n;                    /* p leads first[0..len) */
            continue;
        }

        /* they part inside a segment: back to the '/' before it */
        while (k > 0 && (k >= len || first[k] != '/')) {
            k--;
        }
        len = k;
    }

    if (first == NULL || len <= 1) {
        return "/";
    }

    for (i = 0; i < len; i++) {
        if (!gw_dp_session_path_char((unsigned char) first[i])) {
            return "/";
        }
    }

    return gw_arena_strndup(ctx->a, first, len);
}


/*
 * The map key that finds cookie name in $http_cookie ("a=1; b=2"): '~'
 * and a regex, every character of the name but letters and digits
 * escaped.
 */
static const char *
gw_dp_session_cookie_re(gw_dp_ctx_t *ctx, const char *name)
{
    const char  *p, *re;
    gw_buf_t     b;

    gw_buf_init(&b);
    gw_buf_puts(&b, "~(?:^|;)\\s*");

    for (p = name; *p; p++) {
        if (!isalnum((unsigned char) *p) && *p != '_' && *p != '-') {
            gw_buf_putc(&b, '\\');
        }
        gw_buf_putc(&b, *p);
    }

    gw_buf_puts(&b, "=([^;\\s]+)");

    re = gw_arena_strndup(ctx->a, b.data, b.len);
    gw_buf_free(&b);

    return re;
}


const gw_dp_session_t *
gw_dp_session(gw_dp_ctx_t *ctx, const gw_grule_t *rule)
{
    size_t               i;
    gw_dp_session_t     *s;
    const gw_session_t  *sp;

    if (rule->spec == NULL || rule->ext == NULL
        || rule->ext->session == NULL)
    {
        return NULL;
    }

    /* a rule served on several listeners and hosts: one session */
    for (i = 0; i < ctx->dp->sessions.n; i++) {
        s = ctx->dp->sessions.items[i];
        if (s->rule == rule) {
            return s;
        }
    }

    sp = rule->ext->session;

    s = gw_arena_alloc(ctx->a, sizeof(gw_dp_session_t));
    s->rule = rule;
    s->var = gw_arena_printf(ctx->a, "gw_sp_%zu", ctx->dp->sessions.n);
    s->header = (sp->type == GW_SESSION_HEADER);
    s->max_age = -1;

    if (s->header) {
        s->name = sp->name ? sp->name : GW_SESSION_HEADER_DEFAULT;
        s->source = gw_arena_printf(ctx->a, "http_%s",
                                    gw_dp_header_var(ctx->a, s->name));

    } else {
        s->name = sp->name ? sp->name : GW_SESSION_COOKIE_DEFAULT;
        s->source = s->var;
        s->cookie_re = gw_dp_session_cookie_re(ctx, s->name);
        s->path = gw_dp_session_path(ctx, rule->spec);

        if (sp->permanent) {
            /* whole seconds, at least one (0 would delete the cookie) */
            s->max_age = (sp->absolute_ms + 999) / 1000;
            if (s->max_age < 1) {
                s->max_age = 1;
            }
        }
    }

    gw_ptrs_push(ctx->a, &ctx->dp->sessions, s);

    return s;
}
