/*
 * ngx-gateway: view builders: flat, already-validated views of the data
 * plane for the templates.
 */

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "render/mirror.h"
#include "render/proxy.h"
#include "render/render.h"
#include "render/tmpl.h"


int
gw_render_check_path(const char *path, gw_err_t *err)
{
    const char  *p;

    if (path[0] != '/') {
        gw_err_set(err, "path \"%s\" must be absolute", path);
        return GW_ERR;
    }

    for (p = path; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || strchr("/._-+", *p) != NULL))
        {
            gw_err_set(err, "path \"%s\" contains '%c': use a path made of "
                       "letters, digits and / . _ - +", path, *p);
            return GW_ERR;
        }
    }

    /* a unix socket path must fit in sun_path (108 bytes) */
    if (strlen(path) + sizeof("/run/gateway-status.sock") > 100) {
        gw_err_set(err, "path \"%s\" is too long for the unix sockets "
                   "nginx creates below it: use a shorter one", path);
        return GW_ERR;
    }

    return GW_OK;
}


/*
 * A value our module takes in a tag, as a safe token: 1..512 printable
 * ASCII characters without whitespace, quotes, backslash, ; { } $ #.
 * Gateway API names and hostnames always are; a value that is not (a
 * name the API server would have refused) leaves its object untagged
 * rather than failing the whole configuration.
 */
int
gw_render_tag_ok(const char *s)
{
    size_t  n;

    for (n = 0; s[n] != '\0'; n++) {
        if (s[n] <= ' ' || s[n] > '~'
            || strchr("\"'\\;{}$#", s[n]) != NULL)
        {
            return 0;
        }
    }

    return n > 0 && n <= GW_TAG_MAX;
}


/*
 * The series of the module's zone: one per tagged server and location,
 * per tagged upstream and per peer of it (an upstream without endpoints
 * has one, the 503 socket), each about GW_SERIES_BYTES plus its key.
 * Locations of one route rule share a series; counting each is headroom.
 */
size_t
gw_render_zone_size(const gw_dp_t *dp)
{
    size_t                   i, j, k, need, peers;
    const gw_dp_listen_t    *l;
    const gw_dp_server_t    *s;
    const gw_dp_location_t  *loc;
    const gw_dp_upstream_t  *u;

    need = 0;

    for (i = 0; i < dp->listens.n; i++) {
        l = dp->listens.items[i];
        for (j = 0; j < l->servers.n; j++) {
            s = l->servers.items[j];
            need += GW_SERIES_BYTES + strlen(l->gateway)
                    + (s->hostname ? strlen(s->hostname) : 0)
                    + (s->tag.listener ? strlen(s->tag.listener) : 0);
            for (k = 0; k < s->locations.n; k++) {
                loc = s->locations.items[k];
                need += GW_SERIES_BYTES
                        + (loc->route ? strlen(loc->route) : 0) + 20;
            }
            for (k = 0; k < s->named.n; k++) {
                loc = s->named.items[k];
                need += GW_SERIES_BYTES + strlen(loc->route) + 20;
            }
        }
    }

    for (i = 0; i < dp->upstreams.n; i++) {
        u = dp->upstreams.items[i];
        peers = u->nservers > 0 ? u->nservers : 1;
        need += (1 + peers) * (GW_SERIES_BYTES + 2 * strlen(u->service))
                + peers * 64;
    }

    return gw_render_zone_round(need);
}


size_t
gw_render_zone_round(size_t need)
{
    size_t  size;

    /* twice what is needed, in steps that double: a new size is a new
     * zone (the counters restart), so it should rarely change */
    size = GW_ZONE_MIN;
    while (size < 2 * need) {
        size *= 2;
    }

    return size;
}


