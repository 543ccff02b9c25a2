/*
 * ngx-gateway unit tests: data plane and rendering (locations in the
 * spec's precedence, splits, rewrites, determinism, TLS termination).
 */

#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_test_util.h"


static void
gw_render_extra(const char *extra, gw_buf_t *out)
{
    gw_store_t  s;

    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, extra);
    gw_buf_init(out);
    gw_test_render(&s, out);
    gw_store_release(&s);
}


static void
test_prefix_is_segment_wise(void **state)
{
    gw_buf_t  out;

    (void) state;

    gw_render_extra(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  hostnames: [a.example.com]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /mario/}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n", &out);

    /* "/mario" and "/mario/...", never "/mariox" */
    assert_non_null(strstr(out.data, "location = /mario {"));
    assert_non_null(strstr(out.data, "location /mario/ {"));
    assert_null(strstr(out.data, "location /mario {"));
    assert_non_null(strstr(out.data, "server_name a.example.com;"));
    assert_non_null(strstr(out.data, "server 10.0.0.1:8080 max_fails=0;\n"
                                     "    server 10.0.0.2:8080 max_fails=0;"));
    assert_null(strstr(out.data, "10.0.0.3"));

    gw_buf_free(&out);
}


static void
test_exact_beats_older_prefix(void **state)
{
    char      *p;
    gw_buf_t   out;

    (void) state;

    gw_render_extra(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: old, namespace: app,"
        " creationTimestamp: '2020-01-01T00:00:00Z'}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /a}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: young, namespace: app,"
        " creationTimestamp: '2024-01-01T00:00:00Z'}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: Exact, value: /a}}]\n", &out);

    p = strstr(out.data, "location = /a {");
    assert_non_null(p);
    /* the younger route's exact match (no backends: 500) wins */
    assert_non_null(strstr(p, "HTTPRoute app/old rule 0\n    location /a/"));
    assert_true(strstr(out.data, "# HTTPRoute app/young rule 0\n"
                                 "    location = /a {\n"
                                 "        gateway_route_tag route=app/young "
                                 "rule=0;\n"
                                 "        return 500;") != NULL);

    gw_buf_free(&out);
}


static void
test_weighted_split(void **state)
{
    gw_buf_t  out;

    (void) state;

    gw_render_extra(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - backendRefs:\n"
        "    - {name: svc, port: 80, weight: 2}\n"
        "    - {name: missing, port: 80, weight: 1}\n"
        "    - {name: svc, port: 80, weight: 0}\n", &out);

    assert_non_null(strstr(out.data, "split_clients $request_id "
                                     "$gw_split_0 {\n"
                                     "    66.66% app_svc_80;\n"
                                     "    * gw_internal_500;\n}"));
    assert_non_null(strstr(out.data, "proxy_pass http://$gw_split_0;"));

    gw_buf_free(&out);
}


static void
test_rewrite_prefix(void **state)
{
    gw_buf_t  out;

    (void) state;

    gw_render_extra(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /v1.x}}]\n"
        "    filters:\n"
        "    - type: URLRewrite\n"
        "      urlRewrite:\n"
        "        hostname: backend.internal\n"
        "        path: {type: ReplacePrefixMatch, replacePrefixMatch: /v2/}\n"
        "    backendRefs: [{name: svc, port: 80}]\n", &out);

    assert_non_null(strstr(out.data,
                           "rewrite ^/v1\\.x(/.*)?$ /v2$1 break;"));
    assert_non_null(strstr(out.data,
                           "proxy_set_header Host backend.internal;"));

    gw_buf_free(&out);
}


static void
test_no_endpoints_503_and_deterministic(void **state)
{
    gw_buf_t  a, b;
    static const char  route[] =
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata: {name: empty, namespace: app}\n"
        "spec: {ports: [{port: 80}]}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules: [{backendRefs: [{name: empty, port: 80}]}]\n";

    (void) state;

    gw_render_extra(route, &a);
    gw_render_extra(route, &b);

    assert_non_null(strstr(a.data, "upstream app_empty_80 {\n"
                                   "    gateway_backend_tag "
                                   "backend=app/empty:80;\n"
                                   "    server unix:/var/lib/ngx-gateway/"
                                   "run/internal-503.sock;"));
    assert_string_equal(a.data, b.data);

    gw_buf_free(&a);
    gw_buf_free(&b);
}


/*
 * A server takes the most specific listener for its hostname; the
 * catch-all the listener without hostname; routes and upstreams are
 * tagged with their Gateway API names.
 */
