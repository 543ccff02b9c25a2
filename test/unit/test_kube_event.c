/*
 * Unit tests: Events with series (kube/event.c) over a fake client.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include <cjson/cJSON.h>

#include "fake_kube.h"
#include "kube/event.h"

static const gw_kube_ref_t  route = {
    "gateway.networking.k8s.io/v1", "HTTPRoute", "app", "web", "u-1"
};

static const gw_kube_ref_t  gclass = {
    "gateway.networking.k8s.io/v1", "GatewayClass", NULL, "nginx", NULL
};


static void
test_series(void **state)
{
    char               name[300];
    cJSON             *e;
    gw_kube_events_t  *ev;

    (void) state;

    ev = gw_kube_events_new(NULL, "gateway.nginx.org/ngx-gateway", "pod-a");

    gw_kube_event_post(ev, &route, "Warning", "BackendNotFound",
                       "service app/svc not found", "Reconcile");
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "POST");
    assert_string_equal(fake_reqs[0].path,
                        "/apis/events.k8s.io/v1/namespaces/app/events");
    e = cJSON_Parse(fake_reqs[0].body);
    assert_string_equal(cJSON_GetObjectItem(e, "reason")->valuestring,
                        "BackendNotFound");
    assert_string_equal(cJSON_GetObjectItem(e, "type")->valuestring,
                        "Warning");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(e,
                            "regarding"), "uid")->valuestring, "u-1");
    assert_non_null(cJSON_GetObjectItem(e, "eventTime"));
    assert_null(cJSON_GetObjectItem(e, "series"));
    snprintf(name, sizeof(name), "%s", cJSON_GetObjectItem(
                 cJSON_GetObjectItem(e, "metadata"), "name")->valuestring);
    assert_memory_equal(name, "web.", 4);
    cJSON_Delete(e);

    /* a repeat while the create is out: sent after it */
    fake_now += 1000;
    gw_kube_event_post(ev, &route, "Warning", "BackendNotFound",
                       "service app/svc not found", "Reconcile");
    assert_int_equal(fake_n, 1);
    fake_answer(0, 201, "{}");
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "PATCH");
    assert_string_equal(fake_reqs[0].content_type,
                        "application/merge-patch+json");
    assert_non_null(strstr(fake_reqs[0].path, name));
    assert_non_null(strstr(fake_reqs[0].body, "\"count\":2"));
    fake_answer(0, 200, "{}");

    fake_now += 60000;
    gw_kube_event_post(ev, &route, "Warning", "BackendNotFound",
                       "service app/svc not found", "Reconcile");
    assert_non_null(strstr(fake_reqs[0].body, "\"count\":3"));
    fake_answer(0, 200, "{}");

    /* another note: another Event; cluster-scoped: namespace default */
    gw_kube_event_post(ev, &route, "Warning", "BackendNotFound",
                       "service app/other not found", "Reconcile");
    gw_kube_event_post(ev, &gclass, "Normal", "Accepted", "accepted",
                       "Reconcile");
    assert_int_equal(fake_n, 2);
    assert_string_equal(fake_reqs[0].method, "POST");
    assert_string_equal(fake_reqs[1].path,
                        "/apis/events.k8s.io/v1/namespaces/default/events");
    fake_answer(0, 201, "{}");
    fake_answer(0, 201, "{}");

    /* 5 minutes later: a new Event */
    fake_now += 5 * 60 * 1000;
    gw_kube_event_post(ev, &route, "Warning", "BackendNotFound",
                       "service app/svc not found", "Reconcile");
    assert_string_equal(fake_reqs[0].method, "POST");
    fake_answer(0, 201, "{}");

    gw_kube_events_free(ev);
}


static void
test_bounded(void **state)
{
    int                i;
    char               note[64];
    gw_kube_events_t  *ev;

    (void) state;

    ev = gw_kube_events_new(NULL, "gateway.nginx.org/ngx-gateway", "pod-a");

    for (i = 0; i < 1000; i++) {
        snprintf(note, sizeof(note), "note %d", i);
        gw_kube_event_post(ev, &route, "Normal", "Reloaded", note, "Reload");
        assert_int_equal(fake_n, 1);
        fake_answer(0, 201, "{}");
    }

    /* the oldest were forgotten: a repeat of the first is a new Event */
    gw_kube_event_post(ev, &route, "Normal", "Reloaded", "note 0", "Reload");
    assert_string_equal(fake_reqs[0].method, "POST");

    /* freed with a request out */
    gw_kube_events_free(ev);
    fake_answer(0, 201, "{}");
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_series),
        cmocka_unit_test(test_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
