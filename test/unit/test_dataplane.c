/*
 * ngx-gateway unit tests: data plane and rendering (locations in the
 * spec's precedence, splits, rewrites, determinism).
 */

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
    assert_non_null(strstr(out.data, "server 10.0.0.1:8080;\n"
                                     "    server 10.0.0.2:8080;"));
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
                                   "    server unix:/var/lib/ngx-gateway/"
                                   "run/internal-503.sock;"));
    assert_string_equal(a.data, b.data);

    gw_buf_free(&a);
    gw_buf_free(&b);
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
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
