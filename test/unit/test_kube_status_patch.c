/*
 * Unit tests: the status subresource merge patch (kube/status_patch.c).
 * JSON fixtures are written with single quotes for readability.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "kube/status_patch.h"


#define OURS     "gateway.nginx.org/ngx-gateway"
#define OLD      "2020-01-01T00:00:00Z"
#define NOW      "2030-01-01T00:00:00Z"

#define COND(type, status, reason, ltt)                                       \
    "{'type':'" type "','status':'" status "','reason':'" reason "',"         \
    "'message':'','observedGeneration':2,'lastTransitionTime':'" ltt "'}"

#define REF(name)                                                             \
    "{'group':'gateway.networking.k8s.io','kind':'Gateway',"                  \
    "'namespace':'infra','name':'" name "'}"

#define PARENT(ctl, name, status, ltt)                                        \
    "{'parentRef':" REF(name) ",'controllerName':'" ctl "',"                  \
    "'conditions':[" COND("Accepted", status, "Accepted", ltt) "]}"

#define ROUTE(parents)                                                        \
    "{'apiVersion':'gateway.networking.k8s.io/v1','kind':'HTTPRoute',"        \
    "'metadata':{'name':'r','namespace':'app','generation':2,"                \
    "'resourceVersion':'41'},'status':{'parents':[" parents "]}}"

#define ANCESTOR(ctl, name, status, ltt)                                      \
    "{'ancestorRef':" REF(name) ",'controllerName':'" ctl "',"                \
    "'conditions':[" COND("Accepted", status, "Accepted", ltt) "]}"

#define POLICY(ancestors)                                                     \
    "{'apiVersion':'gateway.networking.k8s.io/v1',"                           \
    "'kind':'BackendTLSPolicy',"                                              \
    "'metadata':{'name':'p','namespace':'app','generation':2,"                \
    "'resourceVersion':'9'},'status':{'ancestors':[" ancestors "]}}"

#define GATEWAY(conds, lconds)                                                \
    "{'apiVersion':'gateway.networking.k8s.io/v1','kind':'Gateway',"          \
    "'metadata':{'name':'gw','namespace':'infra','generation':2,"             \
    "'resourceVersion':'7'},'status':{"                                       \
    "'addresses':[{'type':'IPAddress','value':'10.0.0.1'}],"                  \
    "'conditions':[" conds "],"                                               \
    "'listeners':[{'name':'http','attachedRoutes':1,'supportedKinds':"        \
    "[{'group':'gateway.networking.k8s.io','kind':'HTTPRoute'}],"             \
    "'conditions':[" lconds "]}]}}"


/* Parses JSON written with ' for ". */
static cJSON *
json(const char *s)
{
    char   *p, *q;
    cJSON  *v;

    p = strdup(s);
    for (q = p; *q != '\0'; q++) {
        if (*q == '\'') {
            *q = '"';
        }
    }

    v = cJSON_Parse(p);
    free(p);

    if (v == NULL) {
        fail_msg("bad fixture: %s", s);
    }

    return v;
}


/* The patch for live and desired given as text; NULL when none. */
static cJSON *
patch_of(const char *live, const char *desired)
{
    cJSON  *l, *d, *p;

    l = json(live);
    d = json(desired);
    p = gw_kube_status_patch(l, d, OURS);
    cJSON_Delete(l);
    cJSON_Delete(d);

    return p;
}


static const char *
path_str(const cJSON *v, const char *path)
{
    char         key[64];
    size_t       n;
    const char  *dot;

    while ((dot = strchr(path, '.')) != NULL) {
        n = (size_t) (dot - path);
        memcpy(key, path, n);
        key[n] = '\0';
        v = cJSON_GetObjectItemCaseSensitive(v, key);
        path = dot + 1;
    }

    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(v, path));
}


static void
test_gateway_no_change(void **state)
{
    (void) state;

    /* equal but for lastTransitionTime: nothing to write */
    assert_null(patch_of(
        GATEWAY(COND("Accepted", "True", "Accepted", OLD) ","
                COND("Programmed", "True", "Programmed", OLD),
                COND("Accepted", "True", "Accepted", OLD)),
        GATEWAY(COND("Accepted", "True", "Accepted", NOW) ","
                COND("Programmed", "True", "Programmed", NOW),
                COND("Accepted", "True", "Accepted", NOW))));
}


