/*
 * Unit tests: the leader election driver (kube/lease.c) over a fake
 * client.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "fake_kube.h"
#include <cjson/cJSON.h>

#include "kube/lease.h"

static int  changes[16];
static int  nchanges;

static void
on_change(void *data, int is_leader)
{
    (void) data;
    changes[nchanges++] = is_leader;
}

/* The Lease as the API server would answer, from the request body. */
static char *
echo_lease(const char *body, const char *rv)
{
    char   *s;
    cJSON  *obj, *meta;

    obj = cJSON_Parse(body);
    meta = cJSON_GetObjectItem(obj, "metadata");
    cJSON_DeleteItemFromObject(meta, "resourceVersion");
    cJSON_AddStringToObject(meta, "resourceVersion", rv);
    s = cJSON_PrintUnformatted(obj);
    cJSON_Delete(obj);

    return s;
}

static const char *
spec_str(const char *body, const char *key, char *buf, size_t size)
{
    cJSON       *obj;
    const char  *v;

    obj = cJSON_Parse(body);
    v = cJSON_GetStringValue(cJSON_GetObjectItem(
            cJSON_GetObjectItem(obj, "spec"), key));
    snprintf(buf, size, "%s", v ? v : "(none)");
    cJSON_Delete(obj);

    return buf;
}


static void
test_driver(void **state)
{
    char                  *s, buf[256];
    gw_err_t               err;
    gw_kube_lease_t       *l;
    gw_kube_lease_conf_t   conf;

    (void) state;

    memset(&conf, 0, sizeof(conf));
    conf.name = "ngx-gateway";
    conf.namespace = "gw-system";
    conf.identity = "pod-a";
    conf.on_change = on_change;

    l = gw_kube_lease_new(NULL, &conf, &err);
    assert_non_null(l);

    gw_kube_lease_tick(l);
    assert_int_equal(fake_n, 1);
    assert_int_equal(gw_kube_lease_timeout_ms(l), -1);   /* no spinning */
    assert_string_equal(fake_reqs[0].method, "GET");
    assert_string_equal(fake_reqs[0].path,
        "/apis/coordination.k8s.io/v1/namespaces/gw-system/leases/"
        "ngx-gateway");

    /* none: create it */
    fake_answer(0, 404, "{}");
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "POST");
    assert_string_equal(fake_reqs[0].path,
        "/apis/coordination.k8s.io/v1/namespaces/gw-system/leases");
    assert_string_equal(spec_str(fake_reqs[0].body, "holderIdentity", buf,
                                 sizeof(buf)), "pod-a");
    s = echo_lease(fake_reqs[0].body, "1");
    fake_answer(0, 201, s);
    free(s);

    assert_true(gw_kube_lease_is_leader(l));
    assert_int_equal(nchanges, 1);
    assert_int_equal(changes[0], 1);

    /* renew after the retry period, on the version we wrote */
    gw_kube_lease_tick(l);
    assert_int_equal(fake_n, 0);
    assert_int_equal(gw_kube_lease_timeout_ms(l), 2000);
    fake_now += 2000;
    gw_kube_lease_tick(l);
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "PUT");
    assert_non_null(strstr(fake_reqs[0].body, "\"resourceVersion\":\"1\""));
    s = echo_lease(fake_reqs[0].body, "2");
    fake_answer(0, 200, s);
    free(s);

    /* the API server goes away: leading until the renew deadline */
    fake_now += 2000;
    gw_kube_lease_tick(l);
    fake_answer(0, 0, NULL);
    assert_true(gw_kube_lease_is_leader(l));
    fake_now += 2000;
    gw_kube_lease_tick(l);
    assert_string_equal(fake_reqs[0].method, "GET");
    fake_answer(0, 503, NULL);
    fake_now += 5999;               /* 9.999 s after the last renewal */
    gw_kube_lease_tick(l);
    fake_answer(0, 0, NULL);
    assert_true(gw_kube_lease_is_leader(l));
    fake_now += 1;
    gw_kube_lease_tick(l);
    assert_false(gw_kube_lease_is_leader(l));
    assert_int_equal(nchanges, 2);
    assert_int_equal(changes[1], 0);

    /* and looks again as a candidate, by GET */
    fake_now += 2000;
    gw_kube_lease_tick(l);
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "GET");
    fake_answer(0, 0, NULL);

    gw_kube_lease_free(l);
}