static void
test_tags_name_the_listener_route_and_backend(void **state)
{
    gw_buf_t  out;

    (void) state;

    gw_render_extra(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: multi, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - {name: wild, port: 8080, protocol: HTTP,"
        " hostname: '*.example.com',"
        " allowedRoutes: {namespaces: {from: All}}}\n"
        "  - {name: any, port: 8080, protocol: HTTP,"
        " allowedRoutes: {namespaces: {from: All}}}\n"
        "  - {name: exact, port: 8080, protocol: HTTP,"
        " hostname: a.example.com,"
        " allowedRoutes: {namespaces: {from: All}}}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: multi, namespace: infra}]\n"
        "  hostnames: [a.example.com, b.example.com, c.other.org]\n"
        "  rules:\n"
        "  - matches: [{path: {type: Exact, value: /x}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n", &out);

    assert_non_null(strstr(out.data,
        "    listen 127.0.0.1:8080 default_server;\n"
        "    server_name \"\";\n"
        "    gateway_server_tag gateway=infra/multi listener=any;\n"));
    assert_non_null(strstr(out.data,
        "    server_name a.example.com;\n"
        "    gateway_server_tag gateway=infra/multi listener=exact "
        "hostname=a.example.com;\n"));
    assert_non_null(strstr(out.data,
        "    server_name b.example.com;\n"
        "    gateway_server_tag gateway=infra/multi listener=wild "
        "hostname=b.example.com;\n"));
    assert_non_null(strstr(out.data,
        "    server_name c.other.org;\n"
        "    gateway_server_tag gateway=infra/multi listener=any "
        "hostname=c.other.org;\n"));

    /* the Gateway of the base, on port 80, has its own catch-all */
    assert_non_null(strstr(out.data,
        "    gateway_server_tag gateway=infra/gw listener=http;\n"));

    assert_non_null(strstr(out.data,
        "    location = /x {\n"
        "        gateway_route_tag route=app/r rule=0;\n"));
    assert_non_null(strstr(out.data,
        "upstream app_svc_80 {\n"
        "    gateway_backend_tag backend=app/svc:80;\n"
        "    server 10.0.0.1:8080 max_fails=0;\n"));
    assert_non_null(strstr(out.data, "\ngateway_status_zone 1m;\n"));

    /* the internal upstream is not counted */
    assert_non_null(strstr(out.data, "upstream gw_internal_500 {\n"
                                     "    server unix:"));

    gw_buf_free(&out);
}


/* The zone grows in doubling steps with the number of series. */
static void
test_zone_size_follows_the_series(void **state)
{
    size_t             i, small, big;
    gw_dp_t            dp;
    gw_dp_upstream_t   u, *up;
    const char       **servers;

    (void) state;

    memset(&dp, 0, sizeof(dp));
    assert_int_equal(gw_render_zone_size(&dp), 1024 * 1024);

    memset(&u, 0, sizeof(u));
    u.name = "app_svc_80";
    u.service = "app/svc:80";
    up = &u;
    dp.upstreams.items = (void **) &up;
    dp.upstreams.n = 1;

    u.nservers = 10;
    servers = calloc(20000, sizeof(char *));
    assert_non_null(servers);
    for (i = 0; i < 20000; i++) {
        servers[i] = "10.0.0.1:8080";
    }
    u.servers = servers;

    small = gw_render_zone_size(&dp);
    assert_int_equal(small, 1024 * 1024);

    /* 20,000 peers of 256+ bytes, twice: 16m is the power of two */
    u.nservers = 20000;
    big = gw_render_zone_size(&dp);
    assert_true(big >= 2 * 20000 * 256);
    assert_int_equal(big & (big - 1), 0);
    assert_int_equal(big, 16 * 1024 * 1024);

    free(servers);
}


/* The condition of route "r" (first parent) for the filters in rule. */
static const gw_cond_t *
gw_filters_cond(gw_arena_t *a, gw_store_t *st, const char *rule,
    const char *type)
{
    char  doc[8192];

    snprintf(doc, sizeof(doc),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: r, namespace: app}\n"
             "spec:\n"
             "  parentRefs: [{name: gw, namespace: infra}]\n"
             "  rules:\n"
             "%s", rule);

    gw_store_init(st);
    gw_test_load(st, gw_test_base);
    gw_test_load(st, doc);

    return gw_test_route_cond(gw_test_graph(a, st), "r", type);
}