static void
test_gateway_condition_change(void **state)
{
    cJSON        *p;
    const cJSON  *conds, *c;

    (void) state;

    p = patch_of(
        GATEWAY(COND("Accepted", "True", "Accepted", OLD) ","
                COND("Programmed", "True", "Programmed", OLD),
                COND("Accepted", "True", "Accepted", OLD)),
        GATEWAY(COND("Accepted", "True", "Accepted", NOW) ","
                COND("Programmed", "False", "Invalid", NOW),
                COND("Accepted", "True", "Accepted", NOW)));
    assert_non_null(p);

    /* the precondition */
    assert_string_equal(path_str(p, "metadata.resourceVersion"), "7");

    conds = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"),
                                "conditions");
    assert_int_equal(cJSON_GetArraySize(conds), 2);

    /* unchanged condition: the live time; changed: the new time */
    c = cJSON_GetArrayItem(conds, 0);
    assert_string_equal(path_str(c, "type"), "Accepted");
    assert_string_equal(path_str(c, "lastTransitionTime"), OLD);
    c = cJSON_GetArrayItem(conds, 1);
    assert_string_equal(path_str(c, "type"), "Programmed");
    assert_string_equal(path_str(c, "status"), "False");
    assert_string_equal(path_str(c, "reason"), "Invalid");
    assert_string_equal(path_str(c, "lastTransitionTime"), NOW);

    /* listener conditions keep their live time too */
    c = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "listeners");
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(c, 0),
                                               "conditions"), 0);
    assert_string_equal(path_str(c, "lastTransitionTime"), OLD);

    /* only the status and the precondition are sent */
    assert_int_equal(cJSON_GetArraySize(p), 2);

    cJSON_Delete(p);
}


static void
test_gateway_field_removed(void **state)
{
    cJSON  *p;

    (void) state;

    /* we no longer report an address: the patch removes it */
    p = patch_of(
        GATEWAY(COND("Accepted", "True", "Accepted", OLD),
                COND("Accepted", "True", "Accepted", OLD)),
        "{'kind':'Gateway','status':{"
        "'conditions':[" COND("Accepted", "True", "Accepted", NOW) "],"
        "'listeners':[{'name':'http','attachedRoutes':1,'supportedKinds':"
        "[{'group':'gateway.networking.k8s.io','kind':'HTTPRoute'}],"
        "'conditions':[" COND("Accepted", "True", "Accepted", NOW) "]}]}}");
    assert_non_null(p);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(
                    cJSON_GetObjectItem(p, "status"), "addresses")));
    cJSON_Delete(p);
}


static void
test_class_first_write(void **state)
{
    cJSON        *p;
    const cJSON  *c;

    (void) state;

    /* what the CRD defaults to, before any controller wrote */
    p = patch_of(
        "{'kind':'GatewayClass','metadata':{'name':'nginx',"
        "'resourceVersion':'3'},'status':{'conditions':["
        COND("Accepted", "Unknown", "Pending", OLD) "]}}",
        "{'kind':'GatewayClass','metadata':{'name':'nginx'},"
        "'status':{'conditions':[" COND("Accepted", "True", "Accepted", NOW)
        "]}}");
    assert_non_null(p);
    c = cJSON_GetArrayItem(cJSON_GetObjectItem(
            cJSON_GetObjectItem(p, "status"), "conditions"), 0);
    assert_string_equal(path_str(c, "status"), "True");
    assert_string_equal(path_str(c, "lastTransitionTime"), NOW);
    assert_string_equal(path_str(p, "metadata.resourceVersion"), "3");
    cJSON_Delete(p);
}


static void
test_route_no_change(void **state)
{
    (void) state;

    assert_null(patch_of(
        ROUTE(PARENT("other.io/ctl", "a", "False", OLD) ","
              PARENT(OURS, "b", "True", OLD)),
        ROUTE(PARENT(OURS, "b", "True", NOW))));

    /* nothing live, nothing desired */
    assert_null(patch_of(
        "{'kind':'HTTPRoute','metadata':{'name':'r','namespace':'app'}}",
        ROUTE("")));
}


