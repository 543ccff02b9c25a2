/*
 * ngx-gateway unit tests: the graph stage (attachment, allowedRoutes,
 * hostnames, ReferenceGrants, conditions).
 */

#include "gw_test_util.h"


static gw_graph_t *
gw_build(gw_arena_t *a, gw_store_t *s, const char *extra)
{
    gw_store_init(s);
    gw_test_load(s, gw_test_base);
    gw_test_load(s, extra);

    return gw_test_graph(a, s);
}


static void
test_route_accepted_same_namespace(void **state)
{
    gw_arena_t   a;
    gw_store_t   s;
    gw_graph_t  *g;
    gw_ggateway_t  *gw;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app, generation: 4}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n");

    assert_int_equal(g->classes.n, 1);
    assert_int_equal(g->gateways.n, 1);
    gw = g->gateways.items[0];
    gw_check_cond(gw_conds_get(&gw->conds, "Accepted"), "True", "Accepted");
    assert_int_equal(gw->listeners[0].attached, 1);

    gw_check_cond(gw_test_route_cond(g, "r", "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_test_route_cond(g, "r", "ResolvedRefs"), "True",
                  "ResolvedRefs");

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_cross_namespace_needs_grant(void **state)
{
    gw_arena_t   a;
    gw_store_t   s;
    gw_graph_t  *g;
    static const char  route[] =
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: gw}]\n"
        "  rules: [{backendRefs: [{name: svc, namespace: app, port: 80}]}]\n";

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s, route);
    gw_check_cond(gw_test_route_cond(g, "r", "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_test_route_cond(g, "r", "ResolvedRefs"), "False",
                  "RefNotPermitted");
    gw_arena_release(&a);
    gw_store_release(&s);

    /* a grant for another kind or namespace does not count */
    gw_arena_init(&a);
    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, route);
    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1beta1\n"
        "kind: ReferenceGrant\n"
        "metadata: {name: g, namespace: app}\n"
        "spec:\n"
        "  from: [{group: gateway.networking.k8s.io, kind: GRPCRoute,"
        " namespace: infra}]\n"
        "  to: [{group: '', kind: Service}]\n");
    g = gw_test_graph(&a, &s);
    gw_check_cond(gw_test_route_cond(g, "r", "ResolvedRefs"), "False",
                  "RefNotPermitted");
    gw_arena_release(&a);
    gw_store_release(&s);

    /* the right grant, naming the Service */
    gw_arena_init(&a);
    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, route);
    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: ReferenceGrant\n"
        "metadata: {name: g, namespace: app}\n"
        "spec:\n"
        "  from: [{group: gateway.networking.k8s.io, kind: HTTPRoute,"
        " namespace: infra}]\n"
        "  to: [{group: '', kind: Service, name: svc}]\n");
    g = gw_test_graph(&a, &s);
    gw_check_cond(gw_test_route_cond(g, "r", "ResolvedRefs"), "True",
                  "ResolvedRefs");
    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_selector_and_parent_matching(void **state)
{
    gw_arena_t   a;
    gw_store_t   s;
    gw_graph_t  *g;

    (void) state;
    gw_arena_init(&a);
    gw_store_init(&s);

    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: GatewayClass\n"
        "metadata: {name: gc}\n"
        "spec: {controllerName: " GW_TEST_CONTROLLER "}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - name: http\n"
        "    port: 80\n"
        "    protocol: HTTP\n"
        "    hostname: '*.example.com'\n"
        "    allowedRoutes:\n"
        "      namespaces:\n"
        "        from: Selector\n"
        "        selector:\n"
        "          matchExpressions:\n"
        "          - {key: team, operator: In, values: [a, b]}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Namespace\n"
        "metadata: {name: ok, labels: {team: a}}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Namespace\n"
        "metadata: {name: nope, labels: {team: c}}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: allowed, namespace: ok}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  hostnames: [foo.example.com, other.org]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: denied, namespace: nope}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: nohost, namespace: ok}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  hostnames: [other.org]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: nosection, namespace: ok}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra, sectionName: https}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: otherclass, namespace: ok}\n"
        "spec:\n"
        "  parentRefs: [{name: missing, namespace: infra}]\n");

    g = gw_test_graph(&a, &s);

    gw_check_cond(gw_test_route_cond(g, "allowed", "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_test_route_cond(g, "denied", "Accepted"), "False",
                  "NotAllowedByListeners");
    gw_check_cond(gw_test_route_cond(g, "nohost", "Accepted"), "False",
                  "NoMatchingListenerHostname");
    gw_check_cond(gw_test_route_cond(g, "nosection", "Accepted"), "False",
                  "NoMatchingParent");

    /* a parent that is not ours gets no status entry at all */
    assert_null(gw_test_route_cond(g, "otherclass", "Accepted"));

    /* only the accepted route counts; it serves only foo.example.com */
    assert_int_equal(((gw_ggateway_t *) g->gateways.items[0])
                     ->listeners[0].attached, 1);

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_hostname_intersection(void **state)
{
    (void) state;

    assert_string_equal(gw_hostname_intersect(NULL, "a.b"), "a.b");
    assert_string_equal(gw_hostname_intersect("*.example.com",
                                              "foo.example.com"),
                        "foo.example.com");
    assert_string_equal(gw_hostname_intersect("*.example.com",
                                              "a.b.example.com"),
                        "a.b.example.com");
    assert_null(gw_hostname_intersect("*.example.com", "example.com"));
    assert_string_equal(gw_hostname_intersect("test.example.com",
                                              "*.example.com"),
                        "test.example.com");
    assert_null(gw_hostname_intersect("a.org", "b.org"));
}


static void
test_backend_resolution(void **state)
{
    gw_arena_t     a;
    gw_store_t     s;
    gw_graph_t    *g;
    gw_groute_t   *r;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - backendRefs:\n"
        "    - {name: svc, port: 80, weight: 3}\n"
        "    - {name: gone, port: 80}\n"
        "    - {name: svc, port: 81}\n"
        "    - {group: example.com, kind: Thing, name: x}\n");

    r = g->routes.items[0];
    assert_int_equal(r->rules[0].nbackends, 4);
    assert_true(r->rules[0].backends[0].valid);
    assert_int_equal(r->rules[0].backends[0].weight, 3);
    /* ready endpoints only, sorted, on the EndpointSlice's port */
    assert_int_equal(r->rules[0].backends[0].nendpoints, 2);
    assert_string_equal(r->rules[0].backends[0].endpoints[0].address,
                        "10.0.0.1");
    assert_int_equal(r->rules[0].backends[0].endpoints[0].port, 8080);
    assert_false(r->rules[0].backends[1].valid);
    assert_false(r->rules[0].backends[2].valid);
    assert_false(r->rules[0].backends[3].valid);

    /* the first failure names the condition */
    gw_check_cond(gw_test_route_cond(g, "r", "ResolvedRefs"), "False",
                  "BackendNotFound");

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_unsupported_rule_dropped(void **state)
{
    gw_arena_t   a;
    gw_store_t   s;
    gw_graph_t  *g;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - matches: [{path: {type: PathPrefix, value: /ok}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{path: {type: PathPrefix, value: '/a$b'}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: bad, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - matches: [{path: {value: '/x;y'}}]\n");

    gw_check_cond(gw_test_route_cond(g, "r", "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_test_route_cond(g, "r", "PartiallyInvalid"), "True",
                  "UnsupportedValue");
    gw_check_cond(gw_test_route_cond(g, "bad", "Accepted"), "False",
                  "UnsupportedValue");

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_gateways_share_port(void **state)
{
    gw_arena_t      a;
    gw_store_t      s;
    gw_graph_t     *g;
    gw_ggateway_t  *second;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw2, namespace: infra,"
        " creationTimestamp: '2030-01-01T00:00:00Z'}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners: [{name: http, port: 80, protocol: HTTP},"
        " {name: sctp, port: 9000, protocol: SCTP}]\n");

    assert_int_equal(g->gateways.n, 2);
    second = g->gateways.items[1];
    assert_string_equal(second->obj->meta.name, "gw2");
    gw_check_cond(gw_conds_get(&second->listeners[0].conds, "Accepted"),
                  "False", "PortUnavailable");
    gw_check_cond(gw_conds_get(&second->listeners[1].conds, "Accepted"),
                  "False", "UnsupportedProtocol");
    gw_check_cond(gw_conds_get(&second->conds, "Accepted"), "False",
                  "ListenersNotValid");

    gw_arena_release(&a);
    gw_store_release(&s);
}


static const gw_cond_t *
gw_class_cond(const gw_graph_t *g, const char *type)
{
    const gw_gclass_t  *c;

    assert_int_equal(g->classes.n, 1);
    c = g->classes.items[0];

    return gw_conds_get(&c->conds, type);
}


#define GW_TEST_CRD(name, annotations)                                       \
    "apiVersion: apiextensions.k8s.io/v1\n"                                 \
    "kind: CustomResourceDefinition\n"                                      \
    "metadata:\n"                                                           \
    "  name: " name "\n"                                                    \
    "  annotations: " annotations "\n"                                      \
    "spec: {group: gateway.networking.k8s.io, names: {kind: X},"            \
    " scope: Namespaced, versions: [{name: v1, served: true}]}\n"


static void
test_class_supported_version(void **state)
{
    gw_arena_t   a;
    gw_store_t   s;
    gw_graph_t  *g;

    (void) state;

    /* no CRDs visible (standalone without them): nothing claimed */
    gw_arena_init(&a);
    g = gw_build(&a, &s, "");
    assert_null(gw_class_cond(g, "SupportedVersion"));
    gw_arena_release(&a);
    gw_store_release(&s);

    gw_arena_init(&a);
    g = gw_build(&a, &s,
        GW_TEST_CRD("gateways.gateway.networking.k8s.io",
                    "{gateway.networking.k8s.io/bundle-version: v1.6.1,"
                    " gateway.networking.k8s.io/channel: standard}")
        "---\n"
        GW_TEST_CRD("httproutes.gateway.networking.k8s.io",
                    "{gateway.networking.k8s.io/bundle-version: v1.6.0}"));
    gw_check_cond(gw_class_cond(g, "SupportedVersion"), "True",
                  "SupportedVersion");
    gw_check_cond(gw_class_cond(g, "Accepted"), "True", "Accepted");
    gw_arena_release(&a);
    gw_store_release(&s);

    /* one CRD of another release: best effort, said so */
    gw_arena_init(&a);
    g = gw_build(&a, &s,
        GW_TEST_CRD("gateways.gateway.networking.k8s.io",
                    "{gateway.networking.k8s.io/bundle-version: v1.6.1}")
        "---\n"
        GW_TEST_CRD("httproutes.gateway.networking.k8s.io",
                    "{gateway.networking.k8s.io/bundle-version: v1.2.0}"));
    gw_check_cond(gw_class_cond(g, "SupportedVersion"), "False",
                  "UnsupportedVersion");
    assert_non_null(strstr(gw_class_cond(g, "SupportedVersion")->message,
                           "httproutes.gateway.networking.k8s.io"));
    gw_check_cond(gw_class_cond(g, "Accepted"), "True", "Accepted");
    gw_arena_release(&a);
    gw_store_release(&s);

    /* a CRD without the annotation is not a release we know */
    gw_arena_init(&a);
    g = gw_build(&a, &s,
        GW_TEST_CRD("gateways.gateway.networking.k8s.io", "{}"));
    gw_check_cond(gw_class_cond(g, "SupportedVersion"), "False",
                  "UnsupportedVersion");
    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_gateway_infrastructure_parameters(void **state)
{
    gw_arena_t      a;
    gw_store_t      s;
    gw_graph_t     *g;
    gw_ggateway_t  *gw;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw2, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  addresses: [{type: IPAddress, value: 127.0.0.9}]\n"
        "  infrastructure:\n"
        "    parametersRef: {group: '', kind: ConfigMap, name: nope}\n"
        "  listeners: [{name: http, port: 80, protocol: HTTP}]\n");

    assert_int_equal(g->gateways.n, 2);
    gw = g->gateways.items[1];
    assert_string_equal(gw->obj->meta.name, "gw2");
    gw_check_cond(gw_conds_get(&gw->conds, "Accepted"), "False",
                  "InvalidParameters");
    gw_check_cond(gw_conds_get(&gw->conds, "Programmed"), "False",
                  "Invalid");
    assert_false(gw->accepted);

    gw_arena_release(&a);
    gw_store_release(&s);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_route_accepted_same_namespace),
        cmocka_unit_test(test_cross_namespace_needs_grant),
        cmocka_unit_test(test_selector_and_parent_matching),
        cmocka_unit_test(test_hostname_intersection),
        cmocka_unit_test(test_backend_resolution),
        cmocka_unit_test(test_unsupported_rule_dropped),
        cmocka_unit_test(test_gateways_share_port),
        cmocka_unit_test(test_class_supported_version),
        cmocka_unit_test(test_gateway_infrastructure_parameters),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