static void
test_filters_refused_with_a_reason(void **state)
{
    size_t            i;
    gw_arena_t        a;
    gw_store_t        st;
    const gw_cond_t  *c;
    static const struct {
        const char  *rule;
        const char  *reason;
        const char  *message;
    } cases[] = {
        { "  - filters:\n"
          "    - {type: RequestRedirect, requestRedirect: {port: 81}}\n"
          "    backendRefs: [{name: svc, port: 80}]\n",
          "IncompatibleFilters", "must not be used together with "
          "backendRefs" },
        { "  - filters:\n"
          "    - {type: RequestRedirect, requestRedirect: {port: 81}}\n"
          "    - {type: URLRewrite, urlRewrite: {hostname: a.b}}\n",
          "IncompatibleFilters", "RequestRedirect and URLRewrite" },
        { "  - filters:\n"
          "    - {type: RequestHeaderModifier,"
          " requestHeaderModifier: {remove: [a]}}\n"
          "    - {type: RequestHeaderModifier,"
          " requestHeaderModifier: {remove: [b]}}\n"
          "    backendRefs: [{name: svc, port: 80}]\n",
          "IncompatibleFilters", "cannot be repeated" },
        { "  - filters:\n"
          "    - {type: RequestHeaderModifier,"
          " requestHeaderModifier: {set: [{name: X_Y, value: v}]}}\n"
          "    backendRefs: [{name: svc, port: 80}]\n",
          "UnsupportedValue", "has '_'" },
        { "  - filters:\n"
          "    - {type: ResponseHeaderModifier,"
          " responseHeaderModifier: {add: [{name: X, value: \"a\\nb\"}]}}\n"
          "    backendRefs: [{name: svc, port: 80}]\n",
          "UnsupportedValue", "control character" },
        { "  - filters:\n"
          "    - {type: RequestHeaderModifier, requestHeaderModifier:"
          " {set: [{name: X, value: a}], remove: [x]}}\n"
          "    backendRefs: [{name: svc, port: 80}]\n",
          "UnsupportedValue", "more than one of set, add and remove" },
        { "  - filters:\n"
          "    - {type: RequestRedirect, requestRedirect: {statusCode: 304}}\n",
          "UnsupportedValue", "statusCode must be" },
        { "  - matches: [{path: {type: Exact, value: /a}}]\n"
          "    filters:\n"
          "    - type: RequestRedirect\n"
          "      requestRedirect:\n"
          "        path: {type: ReplacePrefixMatch,"
          " replacePrefixMatch: /b}\n",
          "UnsupportedValue", "PathPrefix" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_arena_init(&a);
        c = gw_filters_cond(&a, &st, cases[i].rule, "Accepted");
        assert_non_null(c);
        if (strcmp(c->status, "False") != 0
            || strcmp(c->reason, cases[i].reason) != 0
            || strstr(c->message, cases[i].message) == NULL)
        {
            fail_msg("case %zu: Accepted %s/%s \"%s\", want False/%s "
                     "with \"%s\"", i, c->status, c->reason, c->message,
                     cases[i].reason, cases[i].message);
        }
        gw_arena_release(&a);
        gw_store_release(&st);
    }
}


/*
 * The body of the first location whose opening line is open ("location
 * /a/ {"), up to its closing brace, or fails.  Freed by the caller.
 */
static char *
gw_location_block(const char *conf, const char *host, const char *open)
{
    const char  *p, *end;

    p = strstr(conf, host);
    if (p == NULL) {
        fail_msg("no \"%s\" in:\n%s", host, conf);
    }

    p = strstr(p, open);
    if (p == NULL) {
        fail_msg("no \"%s\" after \"%s\" in:\n%s", open, host, conf);
    }

    end = strstr(p, "\n    }\n");
    assert_non_null(end);

    return strndup(p, (size_t) (end - p));
}


/* The lines of block in that order, and nothing else of the kind. */
static void
gw_assert_lines(const char *block, const char *kind, const char **lines)
{
    size_t       i, n;
    const char  *p, *q;

    p = block;
    for (i = 0; lines[i] != NULL; i++) {
        q = strstr(p, lines[i]);
        if (q == NULL) {
            fail_msg("no \"%s\" (in this order) in:\n%s", lines[i], block);
        }
        p = q + strlen(lines[i]);
    }

    n = 0;
    for (p = strstr(block, kind); p != NULL; p = strstr(p + 1, kind)) {
        n++;
    }

    if (n != i) {
        fail_msg("%zu \"%s\" lines, want %zu, in:\n%s", n, kind, i, block);
    }
}


#define GW_ROUTE(name, created, hosts, rules)                                 \
    "apiVersion: gateway.networking.k8s.io/v1\n"                              \
    "kind: HTTPRoute\n"                                                       \
    "metadata: {name: " name ", namespace: app,"                              \
    " creationTimestamp: '" created "'}\n"                                    \
    "spec:\n"                                                                 \
    "  parentRefs: [{name: gw, namespace: infra}]\n"                          \
    "  hostnames: " hosts "\n"                                                \
    "  rules:\n" rules


/*
 * Method, then the most headers, then the most query parameters, then the
 * oldest route, then rule order; the list ends at the first candidate
 * without conditions.
 */
static void
test_match_candidates_in_precedence_order(void **state)
{
    char      *block;
    gw_buf_t   out;
    static const char  *want[] = {
        "gateway_match @app/young:0:0 \"method=GET\";",
        "gateway_match @app/old:1:0 \"header:A=1\" \"header:B=2\";",
        "gateway_match @app/old:0:0 \"header:A=1\" \"query:q=1\";",
        "gateway_match @app/old:2:0 \"header:A=1\";",
        "gateway_match @app/young:1:0 \"header:A=1\";",
        "gateway_match @app/old:3:0;",
        NULL
    };

    (void) state;

    gw_render_extra(
        GW_ROUTE("young", "2024-01-01T00:00:00Z", "[a.example.com]",
        "  - matches: [{path: {type: PathPrefix, value: /api}, method: GET}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /api}\n"
        "      headers: [{name: A, value: '1'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n")
        "---\n"
        GW_ROUTE("old", "2020-01-01T00:00:00Z", "[a.example.com]",
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /api}\n"
        "      headers: [{name: A, value: '1'}]\n"
        "      queryParams: [{name: q, value: '1'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /api}\n"
        "      headers: [{name: A, value: '1'}, {name: B, value: '2'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /api}\n"
        "      headers: [{name: A, value: '1'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /api}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /api}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"), &out);

    block = gw_location_block(out.data, "server_name a.example.com;",
                              "location /api/ {");
    gw_assert_lines(block, "gateway_match", want);
    assert_null(strstr(block, "proxy_pass"));
    free(block);

    /* the same list where the path is exactly the prefix */
    block = gw_location_block(out.data, "server_name a.example.com;",
                              "location = /api {");
    gw_assert_lines(block, "gateway_match", want);
    free(block);

    /* each candidate's rule, once, in a named location */
    assert_non_null(strstr(out.data, "location @app/old:1:0 {\n"
                                     "        gateway_route_tag "
                                     "route=app/old rule=1;"));
    assert_null(strstr(out.data, "location @app/old:4:0 {"));
    assert_null(strstr(strstr(out.data, "location @app/old:3:0 {") + 1,
                       "location @app/old:3:0 {"));

    gw_buf_free(&out);
}


