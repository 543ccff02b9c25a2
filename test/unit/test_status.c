/*
 * Unit tests: status (status/status.c, status/output.c) from a graph built
 * by hand.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "status/status.h"


#define CONTROLLER  "gateway.nginx.org/ngx-gateway"
#define OLD_TIME    "2020-01-01T00:00:00Z"


typedef struct {
    gw_arena_t        arena;
    gw_graph_t       *g;
    gw_obj_t          class_obj;
    gw_obj_t          gw_obj;
    gw_obj_t          route_obj;
    gw_listener_t     lspec;
    gw_parent_ref_t   pref;
    gw_gclass_t      *cls;
    gw_ggateway_t    *gw;
    gw_groute_t      *route;
    gw_buf_t          out;
    gw_err_t          err;
} fixture_t;

static const char  *http_kinds[] = { "HTTPRoute" };


static void
fixture_obj(gw_obj_t *obj, gw_kind_e kind, const char *api_version,
    const char *ns, const char *name, int64_t generation)
{
    memset(obj, 0, sizeof(gw_obj_t));
    obj->kind = kind;
    obj->api_version = api_version;
    obj->meta.namespace = ns;
    obj->meta.name = name;
    obj->meta.generation = generation;
    obj->meta.creation_timestamp = "";
    obj->origin = "";
}


static int
setup(void **state)
{
    fixture_t       *f;
    gw_graph_t      *g;
    gw_gparent_t    *p;
    gw_glistener_t  *l;

    f = calloc(1, sizeof(fixture_t));
    gw_arena_init(&f->arena);
    gw_buf_init(&f->out);

    g = gw_arena_alloc(&f->arena, sizeof(gw_graph_t));
    g->arena = &f->arena;
    g->controller_name = CONTROLLER;
    g->default_address = "127.0.0.1";
    f->g = g;

    /* GatewayClass, generation 2 */
    fixture_obj(&f->class_obj, GW_KIND_GATEWAYCLASS,
                GW_GROUP "/v1", "", "nginx", 2);
    f->cls = gw_arena_alloc(&f->arena, sizeof(gw_gclass_t));
    f->cls->obj = &f->class_obj;
    f->cls->accepted = 1;
    gw_conds_set(&f->cls->conds, "Accepted", 1, "Accepted",
                 "GatewayClass is accepted");
    gw_ptrs_push(&f->arena, &g->classes, f->cls);

    /* Gateway, generation 3, one listener "http" */
    fixture_obj(&f->gw_obj, GW_KIND_GATEWAY, GW_GROUP "/v1", "default",
                "game-gateway", 3);
    f->lspec.name = "http";
    f->lspec.port = 80;
    f->lspec.protocol = "HTTP";

    f->gw = gw_arena_alloc(&f->arena, sizeof(gw_ggateway_t));
    f->gw->obj = &f->gw_obj;
    f->gw->cls = f->cls;
    f->gw->accepted = 1;
    f->gw->address = "127.0.0.1";
    gw_conds_set(&f->gw->conds, "Accepted", 1, "Accepted",
                 "Gateway is accepted");
    gw_conds_set(&f->gw->conds, "Programmed", 1, "Programmed",
                 "Gateway is programmed");

    l = gw_arena_alloc(&f->arena, sizeof(gw_glistener_t));
    l->spec = &f->lspec;
    l->gateway = f->gw;
    l->accepted = 1;
    l->served = 1;
    l->attached = 1;
    l->kinds = http_kinds;
    l->nkinds = 1;
    gw_conds_set(&l->conds, "Accepted", 1, "Accepted", "Listener is valid");
    gw_conds_set(&l->conds, "Programmed", 1, "Programmed",
                 "Listener is programmed");
    gw_conds_set(&l->conds, "ResolvedRefs", 1, "ResolvedRefs",
                 "All references are resolved");
    f->gw->listeners = l;
    f->gw->nlisteners = 1;
    gw_ptrs_push(&f->arena, &g->gateways, f->gw);

    /* HTTPRoute, generation 5, one parent with sectionName "http" */
    fixture_obj(&f->route_obj, GW_KIND_HTTPROUTE, GW_GROUP "/v1", "default",
                "game-route", 5);
    f->pref.group = GW_GROUP;
    f->pref.kind = "Gateway";
    f->pref.namespace = NULL;
    f->pref.name = "game-gateway";
    f->pref.section_name = "http";

    f->route = gw_arena_alloc(&f->arena, sizeof(gw_groute_t));
    f->route->obj = &f->route_obj;
    f->route->kind = GW_KIND_HTTPROUTE;
    f->route->kind_name = "HTTPRoute";
    p = gw_arena_alloc(&f->arena, sizeof(gw_gparent_t));
    p->ref = &f->pref;
    p->gateway = f->gw;
    p->accepted = 1;
    gw_conds_set(&p->conds, "Accepted", 1, "Accepted", "Route is accepted");
    gw_conds_set(&p->conds, "ResolvedRefs", 1, "ResolvedRefs",
                 "All references are resolved");
    f->route->parents = p;
    f->route->nparents = 1;
    gw_ptrs_push(&f->arena, &g->routes, f->route);

    *state = f;

    return 0;
}


