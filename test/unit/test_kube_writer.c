/*
 * Unit tests: the status writer (kube/writer.c) over a fake client.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "fake_kube.h"
#include "kube/writer.h"

#define OURS  "gateway.nginx.org/ngx-gateway"

#define LIVE(name, rv, status)                                                \
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","  \
    "\"metadata\":{\"name\":\"" name "\",\"namespace\":\"infra\","            \
    "\"resourceVersion\":\"" rv "\"},\"status\":{\"conditions\":[{"           \
    "\"type\":\"Accepted\",\"status\":\"" status "\"}]}}"

#define ITEM(name, status)                                                    \
    "{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"Gateway\","  \
    "\"metadata\":{\"name\":\"" name "\",\"namespace\":\"infra\"},"           \
    "\"status\":{\"conditions\":[{"                                           \
    "\"type\":\"Accepted\",\"status\":\"" status "\"}]}}"

/* The informer cache: up to 32 Gateways in infra. */
static cJSON  *cache[32];
static int     ncache;

static const cJSON *
lookup(void *data, const char *kind, const char *ns, const char *name)
{
    int          i;
    const cJSON  *meta;

    (void) data;

    for (i = 0; i < ncache; i++) {
        meta = cJSON_GetObjectItem(cache[i], "metadata");
        if (strcmp(kind, "Gateway") == 0 && strcmp(ns, "infra") == 0
            && strcmp(cJSON_GetObjectItem(meta, "name")->valuestring, name)
               == 0)
        {
            return cache[i];
        }
    }

    return NULL;
}

static void
cache_put(const char *json)
{
    cache[ncache++] = cJSON_Parse(json);
}

static cJSON *
list_of(const char *items)
{
    char  buf[8192];

    snprintf(buf, sizeof(buf),
             "{\"apiVersion\":\"v1\",\"kind\":\"List\",\"items\":[%s]}",
             items);
    return cJSON_Parse(buf);
}

static void
submit(gw_kube_writer_t *w, const char *items)
{
    cJSON  *l;

    l = list_of(items);
    gw_kube_writer_submit(w, l);
    cJSON_Delete(l);
}

static int
teardown(void **state)
{
    (void) state;

    while (ncache > 0) {
        cJSON_Delete(cache[--ncache]);
    }

    assert_int_equal(fake_n, 0);
    return 0;
}


static void
test_patch_only_what_differs(void **state)
{
    gw_kube_writer_t        *w;
    gw_kube_writer_stats_t   st;

    (void) state;

    cache_put(LIVE("a", "10", "True"));
    cache_put(LIVE("b", "11", "Unknown"));

    w = gw_kube_writer_new(NULL, OURS, lookup, NULL);
    submit(w, ITEM("a", "True") "," ITEM("b", "True"));
    gw_kube_writer_tick(w);

    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "PATCH");
    assert_string_equal(fake_reqs[0].path,
        "/apis/gateway.networking.k8s.io/v1/namespaces/infra/gateways/b/"
        "status");
    assert_string_equal(fake_reqs[0].content_type,
                        "application/merge-patch+json");
    assert_non_null(strstr(fake_reqs[0].body, "\"resourceVersion\":\"11\""));
    assert_non_null(strstr(fake_reqs[0].body, "\"status\":\"True\""));

    fake_answer(0, 200, LIVE("b", "12", "True"));
    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.ok, 1);
    assert_int_equal(st.queued, 0);
    assert_int_equal(st.in_flight, 0);
    assert_int_equal(gw_kube_writer_timeout_ms(w), -1);

    gw_kube_writer_free(w);
}


static void
test_conflict_refetch(void **state)
{
    gw_kube_writer_t        *w;
    gw_kube_writer_stats_t   st;

    (void) state;

    cache_put(LIVE("a", "10", "Unknown"));

    w = gw_kube_writer_new(NULL, OURS, lookup, NULL);
    submit(w, ITEM("a", "True"));
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 1);

    /* stale: the writer reads the object afresh */
    fake_answer(0, 409, "{\"kind\":\"Status\",\"reason\":\"Conflict\"}");
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "GET");
    assert_string_equal(fake_reqs[0].path,
        "/apis/gateway.networking.k8s.io/v1/namespaces/infra/gateways/a");

    /* someone changed it, still not our status: patch on the new version */
    fake_answer(0, 200, LIVE("a", "15", "False"));
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 1);
    assert_string_equal(fake_reqs[0].method, "PATCH");
    assert_non_null(strstr(fake_reqs[0].body, "\"resourceVersion\":\"15\""));
    fake_answer(0, 409, NULL);

    /* this time the fresh object already has our status: nothing sent */
    fake_answer(0, 200, LIVE("a", "16", "True"));
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 0);

    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.conflicts, 2);
    assert_int_equal(st.queued, 0);
    gw_kube_writer_free(w);
}