/* Where no candidate has conditions, locations are written as always. */
static void
test_location_without_conditions_stays_direct(void **state)
{
    char      *block;
    gw_buf_t   out;

    (void) state;

    gw_render_extra(
        GW_ROUTE("r", "2024-01-01T00:00:00Z", "[a.example.com]",
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /a}\n"
        "      headers: [{name: X, value: '1'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{path: {type: Exact, value: /b}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"), &out);

    block = gw_location_block(out.data, "server_name a.example.com;",
                              "location = /b {");
    assert_non_null(strstr(out.data, "# HTTPRoute app/r rule 1\n"
                                     "    location = /b {"));
    assert_non_null(strstr(block, "proxy_pass http://app_svc_80;"));
    assert_null(strstr(block, "gateway_match"));
    free(block);

    block = gw_location_block(out.data, "server_name a.example.com;",
                              "location /a/ {");
    assert_non_null(strstr(block, "gateway_match @app/r:0:0 \"header:X=1\";"));
    free(block);

    /* no match anywhere else: the server still answers 404 */
    assert_non_null(strstr(strstr(out.data, "server_name a.example.com;"),
                           "    location / {\n        return 404;"));
    assert_null(strstr(out.data, "location @app/r:1:0"));

    gw_buf_free(&out);
}


/*
 * A request on a host that none of its own routes' candidates matches
 * falls through to the wildcard's, then to the routes for every host, in
 * the same list; a shorter path of the host's own routes comes before a
 * longer one of a wildcard route (hostname first).
 */
static void
test_hostname_tiers_in_candidate_lists(void **state)
{
    char      *block;
    gw_buf_t   out;
    static const char  *want[] = {
        "gateway_match @app/own:0:0 \"header:X=1\";",
        "gateway_match @app/own:1:0 \"query:q=1\";",
        "gateway_match @app/wild:0:0 \"header:X=2\";",
        "gateway_match @app/all:0:0;",
        NULL
    };

    (void) state;

    gw_render_extra(
        GW_ROUTE("all", "2019-01-01T00:00:00Z", "[]",
        "  - matches: [{path: {type: PathPrefix, value: /x}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n")
        "---\n"
        GW_ROUTE("wild", "2019-01-01T00:00:00Z", "['*.example.com']",
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /x/y}\n"
        "      headers: [{name: X, value: '2'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n")
        "---\n"
        GW_ROUTE("own", "2024-01-01T00:00:00Z", "[a.example.com]",
        "  - matches:\n"
        "    - path: {type: PathPrefix, value: /x}\n"
        "      headers: [{name: X, value: '1'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches:\n"
        "    - queryParams: [{name: q, value: '1'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"), &out);

    block = gw_location_block(out.data, "server_name a.example.com;",
                              "location /x/y/ {");
    gw_assert_lines(block, "gateway_match", want);
    free(block);

    /* another host of the wildcard: no own routes */
    block = gw_location_block(out.data, "server_name *.example.com;",
                              "location /x/y/ {");
    gw_assert_lines(block, "gateway_match", want + 2);
    free(block);

    /* the catch-all server knows only the routes for every host */
    block = gw_location_block(out.data, "server_name \"\";",
                              "location /x/ {");
    assert_non_null(strstr(block, "proxy_pass http://app_svc_80;"));
    assert_null(strstr(block, "gateway_match"));
    free(block);

    gw_buf_free(&out);
}


/*
 * A RegularExpression path is a field (path~) of a candidate in every
 * location, after Exact and before PathPrefix; "location /" exists so that
 * every request meets it.  Fields are quoted literals: '$' stays '$'.
 */