static int
teardown(void **state)
{
    fixture_t  *f = *state;

    gw_buf_free(&f->out);
    gw_arena_release(&f->arena);
    free(f);

    return 0;
}


static const cJSON *
get(const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, key);
    assert_non_null(v);

    return v;
}


static const char *
str(const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = get(obj, key);
    assert_true(cJSON_IsString(v));

    return v->valuestring;
}


static int64_t
num(const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = get(obj, key);
    assert_true(cJSON_IsNumber(v));

    return (int64_t) v->valuedouble;
}


static const cJSON *
cond(const cJSON *conds, const char *type)
{
    const cJSON  *c;

    cJSON_ArrayForEach(c, conds) {
        if (strcmp(str(c, "type"), type) == 0) {
            return c;
        }
    }

    fail_msg("no condition %s", type);

    return NULL;
}


static const cJSON *
gw_conds_json(const cJSON *list)
{
    return get(get(gw_status_find(list, "Gateway", "default",
                                  "game-gateway"), "status"), "conditions");
}


static void
test_shape(void **state)
{
    fixture_t     *f = *state;
    cJSON         *list;
    const cJSON   *items, *it, *st, *l, *k, *p, *ref, *c;
    gw_status_outcome_t  ok = { 1, NULL };

    list = gw_status_build(f->g, &ok, NULL);
    assert_non_null(list);

    assert_string_equal(str(list, "apiVersion"), "v1");
    assert_string_equal(str(list, "kind"), "List");
    items = get(list, "items");
    assert_int_equal(cJSON_GetArraySize(items), 3);

    /* order: classes, gateways, routes */
    assert_string_equal(str(cJSON_GetArrayItem(items, 0), "kind"),
                        "GatewayClass");
    assert_string_equal(str(cJSON_GetArrayItem(items, 1), "kind"),
                        "Gateway");
    assert_string_equal(str(cJSON_GetArrayItem(items, 2), "kind"),
                        "HTTPRoute");

    /* GatewayClass: cluster-scoped, no namespace */
    it = gw_status_find(list, "GatewayClass", NULL, "nginx");
    assert_ptr_equal(it, cJSON_GetArrayItem(items, 0));
    assert_ptr_equal(gw_status_find(list, "GatewayClass", "", "nginx"), it);
    assert_null(gw_status_find(list, "GatewayClass", "default", "nginx"));
    assert_string_equal(str(it, "apiVersion"),
                        "gateway.networking.k8s.io/v1");
    assert_null(cJSON_GetObjectItem(get(it, "metadata"), "namespace"));
    assert_int_equal(num(get(it, "metadata"), "generation"), 2);
    c = cond(get(get(it, "status"), "conditions"), "Accepted");
    assert_string_equal(str(c, "status"), "True");
    assert_string_equal(str(c, "reason"), "Accepted");
    assert_int_equal(num(c, "observedGeneration"), 2);
    assert_int_equal(strlen(str(c, "lastTransitionTime")), 20);
    assert_int_equal(str(c, "lastTransitionTime")[19], 'Z');

    /* Gateway */
    it = gw_status_find(list, "Gateway", "default", "game-gateway");
    assert_non_null(it);
    assert_string_equal(str(get(it, "metadata"), "namespace"), "default");
    st = get(it, "status");
    assert_int_equal(cJSON_GetArraySize(get(st, "addresses")), 1);
    assert_string_equal(str(cJSON_GetArrayItem(get(st, "addresses"), 0),
                            "type"), "IPAddress");
    assert_string_equal(str(cJSON_GetArrayItem(get(st, "addresses"), 0),
                            "value"), "127.0.0.1");
    c = cond(get(st, "conditions"), "Programmed");
    assert_string_equal(str(c, "status"), "True");
    assert_int_equal(num(c, "observedGeneration"), 3);

    assert_int_equal(cJSON_GetArraySize(get(st, "listeners")), 1);
    l = cJSON_GetArrayItem(get(st, "listeners"), 0);
    assert_string_equal(str(l, "name"), "http");
    assert_int_equal(num(l, "attachedRoutes"), 1);
    assert_int_equal(cJSON_GetArraySize(get(l, "supportedKinds")), 1);
    k = cJSON_GetArrayItem(get(l, "supportedKinds"), 0);
    assert_string_equal(str(k, "group"), "gateway.networking.k8s.io");
    assert_string_equal(str(k, "kind"), "HTTPRoute");
    assert_int_equal(cJSON_GetArraySize(get(l, "conditions")), 3);
    assert_int_equal(num(cond(get(l, "conditions"), "ResolvedRefs"),
                         "observedGeneration"), 3);

    /* HTTPRoute */
    it = gw_status_find(list, "HTTPRoute", "default", "game-route");
    assert_non_null(it);
    assert_int_equal(cJSON_GetArraySize(get(get(it, "status"), "parents")),
                     1);
    p = cJSON_GetArrayItem(get(get(it, "status"), "parents"), 0);
    assert_string_equal(str(p, "controllerName"), CONTROLLER);
    ref = get(p, "parentRef");
    assert_string_equal(str(ref, "group"), "gateway.networking.k8s.io");
    assert_string_equal(str(ref, "kind"), "Gateway");
    /* the route's parentRef has no namespace: echoed as written */
    assert_null(cJSON_GetObjectItem(ref, "namespace"));
    assert_string_equal(str(ref, "name"), "game-gateway");
    assert_string_equal(str(ref, "sectionName"), "http");
    assert_null(cJSON_GetObjectItem(ref, "port"));
    c = cond(get(p, "conditions"), "Accepted");
    assert_string_equal(str(c, "status"), "True");
    assert_int_equal(num(c, "observedGeneration"), 5);

    assert_null(gw_status_find(list, "HTTPRoute", "other", "game-route"));

    cJSON_Delete(list);
}