void
gw_render_split(gw_arena_t *a, gw_view_t *root, const gw_dp_split_t *s)
{
    size_t      i;
    long        bp;
    gw_view_t  *v, *sv;

    v = gw_view_add(root, "splits");
    gw_view_set(v, "var", s->var);
    gw_view_set(v, "key", s->key ? s->key : "request_id");

    /* basis points, the last share takes the remainder ("*") */
    for (i = 0; i < s->nshares; i++) {
        sv = gw_view_add(v, "shares");
        gw_view_set(sv, "upstream", s->shares[i].upstream);

        if (i == s->nshares - 1) {
            gw_view_set(sv, "percent", "*");
            break;
        }

        bp = (long) s->shares[i].weight * 10000 / s->total;
        gw_view_set(sv, "percent", gw_arena_printf(a, "%ld.%02ld%%",
                                                   bp / 100, bp % 100));
    }
}


/*
 * The request headers a location sends: ours (Host, Connection,
 * X-Forwarded-For, X-Forwarded-Proto), then the RequestHeaderModifier's,
 * which replace ours of the same name.  Each is an nginx expression
 * (expr, written raw: built here from validated parts) or a literal
 * (written quoted by the template).
 */
typedef struct {
    const char  *name;
    const char  *expr;
    const char  *literal;
} gw_render_header_t;

#define GW_RENDER_OWN_HEADERS  4

/* The gRPC status of a GRPCRoute rule without a usable backend. */
#define GW_GRPC_UNAVAILABLE  14

typedef struct {
    gw_render_header_t  *items;
    size_t               n;
} gw_render_headers_t;


static void
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
}


void
gw_render_request_headers(gw_arena_t *a, gw_view_t *v,
    const gw_dp_location_t *loc)
{
    size_t                     i;
    gw_view_t                 *hv;
    gw_render_headers_t        h;
    const char                *var;
    const gw_render_header_t  *e;
    const gw_dp_header_mod_t  *m;

    m = loc->request;

    h.n = 0;
    h.items = gw_arena_alloc(a, (GW_RENDER_OWN_HEADERS + 1
                                 + (m ? m->nset + m->nadd + m->nremove : 0))
                                * sizeof(gw_render_header_t));

    gw_render_header_put(&h, "Host", loc->host ? loc->host : "$http_host",
                         NULL);
    gw_render_header_put(&h, "Connection", NULL, "");
    if (gw_render_proxy_ws(loc)) {
        /* "upgrade" when the client asks, else none (keepalive) */
        gw_render_header_put(&h, "Connection", "$gw_connection_upgrade",
                             NULL);
        gw_render_header_put(&h, "Upgrade", "$http_upgrade", NULL);
    }
    gw_render_header_put(&h, "X-Forwarded-For", "$proxy_add_x_forwarded_for",
                         NULL);
    gw_render_header_put(&h, "X-Forwarded-Proto", "$scheme", NULL);

    for (i = 0; m != NULL && i < m->nset; i++) {
        gw_render_header_put(&h, m->set[i].name, NULL, m->set[i].value);
    }

    /*
     * add appends to what the client sent: "$gw_join_x_foo" is the
     * client's value and a comma, or nothing, and the value is set into
     * a variable first, quoted, so that nothing in it is nginx syntax
     */
    for (i = 0; m != NULL && i < m->nadd; i++) {
        hv = gw_view_add(v, "add_values");
        gw_view_setf(hv, "add_var", "gw_add_%zu", i);
        gw_view_set(hv, "add_value", m->add[i].value);

        var = gw_dp_header_var(a, m->add[i].name);
        gw_render_header_put(&h, m->add[i].name,
                             gw_arena_printf(a, "$gw_join_%s$gw_add_%zu",
                                             var, i),
                             NULL);
    }

    for (i = 0; m != NULL && i < m->nremove; i++) {
        gw_render_header_put(&h, m->remove[i], NULL, "");
    }

    for (i = 0; i < h.n; i++) {
        e = &h.items[i];
        hv = gw_view_add(v, "request_headers");
        gw_view_set(hv, "hdr_name", e->name);
        if (e->expr != NULL) {
            gw_view_set(hv, "hdr_expr", e->expr);
        } else {
            gw_view_set(hv, "hdr_literal", e->literal);
        }
    }
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
static void
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
        gw_view_set(v, "split", loc->split->var);
        if (loc->tls != NULL && gw_render_split_500(loc->split)) {
            gw_view_set(v, "split_500", GW_UPSTREAM_500);
        }

    } else {
        gw_view_set(v, "upstream", loc->upstream);
    }
}


