/*
 * ngx-gateway: what one HTTPRoute or GRPCRoute rule does, the body of its
 * location (rule.tmpl, grpc_rule.tmpl).
 */

#include <string.h>
#include <strings.h>

#include "render/mirror.h"
#include "render/proxy.h"
#include "render/render.h"
#include "render/render_int.h"


/*
 * The request headers a location sends: ours (Host, Connection,
 * X-Forwarded-For, X-Forwarded-Proto), then the RequestHeaderModifier's,
 * which replace ours of the same name.  Each is an nginx expression
 * (expr, written raw: built here from validated parts), a literal
 * (written quoted by the template), or an add: literal appended to the
 * client's value ($gw_join_<join>, see http.tmpl).
 */
typedef struct {
    const char  *name;
    const char  *expr;
    const char  *literal;
    const char  *join;
    size_t       add;         /* an add's index in its modifier */
} gw_render_header_t;

#define GW_RENDER_OWN_HEADERS  4

/* The gRPC status of a GRPCRoute rule without a usable backend. */
#define GW_GRPC_UNAVAILABLE  14

typedef struct {
    gw_render_header_t  *items;
    size_t               n;
} gw_render_headers_t;


static gw_render_header_t *
gw_render_header_put(gw_render_headers_t *h, const char *name,
    const char *expr, const char *literal)
{
    size_t               i;
    gw_render_header_t  *e;

    for (i = 0; i < h->n; i++) {
        if (strcasecmp(h->items[i].name, name) == 0) {
            break;
        }
    }

    e = &h->items[i];
    if (i == h->n) {
        h->n++;
    }

    e->name = name;
    e->expr = expr;
    e->literal = literal;
    e->join = NULL;

    return e;
}


/* Ours, then m's, into h, with room for extra more. */
static void
gw_render_headers_collect(gw_arena_t *a, const gw_dp_location_t *loc,
    const gw_dp_header_mod_t *m, size_t extra, gw_render_headers_t *h)
{
    size_t               i;
    gw_render_header_t  *e;

    h->n = 0;
    h->items = gw_arena_alloc(a, (GW_RENDER_OWN_HEADERS + 1 + extra
                                  + (m ? m->nset + m->nadd + m->nremove : 0))
                                 * sizeof(gw_render_header_t));

    gw_render_header_put(h, "Host", loc->host ? loc->host : "$http_host",
                         NULL);
    gw_render_header_put(h, "Connection", NULL, "");
    if (gw_render_proxy_ws(loc)) {
        /* "upgrade" when the client asks, else none (keepalive) */
        gw_render_header_put(h, "Connection", "$gw_connection_upgrade",
                             NULL);
        gw_render_header_put(h, "Upgrade", "$http_upgrade", NULL);
    }
    gw_render_header_put(h, "X-Forwarded-For", "$proxy_add_x_forwarded_for",
                         NULL);
    gw_render_header_put(h, "X-Forwarded-Proto", "$scheme", NULL);

    for (i = 0; m != NULL && i < m->nset; i++) {
        gw_render_header_put(h, m->set[i].name, NULL, m->set[i].value);
    }

    for (i = 0; m != NULL && i < m->nadd; i++) {
        e = gw_render_header_put(h, m->add[i].name, NULL, m->add[i].value);
        e->join = gw_dp_header_var(a, m->add[i].name);
        e->add = i;
    }

    for (i = 0; m != NULL && i < m->nremove; i++) {
        gw_render_header_put(h, m->remove[i], NULL, "");
    }
}