static void
test_no_address_and_port(void **state)
{
    fixture_t    *f = *state;
    cJSON        *list;
    const cJSON  *st, *ref;

    f->gw->address = NULL;
    f->pref.section_name = NULL;
    f->pref.port = 80;
    f->pref.namespace = "default";

    list = gw_status_build(f->g, NULL, NULL);
    st = get(gw_status_find(list, "Gateway", "default", "game-gateway"),
             "status");
    assert_null(cJSON_GetObjectItem(st, "addresses"));

    ref = get(cJSON_GetArrayItem(get(get(gw_status_find(list, "HTTPRoute",
                  "default", "game-route"), "status"), "parents"), 0),
              "parentRef");
    assert_null(cJSON_GetObjectItem(ref, "sectionName"));
    assert_int_equal(num(ref, "port"), 80);

    cJSON_Delete(list);
}


static void
set_ltt(cJSON *c, const char *t)
{
    cJSON_ReplaceItemInObjectCaseSensitive(c, "lastTransitionTime",
                                           cJSON_CreateString(t));
}


static void
test_transition_time(void **state)
{
    fixture_t    *f = *state;
    cJSON        *prev, *next, *again;
    const cJSON  *lc, *pc;
    gw_status_outcome_t  ok = { 1, NULL };

    prev = gw_status_build(f->g, &ok, NULL);

    /* Age every condition we check. */
    set_ltt((cJSON *) cond(gw_conds_json(prev), "Accepted"), OLD_TIME);
    set_ltt((cJSON *) cond(gw_conds_json(prev), "Programmed"), OLD_TIME);
    lc = get(cJSON_GetArrayItem(get(get(gw_status_find(prev, "Gateway",
             "default", "game-gateway"), "status"), "listeners"), 0),
             "conditions");
    set_ltt((cJSON *) cond(lc, "Accepted"), OLD_TIME);
    pc = get(cJSON_GetArrayItem(get(get(gw_status_find(prev, "HTTPRoute",
             "default", "game-route"), "status"), "parents"), 0),
             "conditions");
    set_ltt((cJSON *) cond(pc, "Accepted"), OLD_TIME);
    set_ltt((cJSON *) cond(get(get(gw_status_find(prev, "GatewayClass",
             NULL, "nginx"), "status"), "conditions"), "Accepted"),
            OLD_TIME);

    /* Unchanged: kept. */
    next = gw_status_build(f->g, &ok, prev);
    assert_string_equal(str(cond(gw_conds_json(next), "Accepted"),
                            "lastTransitionTime"), OLD_TIME);
    assert_string_equal(str(cond(gw_conds_json(next), "Programmed"),
                            "lastTransitionTime"), OLD_TIME);
    lc = get(cJSON_GetArrayItem(get(get(gw_status_find(next, "Gateway",
             "default", "game-gateway"), "status"), "listeners"), 0),
             "conditions");
    assert_string_equal(str(cond(lc, "Accepted"), "lastTransitionTime"),
                        OLD_TIME);
    pc = get(cJSON_GetArrayItem(get(get(gw_status_find(next, "HTTPRoute",
             "default", "game-route"), "status"), "parents"), 0),
             "conditions");
    assert_string_equal(str(cond(pc, "Accepted"), "lastTransitionTime"),
                        OLD_TIME);
    assert_string_equal(str(cond(get(get(gw_status_find(next,
             "GatewayClass", NULL, "nginx"), "status"), "conditions"),
             "Accepted"), "lastTransitionTime"), OLD_TIME);

    /* Deterministic: the same input and previous give the same List. */
    again = gw_status_build(f->g, &ok, next);
    assert_true(cJSON_Compare(again, next, 1));
    cJSON_Delete(again);

    /* A flip of status: new time; the rest kept. */
    gw_conds_set(&f->gw->conds, "Accepted", 0, "Invalid", "broken");
    f->gw_obj.meta.generation = 4;
    cJSON_Delete(next);
    next = gw_status_build(f->g, &ok, prev);
    assert_string_not_equal(str(cond(gw_conds_json(next), "Accepted"),
                                "lastTransitionTime"), OLD_TIME);
    assert_string_equal(str(cond(gw_conds_json(next), "Accepted"),
                            "status"), "False");
    assert_int_equal(num(cond(gw_conds_json(next), "Accepted"),
                         "observedGeneration"), 4);
    assert_string_equal(str(cond(gw_conds_json(next), "Programmed"),
                            "lastTransitionTime"), OLD_TIME);

    /* A different parentRef is a different entry: new time. */
    f->pref.section_name = "https";
    cJSON_Delete(next);
    next = gw_status_build(f->g, &ok, prev);
    pc = get(cJSON_GetArrayItem(get(get(gw_status_find(next, "HTTPRoute",
             "default", "game-route"), "status"), "parents"), 0),
             "conditions");
    assert_string_not_equal(str(cond(pc, "Accepted"), "lastTransitionTime"),
                            OLD_TIME);

    cJSON_Delete(next);
    cJSON_Delete(prev);
}


