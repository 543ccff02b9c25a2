/*
 * ngx-gateway unit tests: shared helpers (header only).
 */

#ifndef GW_TEST_UTIL_H
#define GW_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "api/api.h"
#include "core/gw_buf.h"
#include "dataplane/dataplane.h"
#include "graph/graph.h"
#include "render/render.h"
#include "source/yaml.h"
#include "store/store.h"

#define GW_TEST_CONTROLLER  "ngx-gateway.io/gateway-controller"


static __attribute__((unused)) void
gw_test_on_doc(void *ctx, cJSON *doc, const char *file, int line)
{
    gw_err_t   err;
    gw_obj_t  *obj;

    (void) file;
    (void) line;

    if (gw_obj_decode(doc, "test", &obj, &err) != GW_OK) {
        fail_msg("decode: %s", err.msg);
    }

    gw_store_put(ctx, obj, NULL);
}


static __attribute__((unused)) void
gw_test_on_err(void *ctx, const char *file, int line, int column,
    const char *problem)
{
    (void) ctx;
    fail_msg("%s:%d:%d: %s", file, line, column, problem);
}


/* Asserts that condition c exists with that status and reason. */
static __attribute__((unused)) void
gw_check_cond(const gw_cond_t *c, const char *status, const char *reason)
{
    assert_non_null(c);
    assert_string_equal(c->status, status);
    assert_string_equal(c->reason, reason);
}


/* Decodes a multi-document YAML string into the store. */
static __attribute__((unused)) void
gw_test_load(gw_store_t *s, const char *yaml)
{
    assert_int_equal(gw_yaml_parse("test.yaml", yaml, strlen(yaml),
                                   gw_test_on_doc, gw_test_on_err, s), 0);
}


/*
 * The host of the unit tests, whatever machine runs them: it has every
 * address but those of 192.0.2.0/24 (TEST-NET-1, never assigned).
 */
static __attribute__((unused)) int
gw_test_addr_usable(const char *ip)
{
    return strncmp(ip, "192.0.2.", 8) != 0;
}


static __attribute__((unused)) gw_graph_t *
gw_test_graph(gw_arena_t *a, const gw_store_t *s)
{
    gw_graph_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.controller_name = GW_TEST_CONTROLLER;
    conf.default_address = "127.0.0.1";
    conf.addr_usable = gw_test_addr_usable;

    return gw_graph_build(a, s, &conf);
}


/* Renders the http config of a store into out. */
static __attribute__((unused)) void
gw_test_render(const gw_store_t *s, gw_buf_t *out)
{
    gw_arena_t        a;
    gw_err_t          err;
    gw_graph_t       *g;
    gw_render_conf_t  conf;

    gw_arena_init(&a);
    g = gw_test_graph(&a, s);

    memset(&conf, 0, sizeof(conf));
    conf.state_dir = "/var/lib/ngx-gateway";
    conf.module_path = "/usr/lib/nginx/modules/ngx_http_gateway_module.so";

    if (gw_render_http(gw_dataplane_build(&a, g, 0), &conf, out, &err)
        != GW_OK)
    {
        fail_msg("render: %s", err.msg);
    }

    gw_arena_release(&a);
}


/* The condition of a route's first parent. */
static __attribute__((unused)) const gw_cond_t *
gw_test_route_cond(const gw_graph_t *g, const char *name, const char *type)
{
    size_t              i;
    const gw_groute_t  *r;

    for (i = 0; i < g->routes.n; i++) {
        r = g->routes.items[i];
        if (strcmp(r->obj->meta.name, name) == 0 && r->nparents > 0) {
            return gw_conds_get(&r->parents[0].conds, type);
        }
    }

    return NULL;
}


static __attribute__((unused)) const char  gw_test_base[] =
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
    "    allowedRoutes: {namespaces: {from: All}}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: svc, namespace: app}\n"
    "spec: {ports: [{port: 80, targetPort: 8080}]}\n"
    "---\n"
    "apiVersion: discovery.k8s.io/v1\n"
    "kind: EndpointSlice\n"
    "metadata:\n"
    "  name: svc-1\n"
    "  namespace: app\n"
    "  labels: {kubernetes.io/service-name: svc}\n"
    "addressType: IPv4\n"
    "ports: [{name: '', port: 8080}]\n"
    "endpoints:\n"
    "- addresses: [10.0.0.2]\n"
    "- addresses: [10.0.0.1]\n"
    "- addresses: [10.0.0.3]\n"
    "  conditions: {ready: false}\n";

#endif /* GW_TEST_UTIL_H */