static void
test_route_other_parents_kept(void **state)
{
    cJSON        *p;
    const cJSON  *ps;

    (void) state;

    p = patch_of(
        ROUTE(PARENT("x.io/ctl", "a", "True", OLD) ","
              PARENT(OURS, "b", "True", OLD) ","
              PARENT("y.io/ctl", "c", "False", OLD)),
        ROUTE(PARENT(OURS, "b", "False", NOW)));
    assert_non_null(p);
    assert_string_equal(path_str(p, "metadata.resourceVersion"), "41");

    ps = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "parents");
    assert_int_equal(cJSON_GetArraySize(ps), 3);

    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 0), "controllerName"),
                        "x.io/ctl");
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 0), "parentRef.name"),
                        "a");
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 1), "controllerName"),
                        OURS);
    assert_string_equal(
        path_str(cJSON_GetArrayItem(cJSON_GetObjectItem(
                     cJSON_GetArrayItem(ps, 1), "conditions"), 0), "status"),
        "False");
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 2), "controllerName"),
                        "y.io/ctl");
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 2), "parentRef.name"),
                        "c");

    cJSON_Delete(p);
}


static void
test_route_stale_parent_removed(void **state)
{
    cJSON        *p;
    const cJSON  *ps;

    (void) state;

    /* the route no longer references gw "a" */
    p = patch_of(
        ROUTE(PARENT(OURS, "a", "True", OLD) ","
              PARENT("x.io/ctl", "a", "True", OLD) ","
              PARENT(OURS, "b", "True", OLD)),
        ROUTE(PARENT(OURS, "b", "True", NOW)));
    assert_non_null(p);

    ps = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "parents");
    assert_int_equal(cJSON_GetArraySize(ps), 2);
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 0), "controllerName"),
                        "x.io/ctl");
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 1), "controllerName"),
                        OURS);
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 1), "parentRef.name"),
                        "b");

    /* and the entry kept its time */
    assert_string_equal(
        path_str(cJSON_GetArrayItem(cJSON_GetObjectItem(
                     cJSON_GetArrayItem(ps, 1), "conditions"), 0),
                 "lastTransitionTime"),
        OLD);

    cJSON_Delete(p);
}


static void
test_route_new_parent_appended(void **state)
{
    cJSON        *p;
    const cJSON  *ps;

    (void) state;

    /* a parentRef written without defaults still matches ours */
    p = patch_of(
        ROUTE("{'parentRef':{'name':'b','namespace':'infra'},"
              "'controllerName':'" OURS "','conditions':["
              COND("Accepted", "True", "Accepted", OLD) "]},"
              PARENT("x.io/ctl", "a", "True", OLD)),
        ROUTE(PARENT(OURS, "b", "True", NOW) ","
              PARENT(OURS, "c", "True", NOW)));
    assert_non_null(p);

    ps = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "parents");
    assert_int_equal(cJSON_GetArraySize(ps), 3);
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 0), "parentRef.name"),
                        "b");
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 0),
                                 "parentRef.group"),
                        "gateway.networking.k8s.io");
    assert_string_equal(
        path_str(cJSON_GetArrayItem(cJSON_GetObjectItem(
                     cJSON_GetArrayItem(ps, 0), "conditions"), 0),
                 "lastTransitionTime"),
        OLD);
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 1), "controllerName"),
                        "x.io/ctl");
    assert_string_equal(path_str(cJSON_GetArrayItem(ps, 2), "parentRef.name"),
                        "c");
    assert_string_equal(
        path_str(cJSON_GetArrayItem(cJSON_GetObjectItem(
                     cJSON_GetArrayItem(ps, 2), "conditions"), 0),
                 "lastTransitionTime"),
        NOW);

    cJSON_Delete(p);
}


static void
test_route_all_ours_gone(void **state)
{
    cJSON  *p;

    (void) state;

    /* the route left our Gateways: only the other controller's entry */
    p = patch_of(ROUTE(PARENT(OURS, "a", "True", OLD) ","
                       PARENT("x.io/ctl", "a", "True", OLD)),
                 ROUTE(""));
    assert_non_null(p);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
                         cJSON_GetObjectItem(p, "status"), "parents")), 1);
    cJSON_Delete(p);
}