static void
test_not_programmed(void **state)
{
    fixture_t    *f = *state;
    cJSON        *list;
    const cJSON  *c, *l, *p;
    gw_status_outcome_t  bad = { 0, "unknown directive \"x\" in nginx.conf:3" };

    list = gw_status_build(f->g, &bad, NULL);

    c = cond(gw_conds_json(list), "Programmed");
    assert_string_equal(str(c, "status"), "False");
    assert_string_equal(str(c, "reason"), "Pending");
    assert_string_equal(str(c, "message"), "configuration not live: "
                        "unknown directive \"x\" in nginx.conf:3");
    assert_int_equal(num(c, "observedGeneration"), 3);
    assert_string_equal(str(cond(gw_conds_json(list), "Accepted"), "status"),
                        "True");

    l = get(cJSON_GetArrayItem(get(get(gw_status_find(list, "Gateway",
            "default", "game-gateway"), "status"), "listeners"), 0),
            "conditions");
    assert_string_equal(str(cond(l, "Programmed"), "status"), "False");
    assert_string_equal(str(cond(l, "Programmed"), "reason"), "Pending");
    assert_string_equal(str(cond(l, "Accepted"), "status"), "True");

    p = get(cJSON_GetArrayItem(get(get(gw_status_find(list, "HTTPRoute",
            "default", "game-route"), "status"), "parents"), 0),
            "conditions");
    /* the route says its change may not be live: nginx refused it */
    assert_int_equal(cJSON_GetArraySize(p), 3);
    assert_string_equal(str(cond(p, "Accepted"), "status"), "True");
    assert_string_equal(str(cond(p, "Programmed"), "status"), "False");
    assert_string_equal(str(cond(p, "Programmed"), "reason"), "Pending");
    assert_non_null(strstr(str(cond(p, "Programmed"), "message"),
                           "unknown directive"));

    /* once live, the condition is gone again */
    cJSON_Delete(list);
    list = gw_status_build(f->g, NULL, NULL);
    p = get(cJSON_GetArrayItem(get(get(gw_status_find(list, "HTTPRoute",
            "default", "game-route"), "status"), "parents"), 0),
            "conditions");
    assert_int_equal(cJSON_GetArraySize(p), 2);

    /* The graph itself is untouched. */
    assert_string_equal(gw_conds_get(&f->gw->conds, "Programmed")->status,
                        "True");

    cJSON_Delete(list);
}