/*
 * A location: the rule it serves, or a dispatcher, whose gateway_match
 * fields are written as quoted literals ({{%field}}: our module never
 * reads variables, '$' is a '$').
 */
static void
gw_render_location(gw_arena_t *a, gw_view_t *sv, const gw_dp_location_t *loc,
    int *port_var)
{
    size_t                    i, j;
    gw_view_t                *v, *cv;
    const gw_dp_candidate_t  *c;

    v = gw_view_add(sv, "locations");
    gw_view_set_flag(v, "exact", loc->exact);
    gw_view_set(v, "path", loc->path);

    if (loc->ncandidates == 0) {
        gw_render_rule(a, v, loc, port_var);
        return;
    }

    gw_view_set_flag(v, "dispatch", 1);

    for (i = 0; i < loc->ncandidates; i++) {
        c = loc->candidates[i];
        cv = gw_view_add(v, "candidates");
        gw_view_set(cv, "target", c->target);
        for (j = 0; j < c->nfields; j++) {
            gw_view_set(gw_view_add(cv, "fields"), "field", c->fields[j]);
        }
    }
}


/*
 * TLS on an HTTPS listen: the SNI map (several listeners: SNI's listener,
 * see dataplane/tls.c) and its variable, $gw_sni_<index>.
 */
static void
gw_render_sni(gw_view_t *v, const gw_dp_listen_t *l, size_t index)
{
    size_t              i;
    gw_view_t          *mv;
    const gw_dp_sni_t  *e;

    gw_view_set_flag(v, "ssl", 1);

    if (l->sni_default == NULL) {
        return;
    }

    mv = gw_view_add(v, "sni_map");
    gw_view_setf(mv, "sni_var", "gw_sni_%zu", index);
    gw_view_set(mv, "sni_default", l->sni_default);

    for (i = 0; i < l->sni.n; i++) {
        e = l->sni.items[i];
        mv = gw_view_add(v, "sni_names");
        gw_view_set(mv, "sni_hostname", e->hostname);
        gw_view_set(mv, "sni_listener", e->listener);
    }
}


/* The named location gateway_match sends a candidate's requests to. */
static void
gw_render_named(gw_arena_t *a, gw_view_t *sv, const gw_dp_location_t *loc,
    int *port_var)
{
    gw_view_t  *v;

    v = gw_view_add(sv, "named");
    gw_view_set(v, "path", loc->path);
    gw_view_set_int(v, "match", (long long) loc->match);

    gw_render_rule(a, v, loc, port_var);
}


/* A server's certificates, and the check of SNI's listener against its. */
static void
gw_render_server_tls(gw_view_t *sv, const gw_dp_listen_t *l,
    const gw_dp_server_t *s, size_t index, const gw_render_conf_t *conf)
{
    size_t               i;
    gw_view_t           *cv;
    const gw_dp_cert_t  *c;

    for (i = 0; i < s->certs.n; i++) {
        c = s->certs.items[i];
        cv = gw_view_add(sv, "certs");
        gw_view_set(cv, "cert_secret", c->secret);
        gw_view_setf(cv, "cert_path", "%s/" GW_DIR_SECRETS "/%s",
                     conf->state_dir, c->file);
    }

    if (s->verify != GW_VERIFY_NONE) {
        cv = gw_view_add(sv, "client_ca");
        gw_view_set(cv, "client_ca_what", s->client_ca->secret);
        gw_view_setf(cv, "client_ca_path", "%s/" GW_DIR_SECRETS "/%s",
                     conf->state_dir, s->client_ca->file);
        gw_view_set_flag(sv, "client_require",
                         s->verify == GW_VERIFY_REQUIRE);
    }

    if (l->sni_default != NULL) {
        cv = gw_view_add(sv, "sni_check");
        gw_view_setf(cv, "sni_var", "gw_sni_%zu", index);
        gw_view_set(cv, "sni_listener",
                    s->listener != NULL ? s->listener->spec->name : "");
    }
}


