/*
 * ngx-gateway unit tests: ListenerSets (GEP-1713): decoding, admission by
 * the Gateway's allowedListeners, listener precedence in conflicts, and
 * routes attaching by parentRef kind.
 */

#include "gw_test_util.h"


/* The Gateway gw (namespace infra) of gw_test_base, allowing ListenerSets. */
static const char  gw_lset_gateway[] =
    "apiVersion: gateway.networking.k8s.io/v1\n"
    "kind: Gateway\n"
    "metadata: {name: gw, namespace: infra}\n"
    "spec:\n"
    "  gatewayClassName: gc\n"
    "  allowedListeners: {namespaces: {from: Same}}\n"
    "  listeners:\n"
    "  - name: http\n"
    "    port: 80\n"
    "    protocol: HTTP\n"
    "    hostname: gw.example\n"
    "    allowedRoutes: {namespaces: {from: All}}\n";


static int
gw_decode_text(const char *json, gw_obj_t **obj, gw_err_t *err)
{
    cJSON  *doc;

    doc = cJSON_Parse(json);
    assert_non_null(doc);

    return gw_obj_decode(doc, "test", obj, err);
}


static void
test_decode(void **state)
{
    gw_err_t   err;
    gw_obj_t  *obj;

    (void) state;

    /* allowedListeners defaults to None */
    assert_int_equal(gw_decode_text(
        "{\"apiVersion\": \"gateway.networking.k8s.io/v1\","
        " \"kind\": \"Gateway\","
        " \"metadata\": {\"name\": \"g\", \"namespace\": \"n\"},"
        " \"spec\": {\"gatewayClassName\": \"gc\", \"listeners\":"
        " [{\"name\": \"a\", \"port\": 80, \"protocol\": \"HTTP\"}]}}",
        &obj, &err), GW_OK);
    assert_int_equal(obj->u.gateway.lsets_from, GW_FROM_NONE);
    gw_obj_free(obj);

    /* parentRef group and kind defaults; listeners as a Gateway's */
    assert_int_equal(gw_decode_text(
        "{\"apiVersion\": \"gateway.networking.k8s.io/v1\","
        " \"kind\": \"ListenerSet\","
        " \"metadata\": {\"name\": \"ls\", \"namespace\": \"n\"},"
        " \"spec\": {\"parentRef\": {\"name\": \"g\"}, \"listeners\":"
        " [{\"name\": \"a\", \"port\": 81, \"protocol\": \"HTTP\","
        "   \"hostname\": \"a.example\"}]}}",
        &obj, &err), GW_OK);
    assert_int_equal(obj->kind, GW_KIND_LISTENERSET);
    assert_string_equal(obj->u.listenerset.group, GW_GROUP);
    assert_string_equal(obj->u.listenerset.kind, "Gateway");
    assert_null(obj->u.listenerset.namespace);
    assert_int_equal(obj->u.listenerset.nlisteners, 1);
    assert_int_equal(obj->u.listenerset.listeners[0].port, 81);
    assert_int_equal(obj->u.listenerset.listeners[0].from, GW_FROM_SAME);
    gw_obj_free(obj);

    /* what the API server refuses */
    assert_int_equal(gw_decode_text(
        "{\"apiVersion\": \"gateway.networking.k8s.io/v1\","
        " \"kind\": \"ListenerSet\","
        " \"metadata\": {\"name\": \"ls\", \"namespace\": \"n\"},"
        " \"spec\": {\"parentRef\": {\"name\": \"g\"}, \"listeners\": []}}",
        &obj, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "spec.listeners"));

    assert_int_equal(gw_decode_text(
        "{\"apiVersion\": \"gateway.networking.k8s.io/v1\","
        " \"kind\": \"ListenerSet\","
        " \"metadata\": {\"name\": \"ls\", \"namespace\": \"n\"},"
        " \"spec\": {\"parentRef\": {\"name\": \"g\"}, \"listeners\":"
        " [{\"name\": \"a\", \"port\": 80, \"protocol\": \"HTTP\"},"
        "  {\"name\": \"a\", \"port\": 81, \"protocol\": \"HTTP\"}]}}",
        &obj, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "Duplicate"));

    assert_int_equal(gw_decode_text(
        "{\"apiVersion\": \"gateway.networking.k8s.io/v1\","
        " \"kind\": \"Gateway\","
        " \"metadata\": {\"name\": \"g\", \"namespace\": \"n\"},"
        " \"spec\": {\"gatewayClassName\": \"gc\","
        " \"allowedListeners\": {\"namespaces\": {\"from\": \"Selector\"}},"
        " \"listeners\": [{\"name\": \"a\", \"port\": 80,"
        " \"protocol\": \"HTTP\"}]}}",
        &obj, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "allowedListeners"));
}