/* BackendTLSPolicy: ancestors, as route parents, ours only. */
static void
test_policy_other_ancestors_kept(void **state)
{
    cJSON        *p;
    const cJSON  *as;

    (void) state;

    assert_null(patch_of(POLICY(ANCESTOR(OURS, "b", "True", OLD)),
                         POLICY(ANCESTOR(OURS, "b", "True", NOW))));

    p = patch_of(
        POLICY(ANCESTOR("x.io/ctl", "a", "True", OLD) ","
               ANCESTOR(OURS, "b", "True", OLD)),
        POLICY(ANCESTOR(OURS, "b", "False", NOW)));
    assert_non_null(p);
    assert_string_equal(path_str(p, "metadata.resourceVersion"), "9");

    as = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "status"), "ancestors");
    assert_int_equal(cJSON_GetArraySize(as), 2);
    assert_string_equal(path_str(cJSON_GetArrayItem(as, 0), "controllerName"),
                        "x.io/ctl");
    assert_string_equal(path_str(cJSON_GetArrayItem(as, 1),
                                 "ancestorRef.name"), "b");
    assert_string_equal(
        path_str(cJSON_GetArrayItem(cJSON_GetObjectItem(
                     cJSON_GetArrayItem(as, 1), "conditions"), 0), "status"),
        "False");

    cJSON_Delete(p);
}


static void
test_status_path(void **state)
{
    char      buf[256];
    gw_err_t  err;

    (void) state;

    assert_int_equal(gw_kube_status_path(buf, sizeof(buf),
                         "gateway.networking.k8s.io/v1", "GatewayClass",
                         NULL, "nginx", &err), GW_OK);
    assert_string_equal(buf,
        "/apis/gateway.networking.k8s.io/v1/gatewayclasses/nginx");

    assert_int_equal(gw_kube_status_path(buf, sizeof(buf),
                         "gateway.networking.k8s.io/v1alpha2", "TCPRoute",
                         "app", "db", &err), GW_OK);
    assert_string_equal(buf,
        "/apis/gateway.networking.k8s.io/v1alpha2/namespaces/app/"
        "tcproutes/db");

    assert_int_equal(gw_kube_status_path(buf, sizeof(buf), NULL, "HTTPRoute",
                         "app", "r", &err), GW_OK);
    assert_string_equal(buf,
        "/apis/gateway.networking.k8s.io/v1/namespaces/app/httproutes/r");

    assert_int_equal(gw_kube_status_path(buf, sizeof(buf), NULL,
                         "BackendTLSPolicy", "app", "p", &err), GW_OK);
    assert_string_equal(buf,
        "/apis/gateway.networking.k8s.io/v1/namespaces/app/"
        "backendtlspolicies/p");

    /* refused: unknown kind, names that would change the path */
    assert_int_equal(gw_kube_status_path(buf, sizeof(buf), NULL, "Service",
                         "app", "r", &err), GW_ERR);
    assert_int_equal(gw_kube_status_path(buf, sizeof(buf), NULL, "HTTPRoute",
                         "app", "../x", &err), GW_ERR);
    assert_int_equal(gw_kube_status_path(buf, sizeof(buf), NULL, "Gateway",
                         NULL, "gw", &err), GW_ERR);
    assert_int_equal(gw_kube_status_path(buf, sizeof(buf), "v1", "Gateway",
                         "infra", "gw", &err), GW_ERR);
    assert_int_equal(gw_kube_status_path(buf, 20, NULL, "Gateway",
                         "infra", "gw", &err), GW_ERR);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_gateway_no_change),
        cmocka_unit_test(test_gateway_condition_change),
        cmocka_unit_test(test_gateway_field_removed),
        cmocka_unit_test(test_class_first_write),
        cmocka_unit_test(test_route_no_change),
        cmocka_unit_test(test_route_other_parents_kept),
        cmocka_unit_test(test_route_stale_parent_removed),
        cmocka_unit_test(test_route_new_parent_appended),
        cmocka_unit_test(test_route_all_ours_gone),
        cmocka_unit_test(test_policy_other_ancestors_kept),
        cmocka_unit_test(test_status_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