static void
gw_render_listen(gw_arena_t *a, gw_view_t *root, const gw_dp_listen_t *l,
    size_t index, const gw_render_conf_t *conf, int *port_var)
{
    size_t                 i, j;
    gw_view_t             *v, *sv;
    const gw_dp_server_t  *s;

    v = gw_view_add(root, "listens");
    gw_view_set(v, "gateway", l->gateway);

    if (l->front == NULL) {
        gw_view_set(v, "listen", gw_arena_printf(a, l->is_v6 ? "[%s]:%d"
                                                             : "%s:%d",
                                                 l->address, l->port));
        gw_view_set_flag(v, "http2", l->http2);

    } else {
        /* behind the port's front (dataplane/front.h): its sockets */
        gw_view_set(v, "listen",
                    gw_dp_front_sock(a, conf->state_dir, l->front,
                                     l->ssl ? GW_FRONT_HTTPS
                                            : GW_FRONT_HTTP));
        gw_view_set_flag(v, "http2", l->http2 && l->ssl);
        gw_view_set_flag(v, "proxy_protocol", 1);
        if (l->front->h2c && !l->ssl) {
            gw_view_set(v, "listen_h2c",
                        gw_dp_front_sock(a, conf->state_dir, l->front,
                                         GW_FRONT_H2C));
        }
    }

    if (l->ssl) {
        gw_render_sni(v, l, index);
        gw_view_set_flag(root, "ssl_used", 1);
    }

    /* a redirect's Location takes the listener's port (rule.tmpl) */
    gw_view_set_int(v, "listen_port", l->port);

    for (i = 0; i < l->servers.n; i++) {
        s = l->servers.items[i];
        sv = gw_view_add(v, "servers");
        gw_view_set_flag(sv, "catch_all", s->hostname == NULL);
        if (s->hostname != NULL) {
            gw_view_set(sv, "hostname", s->hostname);
        }
        gw_view_set_flag(sv, "has_root", s->has_root);

        if (l->ssl) {
            gw_render_server_tls(sv, l, s, index, conf);
        }

        if (s->tag.gateway != NULL && gw_render_tag_ok(s->tag.gateway)
            && gw_render_tag_ok(s->tag.listener)
            && (s->hostname == NULL || gw_render_tag_ok(s->hostname)))
        {
            gw_view_set(sv, "tag_gateway", s->tag.gateway);
            gw_view_set(sv, "tag_listener", s->tag.listener);
            if (s->hostname != NULL) {
                gw_view_set(sv, "tag_hostname", s->hostname);
            }
        }

        for (j = 0; j < s->locations.n; j++) {
            gw_render_location(a, sv, s->locations.items[j], port_var);
        }

        for (j = 0; j < s->named.n; j++) {
            gw_render_named(a, sv, s->named.items[j], port_var);
        }

        for (j = 0; j < s->mirrors.n; j++) {
            gw_render_mirror(a, sv, s->mirrors.items[j]);
        }
    }
}