static gw_glset_t *
gw_lset(gw_graph_t *g, const char *ns, const char *name)
{
    gw_glset_t  *ls;

    ls = gw_graph_lset(g, ns, name);
    assert_non_null(ls);

    return ls;
}


static gw_glistener_t *
gw_lset_listener(gw_glset_t *ls, size_t i)
{
    assert_true(i < ls->nlisteners);

    return &ls->gateway->listeners[ls->first + i];
}


static const gw_cond_t *
gw_route_parent_cond(const gw_graph_t *g, const char *name, size_t parent,
    const char *type)
{
    size_t              i;
    const gw_groute_t  *r;

    for (i = 0; i < g->routes.n; i++) {
        r = g->routes.items[i];
        if (strcmp(r->obj->meta.name, name) == 0) {
            assert_true(parent < r->nparents);
            return gw_conds_get(&r->parents[parent].conds, type);
        }
    }

    fail_msg("no route %s", name);

    return NULL;
}


static void
test_admission_and_attachment(void **state)
{
    gw_arena_t      a;
    gw_store_t      s;
    gw_graph_t     *g;
    gw_glset_t     *ls, *other;
    gw_ggateway_t  *gw;

    (void) state;
    gw_arena_init(&a);
    gw_store_init(&s);

    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, gw_lset_gateway);
    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: ListenerSet\n"
        "metadata: {name: ls, namespace: infra}\n"
        "spec:\n"
        "  parentRef: {name: gw}\n"
        "  listeners:\n"
        "  - name: web\n"
        "    port: 80\n"
        "    protocol: HTTP\n"
        "    hostname: ls.example\n"
        "    allowedRoutes: {namespaces: {from: All}}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: ListenerSet\n"
        "metadata: {name: other, namespace: app}\n"
        "spec:\n"
        "  parentRef: {name: gw, namespace: infra}\n"
        "  listeners:\n"
        "  - {name: web, port: 80, protocol: HTTP, hostname: o.example}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: to-gw, namespace: app}\n"
        "spec:\n"
        "  parentRefs:\n"
        "  - {name: gw, namespace: infra}\n"
        "  - {name: gw, namespace: infra, sectionName: web}\n"
        "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: to-ls, namespace: app}\n"
        "spec:\n"
        "  parentRefs:\n"
        "  - {kind: ListenerSet, name: ls, namespace: infra}\n"
        "  rules: [{backendRefs: [{name: svc, port: 80}]}]\n");

    g = gw_test_graph(&a, &s);

    assert_int_equal(g->gateways.n, 1);
    gw = g->gateways.items[0];
    gw_check_cond(gw_conds_get(&gw->conds, "Accepted"), "True", "Accepted");

    /* the Gateway's own listener, then the admitted ListenerSet's */
    assert_int_equal(gw->nown, 1);
    assert_int_equal(gw->nlisteners, 2);
    assert_int_equal(gw->attached_lsets, 1);

    ls = gw_lset(g, "infra", "ls");
    assert_true(ls->accepted);
    gw_check_cond(gw_conds_get(&ls->conds, "Accepted"), "True", "Accepted");
    gw_check_cond(gw_conds_get(&ls->conds, "Programmed"), "True",
                  "Programmed");
    assert_true(gw_lset_listener(ls, 0)->served);

    other = gw_lset(g, "app", "other");
    assert_false(other->accepted);
    assert_int_equal(other->nlisteners, 0);
    gw_check_cond(gw_conds_get(&other->conds, "Accepted"), "False",
                  "NotAllowed");
    gw_check_cond(gw_conds_get(&other->conds, "Programmed"), "False",
                  "NotAllowed");

    /* a Gateway parentRef reaches the Gateway's own listeners only */
    assert_int_equal(gw->listeners[0].attached, 1);
    gw_check_cond(gw_route_parent_cond(g, "to-gw", 0, "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_route_parent_cond(g, "to-gw", 1, "Accepted"), "False",
                  "NoMatchingParent");

    /* a ListenerSet parentRef reaches its listeners only */
    assert_int_equal(gw_lset_listener(ls, 0)->attached, 1);
    gw_check_cond(gw_route_parent_cond(g, "to-ls", 0, "Accepted"), "True",
                  "Accepted");

    gw_arena_release(&a);
    gw_store_release(&s);
}


