/*
 * ngx-gateway unit tests: decoding (defaults, schema refusals) and the
 * store (change detection, order).
 */

#include <stdio.h>

#include "gw_test_util.h"


static gw_obj_t *
gw_decode_str(const char *json, gw_err_t *err)
{
    gw_obj_t  *obj;

    if (gw_obj_decode(cJSON_Parse(json), "t", &obj, err) != GW_OK) {
        return NULL;
    }

    return obj;
}


static void
test_decode_defaults(void **state)
{
    gw_err_t   err;
    gw_obj_t  *obj;

    (void) state;

    obj = gw_decode_str("{\"apiVersion\":\"gateway.networking.k8s.io/v1\","
                        "\"kind\":\"HTTPRoute\",\"metadata\":{\"name\":\"r\"},"
                        "\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}]}}",
                        &err);
    assert_non_null(obj);
    assert_string_equal(obj->meta.namespace, "default");
    assert_int_equal(obj->meta.generation, 1);
    assert_string_equal(obj->u.httproute.parents[0].kind, "Gateway");
    assert_string_equal(obj->u.httproute.parents[0].group, GW_GROUP);
    assert_int_equal(obj->u.httproute.nrules, 1);
    assert_int_equal(obj->u.httproute.rules[0].matches[0].path_type,
                     GW_PATH_PREFIX);
    assert_string_equal(obj->u.httproute.rules[0].matches[0].path, "/");
    gw_obj_free(obj);

    /* the API server labels every namespace with its name */
    obj = gw_decode_str("{\"apiVersion\":\"v1\",\"kind\":\"Namespace\","
                        "\"metadata\":{\"name\":\"team\"}}", &err);
    assert_non_null(obj);
    assert_string_equal(gw_labels_get(&obj->meta,
                                      "kubernetes.io/metadata.name"),
                        "team");
    gw_obj_free(obj);
}


static void
test_decode_refusals(void **state)
{
    gw_err_t  err;

    (void) state;

    assert_null(gw_decode_str("{\"apiVersion\":\"gateway.networking.k8s.io/"
                              "v1\",\"kind\":\"Gateway\",\"metadata\":{"
                              "\"name\":\"g\"},\"spec\":{\"gatewayClassName\":"
                              "\"c\",\"listeners\":[{\"name\":\"a\",\"port\":"
                              "70000,\"protocol\":\"HTTP\"}]}}", &err));
    assert_non_null(strstr(err.msg, "spec.listeners[0].port"));

    assert_null(gw_decode_str("{\"apiVersion\":\"gateway.networking.k8s.io/"
                              "v1\",\"kind\":\"HTTPRoute\",\"metadata\":{"
                              "\"name\":\"r\"},\"spec\":{\"rules\":[{"
                              "\"matches\":[{\"path\":{\"value\":\"/a//b\""
                              "}}]}]}}", &err));
    assert_non_null(strstr(err.msg, "spec.rules[0].matches[0].path.value"));

    assert_null(gw_decode_str("{\"apiVersion\":\"gateway.networking.k8s.io/"
                              "v1\",\"kind\":\"HTTPRoute\",\"metadata\":{"
                              "\"name\":\"r\"},\"spec\":{\"rules\":[{"
                              "\"backendRefs\":[{\"name\":\"s\"}]}]}}", &err));
    assert_non_null(strstr(err.msg, "Must have port for Service"));

    assert_null(gw_decode_str("{\"apiVersion\":\"apps/v1\",\"kind\":"
                              "\"Deployment\",\"metadata\":{\"name\":\"d\"}}",
                              &err));
    assert_non_null(strstr(err.msg, "unsupported kind"));

    /* names as the API server checks them: nginx syntax never gets in */
    assert_null(gw_decode_str("{\"apiVersion\":\"gateway.networking.k8s.io/"
                              "v1\",\"kind\":\"HTTPRoute\",\"metadata\":{"
                              "\"name\":\"r;}\"},\"spec\":{}}", &err));
    assert_non_null(strstr(err.msg, "metadata.name: Invalid value"));

    assert_null(gw_decode_str("{\"apiVersion\":\"v1\",\"kind\":\"Secret\","
                              "\"metadata\":{\"name\":\"s\",\"namespace\":"
                              "\"../x\"}}", &err));
    assert_non_null(strstr(err.msg, "metadata.namespace: Invalid value"));
}


static void
test_store_changes(void **state)
{
    gw_err_t     err;
    gw_store_t   s;
    gw_obj_t    *obj;
    static const char  svc[] =
        "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
        "\"%s\",\"namespace\":\"ns\",\"resourceVersion\":\"%d\"},\"spec\":{"
        "\"ports\":[{\"port\":%d}]},\"status\":{\"x\":%d}}";
    char         json[512];

    (void) state;
    gw_store_init(&s);

    snprintf(json, sizeof(json), svc, "b", 1, 80, 1);
    assert_int_equal(gw_store_put(&s, gw_decode_str(json, &err), NULL), 1);

    /* only resourceVersion and status differ: nothing we read changed */
    snprintf(json, sizeof(json), svc, "b", 2, 80, 2);
    assert_int_equal(gw_store_put(&s, gw_decode_str(json, &err), NULL), 0);

    snprintf(json, sizeof(json), svc, "b", 3, 81, 2);
    assert_int_equal(gw_store_put(&s, gw_decode_str(json, &err), NULL), 1);

    snprintf(json, sizeof(json), svc, "a", 1, 80, 1);
    assert_int_equal(gw_store_put(&s, gw_decode_str(json, &err), NULL), 1);

    /* sorted by namespace/name */
    obj = gw_store_list(&s, GW_KIND_SERVICE)->items[0];
    assert_string_equal(obj->meta.name, "a");
    assert_non_null(gw_store_get(&s, GW_KIND_SERVICE, "ns", "b"));
    assert_int_equal(gw_store_delete(&s, GW_KIND_SERVICE, "ns", "b"), 1);
    assert_null(gw_store_get(&s, GW_KIND_SERVICE, "ns", "b"));
    assert_int_equal(gw_store_count(&s), 1);

    gw_store_release(&s);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_decode_defaults),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_store_changes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