int
gw_render_http(const gw_dp_t *dp, const gw_render_conf_t *conf,
    gw_buf_t *out, gw_err_t *err)
{
    int                      rc, port_var;
    size_t                   i, j;
    gw_arena_t               a;
    gw_view_t               *root, *v, *sv;
    const gw_dp_upstream_t  *u;

    gw_arena_init(&a);
    root = gw_view_new(&a);

    gw_view_setf(root, "temp_client_body", "%s/tmp/client_body",
                 conf->state_dir);
    gw_view_setf(root, "temp_proxy", "%s/tmp/proxy", conf->state_dir);
    gw_view_setf(root, "secrets_dir", "%s/" GW_DIR_SECRETS, conf->state_dir);
    gw_view_set(root, "system_ca", GW_SYSTEM_CA_BUNDLE);
    gw_view_setf(root, "temp_fastcgi", "%s/tmp/fastcgi", conf->state_dir);
    gw_view_setf(root, "temp_uwsgi", "%s/tmp/uwsgi", conf->state_dir);
    gw_view_setf(root, "temp_scgi", "%s/tmp/scgi", conf->state_dir);
    gw_view_setf(root, "status_socket", "%s/" GW_FILE_STATUS_SOCK,
                 conf->state_dir);
    gw_view_setf(root, "socket_500", "%s/run/internal-500.sock",
                 conf->state_dir);
    gw_view_setf(root, "socket_503", "%s/run/internal-503.sock",
                 conf->state_dir);
    gw_view_setf(root, "zone_size", "%zum", gw_render_zone_size(dp) >> 20);

    for (i = 0; i < dp->upstreams.n; i++) {
        u = dp->upstreams.items[i];
        v = gw_view_add(root, "upstreams");
        gw_view_set(v, "name", u->name);
        gw_view_set(v, "service", u->service);
        if (gw_render_tag_ok(u->service)) {
            gw_view_set(v, "backend_tag", u->service);
        }
        gw_render_proxy_upstream(v, u);
        for (j = 0; j < u->nservers; j++) {
            sv = gw_view_add(v, "servers");
            gw_view_set(sv, "address", u->servers[j]);
            gw_view_set_flag(sv, "no_max_fails", u->retry);
        }
    }

    gw_render_proxy_sessions(root, dp);
    gw_render_mirror_shares(&a, root, dp);

    for (i = 0; i < dp->splits.n; i++) {
        gw_render_split(&a, root, dp->splits.items[i]);
    }

    for (i = 0; i < dp->joins.n; i++) {
        gw_view_set(gw_view_add(root, "joins"), "join_var",
                    dp->joins.items[i]);
    }

    port_var = 0;

    for (i = 0; i < dp->listens.n; i++) {
        gw_render_listen(&a, root, dp->listens.items[i], i, conf,
                         &port_var);
    }

    gw_view_set_flag(root, "redirect_port", port_var);
    gw_view_set_flag(root, "ws_used", gw_render_proxy_ws_used(dp));

    rc = gw_tmpl_render("http", root, out, err);

    gw_arena_release(&a);

    return rc;
}


int
gw_render_main(const gw_render_conf_t *conf, const char *http_conf,
    const char *stream_conf, gw_buf_t *out, gw_err_t *err)
{
    int          rc;
    gw_arena_t   a;
    gw_view_t   *root;

    gw_arena_init(&a);
    root = gw_view_new(&a);

    gw_view_set(root, "module_path", conf->module_path);
    if (conf->worker_processes > 0) {
        gw_view_set_int(root, "worker_processes", conf->worker_processes);
    } else {
        gw_view_set(root, "worker_processes", "auto");
    }
    gw_view_setf(root, "pid_path", "%s/nginx.pid", conf->state_dir);
    gw_view_setf(root, "error_log", "%s/logs/error.log", conf->state_dir);
    gw_view_setf(root, "access_log", "%s/logs/access.log", conf->state_dir);
    gw_view_set_flag(root, "stdio_logs", conf->stdio_logs);
    gw_view_setf(root, "generation", "%llu",
                 (unsigned long long) conf->generation);
    gw_view_set(root, "http_conf", http_conf);

    if (stream_conf != NULL) {
        gw_view_set(root, "stream_conf", stream_conf);
        gw_view_set(root, "nginx_stream_module", GW_NGINX_STREAM_MODULE);
        gw_view_set(root, "stream_module_path", conf->stream_module_path);
    }

    rc = gw_tmpl_render("main", root, out, err);

    gw_arena_release(&a);

    return rc;
}