static void
test_gone_and_retry(void **state)
{
    gw_kube_writer_t        *w;
    gw_kube_writer_stats_t   st;

    (void) state;

    cache_put(LIVE("a", "10", "Unknown"));
    cache_put(LIVE("b", "10", "Unknown"));

    w = gw_kube_writer_new(NULL, OURS, lookup, NULL);
    submit(w, ITEM("a", "True") "," ITEM("b", "True"));
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 2);

    fake_answer(0, 404, NULL);                  /* a: deleted meanwhile */
    fake_answer(0, 503, "{\"message\":\"etcd busy\"}");   /* b: retry */

    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 0);                /* backing off */
    assert_true(gw_kube_writer_timeout_ms(w) > 0);

    fake_now += 500;
    assert_int_equal(gw_kube_writer_timeout_ms(w), 0);
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 1);
    assert_non_null(strstr(fake_reqs[0].path, "/gateways/b/status"));

    fake_answer(0, 0, NULL);                    /* no answer: longer */
    fake_now += 500;
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 0);
    fake_now += 500;
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 1);

    /* a refusal that would not change is dropped */
    fake_answer(0, 422, "{\"message\":\"invalid\"}");
    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.gone, 1);
    assert_int_equal(st.failures, 3);
    assert_int_equal(st.queued, 0);

    gw_kube_writer_free(w);
}


static void
test_limits(void **state)
{
    int                      i;
    char                     name[8], items[8192];
    size_t                   n;
    gw_kube_writer_t        *w;
    gw_kube_writer_conf_t    conf;
    gw_kube_writer_stats_t   st;

    (void) state;

    n = 0;
    items[0] = '\0';

    for (i = 0; i < 20; i++) {
        snprintf(name, sizeof(name), "g%d", i);
        snprintf(items, sizeof(items), LIVE("%s", "1", "Unknown"), name);
        cache_put(items);
    }

    items[0] = '\0';
    for (i = 0; i < 20; i++) {
        n += snprintf(items + n, sizeof(items) - n, "%s" ITEM("g%d", "True"),
                      i ? "," : "", i);
    }

    memset(&conf, 0, sizeof(conf));
    conf.max_in_flight = 4;
    conf.rate = 10;
    conf.burst = 6;

    w = gw_kube_writer_new(NULL, OURS, lookup, NULL);
    gw_kube_writer_configure(w, &conf);
    submit(w, items);

    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 4);                /* in flight */

    for (i = 0; i < 4; i++) {
        fake_answer(0, 200, "{}");
    }

    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 2);                /* the burst is spent */
    fake_answer(0, 200, "{}");
    fake_answer(0, 200, "{}");

    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 0);
    assert_true(gw_kube_writer_timeout_ms(w) > 0);

    fake_now += 100;                            /* 10/s: one more */
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 1);
    fake_answer(0, 200, "{}");

    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.ok, 7);
    assert_int_equal(st.queued, 13);

    /* not the leader: the queue goes, nothing is sent */
    gw_kube_writer_pause(w, 1);
    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.queued, 0);
    fake_now += 10000;
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 0);

    /* leader again: the last List is written where it differs */
    gw_kube_writer_pause(w, 0);
    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.queued, 20);

    gw_kube_writer_pause(w, 1);
    gw_kube_writer_free(w);
}


static void
test_supersede(void **state)
{
    gw_kube_writer_t        *w;
    gw_kube_writer_stats_t   st;

    (void) state;

    cache_put(LIVE("a", "10", "Unknown"));

    w = gw_kube_writer_new(NULL, OURS, lookup, NULL);
    submit(w, ITEM("a", "False"));
    submit(w, ITEM("a", "True"));
    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.queued, 1);

    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 1);
    assert_non_null(strstr(fake_reqs[0].body, "\"status\":\"True\""));

    /* a newer status while the write is in flight: written after it,
     * compared with what the server answered */
    submit(w, ITEM("a", "False"));
    fake_answer(0, 200, LIVE("a", "11", "True"));
    gw_kube_writer_tick(w);
    assert_int_equal(fake_n, 1);
    assert_non_null(strstr(fake_reqs[0].body, "\"status\":\"False\""));
    assert_non_null(strstr(fake_reqs[0].body, "\"resourceVersion\":\"11\""));

    /* back to what the cache holds: nothing more to write */
    submit(w, ITEM("a", "Unknown"));
    gw_kube_writer_stats(w, &st);
    assert_int_equal(st.queued, 0);

    /* freed with a request out: freed when it ends */
    gw_kube_writer_free(w);
    fake_answer(0, 200, LIVE("a", "12", "False"));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_teardown(test_patch_only_what_differs, teardown),
        cmocka_unit_test_teardown(test_conflict_refetch, teardown),
        cmocka_unit_test_teardown(test_gone_and_retry, teardown),
        cmocka_unit_test_teardown(test_limits, teardown),
        cmocka_unit_test_teardown(test_supersede, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