static void
test_regex_path_and_field_quoting(void **state)
{
    char      *block;
    gw_buf_t   out;
    static const char  *want_exact[] = {
        "gateway_match @app/r:2:0 \"header:X=1\";",
        "gateway_match @app/r:0:0 \"path~/v[0-9]+/.*\";",
        "gateway_match @app/r:1:0;",
        NULL
    };
    static const char  *want_root[] = {
        "gateway_match @app/r:0:0 \"path~/v[0-9]+/.*\";",
        "gateway_match @app/r:3:0 \"method=PATCH\" "
        "\"header~Z-Re=\\\\d+ \\\"$x\\\"; {#}\" \"query:Q=1\" \"query:q=2\";",
        NULL
    };

    (void) state;

    gw_render_extra(
        GW_ROUTE("r", "2024-01-01T00:00:00Z", "[a.example.com]",
        "  - matches: [{path: {type: RegularExpression,"
        " value: '/v[0-9]+/.*'}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /a}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches:\n"
        "    - path: {type: Exact, value: /a}\n"
        "      headers: [{name: X, value: '1'}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches:\n"
        "    - method: PATCH\n"
        "      headers:\n"
        "      - {type: RegularExpression, name: Z-Re,"
        " value: '\\d+ \"$x\"; {#}'}\n"
        "      - {name: z-re, value: second-is-ignored}\n"
        "      queryParams:\n"
        "      - {name: Q, value: '1'}\n"
        "      - {name: q, value: '2'}\n"
        "      - {name: Q, value: second-is-ignored}\n"
        "    backendRefs: [{name: svc, port: 80}]\n"), &out);

    block = gw_location_block(out.data, "server_name a.example.com;",
                              "location = /a {");
    gw_assert_lines(block, "gateway_match", want_exact);
    free(block);

    block = gw_location_block(out.data, "server_name a.example.com;",
                              "location / {");
    gw_assert_lines(block, "gateway_match", want_root);
    free(block);

    assert_null(strstr(out.data, "second-is-ignored"));

    gw_buf_free(&out);
}


static void
test_matches_refused_with_a_reason(void **state)
{
    size_t            i;
    char              rule[8192], big[4200];
    gw_arena_t        a;
    gw_store_t        st;
    const gw_cond_t  *c;
    const struct {
        const char  *match;
        const char  *message;
    } cases[] = {
        { "{headers: [{name: 'X Y', value: a}]}",
          "header match X Y: \"X Y\" is not a valid name (RFC 7230 token): "
          "it has ' '" },
        { "{headers: [{name: X_Y, value: a}]}",
          "header name \"X_Y\" has '_': nginx ignores" },
        { "{headers: [{name: X, value: \"a\\tb\"}]}",
          "header match X: the value has a control character (0x09)" },
        { "{headers: [{type: Prefix, name: X, value: a}]}",
          "header match X: type Prefix is not supported" },
        { "{headers: [{type: RegularExpression, name: X, value: '[a'}]}",
          "header match X: invalid regular expression \"[a\": missing "
          "terminating ] for character class" },
        { "{queryParams: [{name: 'a=b', value: c}]}",
          "query parameter match a=b: \"a=b\" is not a valid name" },
        { "{queryParams: [{type: RegularExpression, name: p,"
          " value: 'x{2,1}'}]}",
          "query parameter match p: invalid regular expression" },
        { "{method: get}",
          "method get is not supported (GET, HEAD" },
        { "{path: {type: RegularExpression, value: '(/a'}}",
          "RegularExpression path: invalid regular expression \"(/a\"" },
        { "{path: {type: RegularExpression, value: \"/a\\nb\"}}",
          "RegularExpression path: the value has a control character" },
        { big, "the value is too long for nginx's configuration" },
    };

    (void) state;

    memcpy(big, "{headers: [{name: X, value: '", 29);
    memset(big + 29, 'v', 4100);
    strcpy(big + 29 + 4100, "'}]}");

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(rule, sizeof(rule),
                 "  - matches: [%s]\n"
                 "    backendRefs: [{name: svc, port: 80}]\n"
                 "  - backendRefs: [{name: svc, port: 80}]\n",
                 cases[i].match);

        gw_arena_init(&a);
        c = gw_filters_cond(&a, &st, rule, "PartiallyInvalid");
        if (c == NULL || strcmp(c->status, "True") != 0
            || strcmp(c->reason, "UnsupportedValue") != 0
            || strstr(c->message, "rule 0: ") == NULL
            || strstr(c->message, cases[i].message) == NULL)
        {
            fail_msg("case %zu: PartiallyInvalid %s/%s \"%s\", want "
                     "True/UnsupportedValue with \"%s\"", i,
                     c ? c->status : "-", c ? c->reason : "-",
                     c ? c->message : "(none)", cases[i].message);
        }
        gw_arena_release(&a);
        gw_store_release(&st);
    }

    /* with several matches, the message names the one refused */
    gw_arena_init(&a);
    c = gw_filters_cond(&a, &st,
                        "  - matches: [{method: GET}, {method: FETCH}]\n"
                        "    backendRefs: [{name: svc, port: 80}]\n",
                        "Accepted");
    assert_non_null(c);
    assert_string_equal(c->status, "False");
    assert_string_equal(c->reason, "UnsupportedValue");
    assert_non_null(strstr(c->message, "rule 0: match 1: method FETCH"));
    gw_arena_release(&a);
    gw_store_release(&st);
}