void
gw_render_request_headers(gw_arena_t *a, gw_view_t *v,
    const gw_dp_location_t *loc)
{
    size_t                     i;
    gw_view_t                 *hv;
    gw_render_headers_t        h;
    const gw_dp_split_t       *s;
    const gw_render_header_t  *e;
    const gw_dp_header_mod_t  *m;

    m = loc->request;
    s = (loc->split != NULL && loc->split->labelled) ? loc->split : NULL;

    gw_render_headers_collect(a, loc, m, s ? s->nnames : 0, &h);

    /*
     * add appends to what the client sent: "$gw_join_x_foo" is the
     * client's value and a comma, or nothing, and the value is set into
     * a variable first, quoted, so that nothing in it is nginx syntax
     */
    for (i = 0; m != NULL && i < m->nadd; i++) {
        hv = gw_view_add(v, "add_values");
        gw_view_setf(hv, "add_var", "gw_add_%zu", i);
        gw_view_set(hv, "add_value", m->add[i].value);
    }

    /* the headers backendRefs modify: their share's (http.tmpl's maps) */
    for (i = 0; s != NULL && i < s->nnames; i++) {
        gw_render_header_put(&h, s->names[i],
                             gw_arena_printf(a, "$%s_h_%zu", s->var, i),
                             NULL);
    }

    for (i = 0; i < h.n; i++) {
        e = &h.items[i];
        hv = gw_view_add(v, "request_headers");
        gw_view_set(hv, "hdr_name", e->name);
        if (e->join != NULL) {
            gw_view_setf(hv, "hdr_expr", "$gw_join_%s$gw_add_%zu", e->join,
                         e->add);
        } else if (e->expr != NULL) {
            gw_view_set(hv, "hdr_expr", e->expr);
        } else {
            gw_view_set(hv, "hdr_literal", e->literal);
        }
    }
}


void
gw_render_request_header_value(gw_arena_t *a, const gw_dp_location_t *loc,
    const gw_dp_header_mod_t *m, const char *name, const char **expr,
    const char **str)
{
    size_t                     i;
    gw_render_headers_t        h;
    const gw_render_header_t  *e;

    gw_render_headers_collect(a, loc, m, 0, &h);

    *expr = NULL;
    *str = NULL;

    for (i = 0; i < h.n; i++) {
        e = &h.items[i];
        if (strcasecmp(e->name, name) != 0) {
            continue;
        }

        if (e->join != NULL) {
            *str = gw_arena_printf(a, "${gw_join_%s}%s", e->join,
                                   e->literal);
        } else if (e->expr != NULL) {
            *expr = e->expr;
        } else {
            *str = e->literal;
        }

        return;
    }

    /* what the client sent */
    *expr = gw_arena_printf(a, "$http_%s", gw_dp_header_var(a, name));
}


static void
gw_render_add_header(gw_view_t *v, const gw_dp_kv_t *h)
{
    gw_view_t  *hv;

    hv = gw_view_add(v, "add_headers");
    gw_view_set(hv, "resp_name", h->name);
    gw_view_set(hv, "resp_value", h->value);
}


/* ResponseHeaderModifier: hide what the backend sent, add ours. */
static void
gw_render_response_headers(gw_view_t *v, const gw_dp_header_mod_t *m)
{
    size_t  i;

    if (m == NULL) {
        return;
    }

    for (i = 0; i < m->nset; i++) {
        gw_view_set(gw_view_add(v, "hide_headers"), "resp_name",
                    m->set[i].name);
    }

    for (i = 0; i < m->nremove; i++) {
        gw_view_set(gw_view_add(v, "hide_headers"), "resp_name",
                    m->remove[i]);
    }

    for (i = 0; i < m->nset; i++) {
        gw_render_add_header(v, &m->set[i]);
    }

    for (i = 0; i < m->nadd; i++) {
        gw_render_add_header(v, &m->add[i]);
    }
}


/*
 * CORS (rule.tmpl): an allowed Origin is echoed, with the credentials and
 * exposed headers; a preflight (OPTIONS with
 * Access-Control-Request-Method) is answered by nginx, with the methods,
 * headers and max age when its Origin is allowed.  The origins' pattern
 * is written literally ({{%...}}: an if's regex reads no variables).
 */
static void
gw_render_cors(gw_view_t *v, const gw_dp_cors_t *c)
{
    gw_view_t  *cv;

    if (c == NULL) {
        return;
    }

    cv = gw_view_add(v, "cors");
    if (c->origins != NULL) {
        gw_view_set(cv, "cors_re", c->origins);
    } else {
        gw_view_set_flag(cv, "cors_any", 1);
    }
    gw_view_set(cv, "cors_cred", c->credentials ? "true" : "");
    gw_view_set_flag(cv, "cors_expose_any", c->expose_any);
    gw_view_set(cv, "cors_expose", c->expose);
    gw_view_set_flag(cv, "cors_methods_any", c->methods_any);
    gw_view_set(cv, "cors_methods", c->methods);
    gw_view_set_flag(cv, "cors_headers_any", c->headers_any);
    gw_view_set(cv, "cors_headers", c->headers);
    gw_view_set_int(cv, "cors_max_age", c->max_age);
}


