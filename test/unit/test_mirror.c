/*
 * ngx-gateway unit tests: RequestMirror (graph/backend.c resolves the
 * mirrors' backendRefs, dataplane/filter_mirror.c and render/mirror.c
 * write them).
 */

#include <stdio.h>
#include <stdlib.h>

#include "gw_test_util.h"

#define GW_MIRROR_ROUTE(rules)                                               \
    "apiVersion: v1\n"                                                        \
    "kind: Service\n"                                                         \
    "metadata: {name: other, namespace: app}\n"                               \
    "spec: {ports: [{port: 81, targetPort: 8081}]}\n"                         \
    "---\n"                                                                   \
    "apiVersion: gateway.networking.k8s.io/v1\n"                              \
    "kind: HTTPRoute\n"                                                       \
    "metadata: {name: r, namespace: app}\n"                                   \
    "spec:\n"                                                                 \
    "  parentRefs: [{name: gw, namespace: infra}]\n"                          \
    "  hostnames: [m.example.com]\n"                                          \
    "  rules:\n" rules


static void
gw_mirror_render(const char *extra, gw_buf_t *out)
{
    gw_store_t  s;

    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, extra);
    gw_buf_init(out);
    gw_test_render(&s, out);
    gw_store_release(&s);
}


/* The number of times needle occurs in hay. */
static size_t
gw_count(const char *hay, const char *needle)
{
    size_t       n;
    const char  *p;

    n = 0;
    for (p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }

    return n;
}


static void
test_mirrors_are_internal_locations(void **state)
{
    gw_buf_t  out;

    (void) state;

    gw_mirror_render(GW_MIRROR_ROUTE(
        "  - matches: [{path: {type: PathPrefix, value: /a}}]\n"
        "    filters:\n"
        "    - type: RequestHeaderModifier\n"
        "      requestHeaderModifier: {set: [{name: X-S, value: v}]}\n"
        "    - type: RequestMirror\n"
        "      requestMirror: {backendRef: {name: svc, port: 80}}\n"
        "    - type: RequestMirror\n"
        "      requestMirror: {backendRef: {name: other, port: 81},"
        " percent: 20}\n"
        "    backendRefs: [{name: svc, port: 80}]\n"), &out);

    /* both locations of the PathPrefix name both mirrors */
    assert_int_equal(gw_count(out.data, "mirror /_gw_mirror/0;"), 2);
    assert_int_equal(gw_count(out.data, "mirror /_gw_mirror/1;"), 2);
    assert_int_equal(gw_count(out.data, "mirror_request_body on;"), 2);

    assert_non_null(strstr(out.data,
        "    location = /_gw_mirror/0 {\n"
        "        internal;\n"
        "        proxy_set_header Host $http_host;\n"));
    assert_non_null(strstr(out.data,
        "proxy_pass http://app_svc_80$request_uri;"));
    assert_non_null(strstr(out.data,
        "proxy_pass http://app_other_81$request_uri;"));

    /* the rule's request headers go to the mirror too */
    assert_int_equal(gw_count(out.data, "proxy_set_header X-S \"v\";"), 4);

    /* 20%: the others answered 204 by the mirror location itself */
    assert_non_null(strstr(out.data,
        "split_clients \"${request_id}m\" $gw_mirror_2000 {\n"
        "    20.00% 1;\n"
        "    * \"\";\n"
        "}\n"));
    assert_non_null(strstr(out.data,
        "    location = /_gw_mirror/1 {\n"
        "        internal;\n"
        "        if ($gw_mirror_2000 = \"\") {\n"
        "            return 204;\n"));
    assert_int_equal(gw_count(out.data, "$gw_mirror_2000 {"), 1);

    gw_buf_free(&out);
}


static void
test_unresolved_or_empty_mirror_is_left_out(void **state)
{
    gw_buf_t             out;
    gw_arena_t           a;
    gw_store_t           s;
    const gw_cond_t     *c;
    static const char    route[] = GW_MIRROR_ROUTE(
        "  - matches: [{path: {type: PathPrefix, value: /a}}]\n"
        "    filters:\n"
        "    - type: RequestMirror\n"
        "      requestMirror: {backendRef: {name: nowhere, port: 80}}\n"
        "    - type: RequestMirror\n"
        "      requestMirror: {backendRef: {name: svc, port: 80},"
        " fraction: {numerator: 0, denominator: 7}}\n"
        "    backendRefs: [{name: svc, port: 80}]\n");

    (void) state;

    gw_mirror_render(route, &out);
    assert_null(strstr(out.data, "mirror"));
    assert_non_null(strstr(out.data, "proxy_pass http://app_svc_80;"));
    gw_buf_free(&out);

    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, route);
    gw_arena_init(&a);

    c = gw_test_route_cond(gw_test_graph(&a, &s), "r", "ResolvedRefs");
    assert_non_null(c);
    assert_string_equal(c->status, "False");
    assert_string_equal(c->reason, "BackendNotFound");
    assert_non_null(strstr(c->message, "RequestMirror backendRef "
                                       "app/nowhere"));

    c = gw_test_route_cond(gw_test_graph(&a, &s), "r", "Accepted");
    assert_string_equal(c->status, "True");

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_mirror_across_namespaces_needs_a_grant(void **state)
{
    gw_arena_t        a;
    gw_store_t        s;
    const gw_cond_t  *c;

    (void) state;

    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: gw}]\n"
        "  rules:\n"
        "  - filters:\n"
        "    - type: RequestMirror\n"
        "      requestMirror:\n"
        "        backendRef: {name: svc, namespace: app, port: 80}\n");
    gw_arena_init(&a);

    c = gw_test_route_cond(gw_test_graph(&a, &s), "r", "ResolvedRefs");
    assert_non_null(c);
    assert_string_equal(c->status, "False");
    assert_string_equal(c->reason, "RefNotPermitted");

    gw_arena_release(&a);
    gw_store_release(&s);
}


/* Not mirrors, but the same kind of refusal: said, never ignored. */
static void
test_grpc_session_persistence_refused_by_name(void **state)
{
    gw_arena_t        a;
    gw_store_t        s;
    const gw_graph_t *g;
    const gw_cond_t  *c;

    (void) state;

    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: GRPCRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{method: {service: a.B}}]\n"
        "    sessionPersistence: {sessionName: s, type: Cookie}\n"
        "    backendRefs: [{name: svc, port: 80}]\n");
    gw_arena_init(&a);
    g = gw_test_graph(&a, &s);

    c = gw_test_route_cond(g, "r", "PartiallyInvalid");
    assert_non_null(c);
    assert_string_equal(c->status, "True");
    assert_non_null(strstr(c->message, "rule 1: sessionPersistence is not "
                                       "supported on GRPCRoutes"));

    gw_arena_release(&a);
    gw_store_release(&s);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mirrors_are_internal_locations),
        cmocka_unit_test(test_unresolved_or_empty_mirror_is_left_out),
        cmocka_unit_test(test_mirror_across_namespaces_needs_a_grant),
        cmocka_unit_test(test_grpc_session_persistence_refused_by_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