/* TLS termination */

/*
 * A kubernetes.io/tls Secret infra/name: a new P-256 key and a self-signed
 * certificate, its PEM without the final line break when chopped; *crt
 * and *key get the PEM texts.
 */
static const char *
gw_tls_secret(gw_arena_t *a, const char *name, int chopped,
    const char **crt, const char **key)
{
    BIO         *b;
    char        *data;
    long         len;
    X509        *x;
    EVP_PKEY    *pkey;
    const char  *crt64, *key64;

    pkey = EVP_EC_gen("P-256");
    x = X509_new();
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -86400);
    X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
    X509_set_pubkey(x, pkey);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                               (const unsigned char *) name, -1, -1, 0);
    X509_set_issuer_name(x, X509_get_subject_name(x));
    assert_true(X509_sign(x, pkey, EVP_sha256()) > 0);

    b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, x);
    len = BIO_get_mem_data(b, &data);
    if (chopped) {
        len--;
    }
    *crt = gw_arena_strndup(a, data, (size_t) len);
    crt64 = gw_arena_alloc(a, (size_t) (len + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *) crt64, (unsigned char *) data,
                    (int) len);
    BIO_free(b);

    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, pkey, NULL, NULL, 0, NULL, NULL);
    len = BIO_get_mem_data(b, &data);
    *key = gw_arena_strndup(a, data, (size_t) len);
    key64 = gw_arena_alloc(a, (size_t) (len + 2) / 3 * 4 + 1);
    EVP_EncodeBlock((unsigned char *) key64, (unsigned char *) data,
                    (int) len);
    BIO_free(b);

    X509_free(x);
    EVP_PKEY_free(pkey);

    return gw_arena_printf(a,
        "---\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata: {name: %s, namespace: infra}\n"
        "type: kubernetes.io/tls\n"
        "data: {tls.crt: %s, tls.key: %s}\n", name, crt64, key64);
}


static gw_dp_server_t *
gw_dp_find_server(const gw_dp_listen_t *l, const char *hostname)
{
    size_t           i;
    gw_dp_server_t  *s;

    for (i = 0; i < l->servers.n; i++) {
        s = l->servers.items[i];
        if (gw_streq(s->hostname, hostname)) {
            return s;
        }
    }

    fail_msg("no server %s", hostname ? hostname : "(catch-all)");

    return NULL;
}


static const char *
gw_cert_secret(const gw_dp_server_t *s, size_t i)
{
    assert_true(i < s->certs.n);

    return ((gw_dp_cert_t *) s->certs.items[i])->secret;
}


#define GW_HTTPS_GATEWAY(name, port, listeners)                              \
    "---\n"                                                                 \
    "apiVersion: gateway.networking.k8s.io/v1\n"                            \
    "kind: Gateway\n"                                                       \
    "metadata: {name: " name ", namespace: infra}\n"                        \
    "spec:\n"                                                               \
    "  gatewayClassName: gc\n"                                              \
    "  addresses: [{type: IPAddress, value: 127.0.0." port "}]\n"           \
    "  listeners:\n"                                                        \
    listeners