/*
 * Conflicts: the Gateway's listeners win, then ListenerSets by creation
 * time (then namespace/name); a ListenerSet left without a valid listener
 * is not accepted.
 */
static void
test_listener_precedence(void **state)
{
    gw_arena_t      a;
    gw_store_t      s;
    gw_graph_t     *g;
    gw_glset_t     *older, *newer;
    gw_ggateway_t  *gw;

    (void) state;
    gw_arena_init(&a);
    gw_store_init(&s);

    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, gw_lset_gateway);
    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: ListenerSet\n"
        "metadata:\n"
        "  name: a-newer\n"
        "  namespace: infra\n"
        "  creationTimestamp: '2026-01-02T00:00:00Z'\n"
        "spec:\n"
        "  parentRef: {name: gw}\n"
        "  listeners:\n"
        "  - {name: x, port: 80, protocol: HTTP, hostname: x.example}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: ListenerSet\n"
        "metadata:\n"
        "  name: b-older\n"
        "  namespace: infra\n"
        "  creationTimestamp: '2026-01-01T00:00:00Z'\n"
        "spec:\n"
        "  parentRef: {name: gw}\n"
        "  listeners:\n"
        "  - {name: own, port: 80, protocol: HTTP, hostname: gw.example}\n"
        "  - {name: x, port: 80, protocol: HTTP, hostname: x.example}\n");

    g = gw_test_graph(&a, &s);
    gw = g->gateways.items[0];

    /* the Gateway's listener keeps its hostname */
    gw_check_cond(gw_conds_get(&gw->listeners[0].conds, "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_conds_get(&gw->listeners[0].conds, "Conflicted"),
                  "False", "NoConflicts");

    older = gw_lset(g, "infra", "b-older");
    newer = gw_lset(g, "infra", "a-newer");

    gw_check_cond(gw_conds_get(&gw_lset_listener(older, 0)->conds,
                               "Conflicted"), "True", "HostnameConflict");
    gw_check_cond(gw_conds_get(&gw_lset_listener(older, 1)->conds,
                               "Accepted"), "True", "Accepted");
    gw_check_cond(gw_conds_get(&older->conds, "Accepted"), "True",
                  "ListenersNotValid");

    /* the newer ListenerSet loses x.example, its only listener */
    gw_check_cond(gw_conds_get(&gw_lset_listener(newer, 0)->conds,
                               "Conflicted"), "True", "HostnameConflict");
    gw_check_cond(gw_conds_get(&newer->conds, "Accepted"), "False",
                  "ListenersNotValid");
    gw_check_cond(gw_conds_get(&newer->conds, "Programmed"), "False",
                  "ListenersNotValid");
    assert_int_equal(gw->attached_lsets, 1);

    gw_arena_release(&a);
    gw_store_release(&s);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_admission_and_attachment),
        cmocka_unit_test(test_listener_precedence),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