static void
test_write_json(void **state)
{
    fixture_t  *f = *state;
    cJSON      *list, *back;

    list = gw_status_build(f->g, NULL, NULL);

    assert_int_equal(gw_status_write(&f->out, list, "json", &f->err), GW_OK);
    assert_true(f->out.len > 0);
    assert_int_equal(f->out.data[f->out.len - 1], '\n');
    assert_non_null(strstr(f->out.data, "\n\t"));

    back = cJSON_Parse(f->out.data);
    assert_non_null(back);
    assert_true(cJSON_Compare(back, list, 1));

    cJSON_Delete(back);
    cJSON_Delete(list);
}


static void
test_write_yaml(void **state)
{
    fixture_t   *f = *state;
    cJSON       *list;
    const char  *y;

    f->pref.port = 8080;
    list = gw_status_build(f->g, NULL, NULL);
    cJSON_AddStringToObject(list, "t1", "");
    cJSON_AddStringToObject(list, "t2", "true");
    cJSON_AddStringToObject(list, "t3", "42");
    cJSON_AddStringToObject(list, "t4", " lead");
    cJSON_AddStringToObject(list, "t5", "say \"hi\"");
    cJSON_AddStringToObject(list, "t6", "plain words");
    cJSON_AddItemToObject(list, "t7", cJSON_CreateArray());
    cJSON_AddItemToObject(list, "t8", cJSON_CreateObject());
    cJSON_AddBoolToObject(list, "t9", 1);
    cJSON_AddStringToObject(list, "t10", "1.5e3");
    cJSON_AddStringToObject(list, "t11", "Null");

    assert_int_equal(gw_status_write(&f->out, list, "yaml", &f->err), GW_OK);
    y = f->out.data;

    assert_non_null(strstr(y, "apiVersion: v1\n"));
    assert_non_null(strstr(y, "kind: List\n"));
    assert_non_null(strstr(y, "items:\n- apiVersion: "
                              "gateway.networking.k8s.io/v1\n"
                              "  kind: GatewayClass\n"
                              "  metadata:\n"
                              "    name: nginx\n"
                              "    generation: 2\n"
                              "  status:\n"
                              "    conditions:\n"
                              "    - type: Accepted\n"
                              "      status: \"True\"\n"
                              "      reason: Accepted\n"
                              "      message: GatewayClass is accepted\n"
                              "      observedGeneration: 2\n"
                              "      lastTransitionTime: \""));
    assert_non_null(strstr(y, "  metadata:\n"
                              "    name: game-gateway\n"
                              "    namespace: default\n"
                              "    generation: 3\n"));
    assert_non_null(strstr(y, "    addresses:\n"
                              "    - type: IPAddress\n"
                              "      value: 127.0.0.1\n"));
    assert_non_null(strstr(y, "    listeners:\n"
                              "    - name: http\n"
                              "      supportedKinds:\n"
                              "      - group: gateway.networking.k8s.io\n"
                              "        kind: HTTPRoute\n"
                              "      attachedRoutes: 1\n"
                              "      conditions:\n"
                              "      - type: Accepted\n"));
    assert_non_null(strstr(y, "    parents:\n"
                              "    - parentRef:\n"
                              "        group: gateway.networking.k8s.io\n"
                              "        kind: Gateway\n"
                              "        name: game-gateway\n"
                              "        sectionName: http\n"
                              "        port: 8080\n"
                              "      controllerName: "
                              "gateway.nginx.org/ngx-gateway\n"));
    assert_non_null(strstr(y, "\nt1: \"\"\n"));
    assert_non_null(strstr(y, "\nt2: \"true\"\n"));
    assert_non_null(strstr(y, "\nt3: \"42\"\n"));
    assert_non_null(strstr(y, "\nt4: \" lead\"\n"));
    assert_non_null(strstr(y, "\nt5: \"say \\\"hi\\\"\"\n"));
    assert_non_null(strstr(y, "\nt6: plain words\n"));
    assert_non_null(strstr(y, "\nt7: []\n"));
    assert_non_null(strstr(y, "\nt8: {}\n"));
    assert_non_null(strstr(y, "\nt9: true\n"));
    assert_non_null(strstr(y, "\nt10: \"1.5e3\"\n"));
    assert_non_null(strstr(y, "\nt11: \"Null\"\n"));

    cJSON_Delete(list);
}