static void
test_https_servers_take_their_listeners_certificates(void **state)
{
    size_t                i;
    gw_dp_t              *dp;
    gw_buf_t              out;
    gw_arena_t            a;
    gw_store_t            s;
    gw_graph_t           *g;
    const char           *yaml, *crt, *key, *crt2, *key2, *x, *y;
    gw_dp_sni_t          *e;
    gw_dp_cert_t         *c;
    gw_dp_listen_t       *l;
    gw_dp_server_t       *sv;

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, "%s%s%s%s%s%s",
        gw_test_base,
        GW_HTTPS_GATEWAY("tls", "2",
        "  - {name: any, port: 443, protocol: HTTPS,"
        " tls: {certificateRefs: [{name: dflt}]}}\n"
        "  - {name: a, port: 443, protocol: HTTPS, hostname: a.example.com,"
        " tls: {certificateRefs: [{name: a-cert}]}}\n"
        "  - {name: wild, port: 443, protocol: HTTPS,"
        " hostname: '*.b.example.com',"
        " tls: {certificateRefs: [{name: w1}, {name: w2}, {name: w1}]}}\n"
        "  - {name: alone, port: 8443, protocol: HTTPS,"
        " hostname: z.example.com,"
        " tls: {certificateRefs: [{name: a-cert}]}}\n")
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: tls, sectionName: wild}]\n"
        "  hostnames: [x.b.example.com]\n"
        "  rules: [{backendRefs: [{name: svc, namespace: app,"
        " port: 80}]}]\n",
        gw_tls_secret(&a, "dflt", 0, &x, &y),
        gw_tls_secret(&a, "a-cert", 1, &crt, &key),
        gw_tls_secret(&a, "w1", 0, &crt2, &key2),
        gw_tls_secret(&a, "w2", 0, &x, &y));

    gw_store_init(&s);
    gw_test_load(&s, yaml);
    g = gw_test_graph(&a, &s);
    dp = gw_dataplane_build(&a, g, 0);

    /* 127.0.0.1:80 (HTTP), 127.0.0.2:443 and :8443 */
    assert_int_equal(dp->listens.n, 3);
    l = dp->listens.items[0];
    assert_false(l->ssl);
    assert_int_equal(l->sni.n, 0);
    assert_null(l->sni_default);

    l = dp->listens.items[1];
    assert_int_equal(l->port, 443);
    assert_true(l->ssl);

    /* a server per listener hostname (SNI), with or without routes */
    assert_int_equal(l->servers.n, 4);
    sv = gw_dp_find_server(l, NULL);
    assert_int_equal(sv->certs.n, 1);
    assert_string_equal(gw_cert_secret(sv, 0), "infra/dflt");
    sv = gw_dp_find_server(l, "a.example.com");
    assert_int_equal(sv->certs.n, 1);
    assert_string_equal(gw_cert_secret(sv, 0), "infra/a-cert");
    assert_false(sv->has_root);

    /* every certificateRef, each Secret once */
    sv = gw_dp_find_server(l, "*.b.example.com");
    assert_int_equal(sv->certs.n, 2);
    assert_string_equal(gw_cert_secret(sv, 0), "infra/w1");
    assert_string_equal(gw_cert_secret(sv, 1), "infra/w2");
    sv = gw_dp_find_server(l, "x.b.example.com");
    assert_int_equal(sv->certs.n, 2);
    assert_true(sv->has_root);

    /* SNI's listener: by hostname, else the catch-all's */
    assert_int_equal(l->sni.n, 2);
    e = l->sni.items[0];
    assert_string_equal(e->hostname, "*.b.example.com");
    assert_string_equal(e->listener, "wild");
    e = l->sni.items[1];
    assert_string_equal(e->hostname, "a.example.com");
    assert_string_equal(e->listener, "a");
    assert_string_equal(l->sni_default, "any");

    /* alone on its port: the catch-all has its certificate, no SNI map */
    l = dp->listens.items[2];
    assert_int_equal(l->port, 8443);
    assert_null(l->sni_default);
    sv = gw_dp_find_server(l, NULL);
    assert_string_equal(gw_cert_secret(sv, 0), "infra/a-cert");
    assert_string_equal(sv->tag.listener, "alone");

    /* one file per Secret content, sorted; chain, line break, key */
    assert_int_equal(dp->certs.n, 4);
    for (i = 0; i < dp->certs.n; i++) {
        c = dp->certs.items[i];
        assert_int_equal(strlen(c->file), 32 + 4);
        assert_non_null(strstr(c->file, ".pem"));
        if (i > 0) {
            assert_true(strcmp(((gw_dp_cert_t *) dp->certs.items[i - 1])
                               ->file, c->file) < 0);
        }
        if (strcmp(c->secret, "infra/a-cert") == 0) {
            assert_string_equal(c->pem,
                                gw_arena_printf(&a, "%s\n%s", crt, key));
        }
        if (strcmp(c->secret, "infra/w1") == 0) {
            assert_string_equal(c->pem,
                                gw_arena_printf(&a, "%s%s", crt2, key2));
        }
    }

    /* rendered: ssl listen, both certificates, the 421 check */
    gw_buf_init(&out);
    gw_test_render(&s, &out);
    assert_non_null(strstr(out.data, "listen 127.0.0.2:443 ssl "
                                     "default_server;"));
    assert_non_null(strstr(out.data, "map $ssl_server_name $gw_sni_1 {\n"
                                     "    hostnames;\n"
                                     "    default \"any\";\n"
                                     "    *.b.example.com \"wild\";\n"
                                     "    a.example.com \"a\";\n"));
    assert_non_null(strstr(out.data, "    if ($gw_sni_1 != \"wild\") {\n"
                                     "        return 421;\n"));
    assert_non_null(strstr(out.data, "listen 127.0.0.2:8443 ssl "
                                     "default_server;"));
    assert_null(strstr(out.data, "$gw_sni_2"));
    assert_non_null(strstr(out.data, "ssl_certificate_key "
                                     "\"/var/lib/ngx-gateway/secrets/"));
    assert_non_null(strstr(out.data, "listen 127.0.0.1:80 default_server;"));
    assert_null(strstr(out.data, "BEGIN"));
    gw_buf_free(&out);

    gw_arena_release(&a);
    gw_store_release(&s);
}