/*
 * The Location of a RequestRedirect (v1.6.1 HTTPRequestRedirectFilter).
 * The scheme is the one given, else the request's; the port the one
 * given, else the given scheme's well-known port, else the listener's
 * (the port the request came in on).  The port is not written when it is
 * the default of the Location's scheme (http 80, https 443): a port that
 * depends on the request's scheme is decided by nginx, with the map
 * $gw_redirect_port over "$scheme:$gw_redirect_port_in" (http.tmpl),
 * the location setting $gw_redirect_port_in (rule.tmpl) to the port given
 * or its listen's.
 */
static const char *
gw_render_redirect_url(gw_arena_t *a, gw_view_t *v,
    const gw_dp_location_t *loc, int *port_var)
{
    int                      deflt;
    const char              *scheme, *host, *port_part, *path;
    const gw_dp_redirect_t  *r;

    r = loc->redirect;

    scheme = r->scheme ? r->scheme : "$scheme";
    host = r->hostname ? r->hostname : "$host";

    if (r->scheme != NULL) {
        deflt = (strcmp(r->scheme, "https") == 0) ? 443 : 80;
        port_part = (r->port == 0 || r->port == deflt)
                    ? "" : gw_arena_printf(a, ":%d", r->port);

    } else {
        /*
         * the listener's port is its listen's (rule.tmpl: listen_port),
         * not $server_port, which a server behind a port's front (a unix
         * socket) does not have
         */
        port_part = "$gw_redirect_port";
        *port_var = 1;
        if (r->port != 0) {
            gw_view_set_int(v, "redirect_port_in", r->port);
        } else {
            gw_view_set_flag(v, "redirect_listener_port", 1);
        }
    }

    /* the path rewritten into $uri, or the request's path and query */
    path = (r->path != GW_REWRITE_NONE) ? "$uri$is_args$args"
                                        : "$request_uri";

    return gw_arena_printf(a, "%s://%s%s%s", scheme, host, port_part, path);
}


/*
 * A GRPCRoute rule's RequestHeaderModifier (grpc_rule.tmpl): only its own
 * headers, with grpc_set_header; grpc_pass passes the call's others on.
 */
static void
gw_render_grpc_request_headers(gw_arena_t *a, gw_view_t *v,
    const gw_dp_header_mod_t *m)
{
    size_t      i;
    gw_view_t  *hv;

    if (m == NULL) {
        return;
    }

    for (i = 0; i < m->nset; i++) {
        hv = gw_view_add(v, "request_headers");
        gw_view_set(hv, "hdr_name", m->set[i].name);
        gw_view_set(hv, "hdr_literal", m->set[i].value);
    }

    /* add: as for an HTTPRoute (gw_render_request_headers) */
    for (i = 0; i < m->nadd; i++) {
        hv = gw_view_add(v, "add_values");
        gw_view_setf(hv, "add_var", "gw_add_%zu", i);
        gw_view_set(hv, "add_value", m->add[i].value);

        hv = gw_view_add(v, "request_headers");
        gw_view_set(hv, "hdr_name", m->add[i].name);
        gw_view_set(hv, "hdr_expr",
                    gw_arena_printf(a, "$gw_join_%s$gw_add_%zu",
                                    gw_dp_header_var(a, m->add[i].name),
                                    i));
    }

    for (i = 0; i < m->nremove; i++) {
        hv = gw_view_add(v, "request_headers");
        gw_view_set(hv, "hdr_name", m->remove[i]);
        gw_view_set(hv, "hdr_literal", "");
    }
}


/*
 * What a GRPCRoute rule does (grpc_rule.tmpl): its header modifiers and
 * grpc_pass, or, without a backend it can use, UNAVAILABLE as a gRPC
 * status.
 */