static void
test_release(void **state)
{
    char                  *s, buf[256];
    gw_err_t               err;
    gw_kube_lease_t       *l;
    gw_kube_lease_conf_t   conf;

    (void) state;

    nchanges = 0;
    memset(&conf, 0, sizeof(conf));
    conf.name = "ngx-gateway";
    conf.namespace = "gw-system";
    conf.identity = "pod-a";
    conf.on_change = on_change;

    l = gw_kube_lease_new(NULL, &conf, &err);

    /* a Lease released by someone else: taken at once */
    gw_kube_lease_tick(l);
    fake_answer(0, 200,
        "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\","
        "\"metadata\":{\"name\":\"ngx-gateway\",\"namespace\":\"gw-system\","
        "\"resourceVersion\":\"7\",\"labels\":{\"team\":\"net\"}},"
        "\"spec\":{\"holderIdentity\":\"\",\"leaseDurationSeconds\":1,"
        "\"leaseTransitions\":3}}");
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "PUT");
    assert_non_null(strstr(fake_reqs[0].body, "\"resourceVersion\":\"7\""));
    assert_non_null(strstr(fake_reqs[0].body, "\"team\":\"net\""));
    assert_non_null(strstr(fake_reqs[0].body, "\"leaseTransitions\":4"));
    s = echo_lease(fake_reqs[0].body, "8");
    fake_answer(0, 200, s);
    free(s);
    assert_true(gw_kube_lease_is_leader(l));

    /* shutdown with a renewal out: stop leading now, release after it */
    fake_now += 2000;
    gw_kube_lease_tick(l);
    assert_int_equal(fake_n, 1);
    gw_kube_lease_release(l);
    assert_false(gw_kube_lease_is_leader(l));
    assert_int_equal(changes[nchanges - 1], 0);
    assert_true(gw_kube_lease_busy(l));

    s = echo_lease(fake_reqs[0].body, "9");
    fake_answer(0, 200, s);
    free(s);
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "PUT");
    assert_non_null(strstr(fake_reqs[0].body, "\"resourceVersion\":\"9\""));
    assert_string_equal(spec_str(fake_reqs[0].body, "holderIdentity", buf,
                                 sizeof(buf)), "");
    fake_answer(0, 200, "{}");
    assert_false(gw_kube_lease_busy(l));
    assert_false(gw_kube_lease_is_leader(l));

    /* stopped: no more requests */
    fake_now += 60000;
    gw_kube_lease_tick(l);
    assert_int_equal(fake_n, 0);
    gw_kube_lease_free(l);
}


static void
test_lost_race(void **state)
{
    gw_err_t               err;
    gw_kube_lease_t       *l;
    gw_kube_lease_conf_t   conf;

    (void) state;

    memset(&conf, 0, sizeof(conf));
    conf.name = "ngx-gateway";
    conf.namespace = "gw-system";
    conf.identity = "pod-a";

    l = gw_kube_lease_new(NULL, &conf, &err);
    gw_kube_lease_tick(l);
    fake_answer(0, 404, NULL);
    fake_answer(0, 409, "{\"reason\":\"AlreadyExists\"}");
    assert_false(gw_kube_lease_is_leader(l));
    assert_int_equal(fake_n, 0);

    /* next look: held by the winner, so we wait */
    fake_now += 2000;
    gw_kube_lease_tick(l);
    fake_answer(0, 200,
        "{\"metadata\":{\"resourceVersion\":\"3\"},\"spec\":{"
        "\"holderIdentity\":\"pod-b\",\"leaseDurationSeconds\":15,"
        "\"renewTime\":\"2020-01-01T00:00:00.000000Z\"}}");
    assert_int_equal(fake_n, 0);
    assert_false(gw_kube_lease_is_leader(l));
    gw_kube_lease_free(l);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_driver),
        cmocka_unit_test(test_release),
        cmocka_unit_test(test_lost_race),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