static void
test_write_describe(void **state)
{
    fixture_t   *f = *state;
    cJSON       *list;
    const char  *d;

    list = gw_status_build(f->g, NULL, NULL);

    assert_int_equal(gw_status_write(&f->out, list, "describe", &f->err),
                     GW_OK);
    d = f->out.data;

    assert_non_null(strstr(d, "Name:         nginx\n"
                              "Kind:         GatewayClass\n"
                              "Generation:   2\n"
                              "Status:\n"
                              "  Conditions:\n"
                              "    Type      Status  Reason    "
                              "Observed Generation  Message\n"
                              "    ----      ------  ------    "
                              "-------------------  -------\n"
                              "    Accepted  True    Accepted  "
                              "2                    "
                              "GatewayClass is accepted\n"
                              "  Supported Features: BackendTLSPolicy, "));
    assert_non_null(strstr(d, ", UDPRoute\n"
                              "\n"
                              "Name:         game-gateway\n"));
    assert_non_null(strstr(d, "Name:         game-gateway\n"
                              "Namespace:    default\n"
                              "Kind:         Gateway\n"
                              "Generation:   3\n"
                              "Status:\n"
                              "  Addresses:\n"
                              "    Type:   IPAddress\n"
                              "    Value:  127.0.0.1\n"
                              "  Conditions:\n"
                              "    Type        Status  Reason      "
                              "Observed Generation  Message\n"));
    assert_non_null(strstr(d, "    Accepted    True    Accepted    "
                              "3                    Gateway is accepted\n"));
    assert_non_null(strstr(d, "  Listeners:\n"
                              "    Name:             http\n"
                              "    Attached Routes:  1\n"
                              "    Supported Kinds:  HTTPRoute\n"
                              "    Conditions:\n"
                              "      Type          Status  Reason        "
                              "Observed Generation  Message\n"));
    assert_non_null(strstr(d, "Kind:         HTTPRoute\n"
                              "Generation:   5\n"
                              "Status:\n"
                              "  Parents:\n"
                              "    Parent Ref:       Gateway "
                              "default/game-gateway (sectionName http)\n"
                              "    Controller Name:  "
                              "gateway.nginx.org/ngx-gateway\n"
                              "    Conditions:\n"));

    cJSON_Delete(list);
}


static void
test_write_unknown(void **state)
{
    fixture_t  *f = *state;
    cJSON      *list;

    list = gw_status_build(f->g, NULL, NULL);

    assert_int_equal(gw_status_write(&f->out, list, "xml", &f->err), GW_ERR);
    assert_string_equal(f->err.msg,
                        "unknown output format \"xml\" "
                        "(json, yaml, describe)");

    cJSON_Delete(list);
}



static void
test_supported_features_sorted(void **state)
{
    int           n;
    fixture_t    *f = *state;
    cJSON        *list;
    const char   *prev, *name;
    const cJSON  *feats, *x;

    list = gw_status_build(f->g, NULL, NULL);
    feats = get(get(gw_status_find(list, "GatewayClass", NULL, "nginx"),
                    "status"), "supportedFeatures");

    /* the spec: sorted ascending, at most 64, objects with a name */
    n = cJSON_GetArraySize(feats);
    assert_true(n >= 1 && n <= 64);
    prev = "";
    cJSON_ArrayForEach(x, feats) {
        name = str(x, "name");
        assert_true(strcmp(prev, name) < 0);
        prev = name;
    }

    /* exactly the features the conformance replays prove */
    assert_int_equal(n, (int) gw_nsupported_features);
    assert_string_equal(str(cJSON_GetArrayItem(feats, 0), "name"),
                        gw_supported_features[0]);

    cJSON_Delete(list);
}

int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_supported_features_sorted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_address_and_port, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transition_time, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_not_programmed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_json, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_yaml, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_describe, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_write_unknown, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