static void
gw_render_grpc_rule(gw_arena_t *a, gw_view_t *v, const gw_dp_location_t *loc)
{
    gw_view_set_flag(v, "grpc", 1);

    gw_render_response_headers(v, loc->response);

    if (loc->status != 0) {
        gw_view_set_int(v, "grpc_status", GW_GRPC_UNAVAILABLE);
        return;
    }

    gw_render_grpc_request_headers(a, v, loc->request);

    if (loc->split != NULL) {
        gw_view_set(v, "split", loc->split->var);
    } else {
        gw_view_set(v, "upstream", loc->upstream);
    }
}


/*
 * Split s has a share that answers 500.  The internal 500 server speaks
 * plain HTTP: a location that speaks TLS to its backends answers that
 * share itself (rule.tmpl), or the handshake would make it a 502.
 */
static int
gw_render_split_500(const gw_dp_split_t *s)
{
    size_t  i;

    for (i = 0; i < s->nshares; i++) {
        if (strcmp(s->shares[i].upstream, GW_UPSTREAM_500) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * TLS to the backends of a location (dataplane/backend_tls.c): scheme,
 * SNI, verification and the client certificate.  File names are
 * "<hex>.pem" below {{secrets_dir}}.
 */
static void
gw_render_backend_tls(gw_view_t *v, const gw_dp_location_t *loc)
{
    size_t                      i;
    gw_view_t                  *sv;
    const gw_dp_backend_tls_t  *t;

    t = loc->tls;

    gw_view_set(v, "scheme",
                (loc->proxy != NULL && loc->proxy->h2c) ? "grpcs" : "https");
    gw_view_set(v, "tls_name", t->name);
    gw_view_set(v, "tls_policy", t->what);

    if (t->ca != NULL) {
        gw_view_set(v, "tls_ca", t->ca->file);
    }

    if (t->client != NULL) {
        gw_view_set(v, "tls_client", t->client->file);
    }

    /* subjectAltNames: our module checks them, not nginx the name */
    if (t->nsans > 0) {
        gw_view_set(v, "tls_sans_check", "on");
    }

    for (i = 0; i < t->nsans; i++) {
        sv = gw_view_add(v, "tls_sans");
        gw_view_setf(sv, "san", "%s:%s", t->sans[i].uri ? "uri" : "dns",
                     t->sans[i].value);
    }
}


/* What one rule does: the body of its location or named location. */
void
gw_render_rule(gw_arena_t *a, gw_view_t *v, const gw_dp_location_t *loc,
    int *port_var)
{
    gw_view_set(v, "route", loc->route);
    if (gw_render_tag_ok(loc->route)) {
        gw_view_set(v, "tag_route", loc->route);
    }
    gw_view_set_int(v, "rule", (long long) loc->rule);
    gw_view_set(v, "route_kind", loc->grpc ? "GRPCRoute" : "HTTPRoute");

    if (loc->grpc) {
        gw_render_grpc_rule(a, v, loc);
        return;
    }

    gw_render_proxy(v, loc);
    gw_render_response_headers(v, loc->response);
    gw_render_cors(v, loc->cors);

    if (loc->redirect != NULL) {
        gw_view_set_int(v, "redirect_status", loc->redirect->status);
        gw_view_set(v, "redirect_url",
                    gw_render_redirect_url(a, v, loc, port_var));
        if (loc->redirect_regex != NULL) {
            gw_view_set(v, "redirect_regex", loc->redirect_regex);
            gw_view_set(v, "redirect_repl", loc->redirect_repl);
        }
        return;
    }

    if (loc->status != 0) {
        gw_view_set_int(v, "status", loc->status);
        return;
    }

    if (loc->rewrite_regex != NULL) {
        gw_view_set(v, "rewrite_regex", loc->rewrite_regex);
        gw_view_set(v, "rewrite_repl", loc->rewrite_repl);
    }

    gw_render_request_headers(a, v, loc);
    gw_render_mirror_names(v, loc);

    if (loc->tls != NULL) {
        gw_render_backend_tls(v, loc);
    }

    if (loc->split != NULL) {
        gw_view_set(v, "split", loc->split->labelled
                                ? gw_arena_printf(a, "%s_up",
                                                  loc->split->var)
                                : loc->split->var);
        if (loc->tls != NULL && gw_render_split_500(loc->split)) {
            gw_view_set(v, "split_500", GW_UPSTREAM_500);
        }

    } else {
        gw_view_set(v, "upstream", loc->upstream);
    }
}