/* Without a listener that has no hostname, the catch-all takes the first. */
static void
test_https_catch_all_takes_the_first_listener(void **state)
{
    gw_dp_t         *dp;
    gw_arena_t       a;
    gw_store_t       s;
    const char      *yaml, *x, *y;
    gw_dp_listen_t  *l;
    gw_dp_server_t  *sv;

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, "%s%s%s%s",
        gw_test_base,
        GW_HTTPS_GATEWAY("tls", "2",
        "  - {name: b, port: 443, protocol: HTTPS, hostname: b.example.com,"
        " tls: {certificateRefs: [{name: b}]}}\n"
        "  - {name: a, port: 443, protocol: HTTPS, hostname: a.example.com,"
        " tls: {certificateRefs: [{name: a}]}}\n"),
        gw_tls_secret(&a, "a", 0, &x, &y),
        gw_tls_secret(&a, "b", 0, &x, &y));

    gw_store_init(&s);
    gw_test_load(&s, yaml);
    dp = gw_dataplane_build(&a, gw_test_graph(&a, &s), 0);

    l = dp->listens.items[1];
    sv = gw_dp_find_server(l, NULL);
    assert_string_equal(gw_cert_secret(sv, 0), "infra/b");
    assert_string_equal(l->sni_default, "b");

    gw_arena_release(&a);
    gw_store_release(&s);
}


/* The server block of out whose server_name line is name (NUL-ended copy). */
static char *
gw_server_block(const char *out, const char *name)
{
    char        line[256];
    const char  *at, *start, *end;

    snprintf(line, sizeof(line), "server_name %s;", name);
    at = strstr(out, line);
    if (at == NULL) {
        return NULL;
    }

    for (start = at; start > out && strncmp(start, "server {", 8) != 0;
         start--)
    {
        /* void */
    }

    end = strstr(at, "\nserver {");
    if (end == NULL) {
        end = out + strlen(out);
    }

    return strndup(start, (size_t) (end - start));
}


static void
test_listeners_isolate_their_routes(void **state)
{
    char      *b;
    gw_buf_t   out;
    size_t     i;
    static const char  *servers[][3] = {
        /* server_name, its listener's route, a route it must not serve */
        { "\"\"", "/empty", "/wild" },
        { "*.example.com", "/wild", "/empty" },
        { "*.foo.example.com", "/wildfoo", "/wild/" },
        { "abc.foo.example.com", "/abc", "/wildfoo" },
    };

    (void) state;

    /* GatewayHTTPListenerIsolation: a request is served by the routes of
     * the most specific listener matching its host only */
    gw_render_extra(
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: iso, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  addresses: [{type: IPAddress, value: 10.9.9.9}]\n"
        "  listeners:\n"
        "  - {name: empty, port: 80, protocol: HTTP}\n"
        "  - {name: wild, port: 80, protocol: HTTP,"
        " hostname: '*.example.com'}\n"
        "  - {name: wildfoo, port: 80, protocol: HTTP,"
        " hostname: '*.foo.example.com'}\n"
        "  - {name: abc, port: 80, protocol: HTTP,"
        " hostname: abc.foo.example.com}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r-empty, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: iso, sectionName: empty}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /empty}}]\n"
        "    backendRefs: [{name: svc, namespace: app, port: 80}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r-wild, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: iso, sectionName: wild}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /wild}}]\n"
        "    backendRefs: [{name: svc, namespace: app, port: 80}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r-wildfoo, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: iso, sectionName: wildfoo}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /wildfoo}}]\n"
        "    backendRefs: [{name: svc, namespace: app, port: 80}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r-abc, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: iso, sectionName: abc}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /abc}}]\n"
        "    backendRefs: [{name: svc, namespace: app, port: 80}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: ReferenceGrant\n"
        "metadata: {name: to-svc, namespace: app}\n"
        "spec:\n"
        "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute,"
        " namespace: infra}]\n"
        "  to: [{group: '', kind: Service}]\n", &out);

    for (i = 0; i < sizeof(servers) / sizeof(servers[0]); i++) {
        b = gw_server_block(strstr(out.data, "listen 10.9.9.9:80"),
                            servers[i][0]);
        assert_non_null(b);
        assert_non_null(strstr(b, servers[i][1]));
        assert_null(strstr(b, servers[i][2]));
        free(b);
    }

    gw_buf_free(&out);
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_prefix_is_segment_wise),
        cmocka_unit_test(test_exact_beats_older_prefix),
        cmocka_unit_test(test_weighted_split),
        cmocka_unit_test(test_rewrite_prefix),
        cmocka_unit_test(test_no_endpoints_503_and_deterministic),
        cmocka_unit_test(test_tags_name_the_listener_route_and_backend),
        cmocka_unit_test(test_zone_size_follows_the_series),
        cmocka_unit_test(test_filters_refused_with_a_reason),
        cmocka_unit_test(test_match_candidates_in_precedence_order),
        cmocka_unit_test(test_location_without_conditions_stays_direct),
        cmocka_unit_test(test_hostname_tiers_in_candidate_lists),
        cmocka_unit_test(test_regex_path_and_field_quoting),
        cmocka_unit_test(test_matches_refused_with_a_reason),
        cmocka_unit_test(test_https_servers_take_their_listeners_certificates),
        cmocka_unit_test(test_https_catch_all_takes_the_first_listener),
        cmocka_unit_test(test_listeners_isolate_their_routes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
