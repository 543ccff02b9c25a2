/*
 * Unit tests: the Prometheus metrics registry and its text exposition
 * (controller/metrics/metrics.c).
 *
 * Expositions are compared byte for byte with what a scrape must see.
 * When promtool is installed, a realistic exposition is also checked with
 * `promtool check metrics` (reported as skipped otherwise).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "metrics/metrics.h"


static const char  *no_labels[] = { NULL };
static const char  *kind_valid[] = { "kind", "valid", NULL };
static const char  *one_label[] = { "path", NULL };


/* The exposition of reg, compared with expected. */
static void
expect(gw_metrics_t *reg, const char *expected)
{
    gw_buf_t  out;

    gw_buf_init(&out);
    gw_metrics_write(reg, &out);
    assert_string_equal(out.data ? out.data : "", expected);
    gw_buf_free(&out);
}


static gw_metric_t *
counter(gw_metrics_t *reg, const char *name, const char *const *labels)
{
    gw_err_t      err;
    gw_metric_t  *m;

    m = gw_metrics_counter(reg, name, "Help.", labels, &err);
    if (m == NULL) {
        fail_msg("%s: %s", name, err.msg);
    }

    return m;
}


static void
test_counter_without_labels(void **state)
{
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = counter(reg, "ngx_gateway_reloads_total", NULL);

    /* a family without labels is there from the start */
    expect(reg,
           "# HELP ngx_gateway_reloads_total Help.\n"
           "# TYPE ngx_gateway_reloads_total counter\n"
           "ngx_gateway_reloads_total 0\n");

    assert_int_equal(gw_metric_counter_add(m, 1, NULL), GW_OK);
    assert_int_equal(gw_metric_counter_add(m, 2.5, NULL), GW_OK);

    expect(reg,
           "# HELP ngx_gateway_reloads_total Help.\n"
           "# TYPE ngx_gateway_reloads_total counter\n"
           "ngx_gateway_reloads_total 3.5\n");

    gw_metrics_free(reg);
}


static void
test_counter_never_decreases(void **state)
{
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = counter(reg, "c_total", kind_valid);

    assert_int_equal(gw_metric_counter_add(m, 4, "kind", "Gateway", "valid",
                                           "true", NULL), GW_OK);
    assert_int_equal(gw_metric_counter_add(m, -1, "kind", "Gateway", "valid",
                                           "true", NULL), GW_ERR);
    assert_int_equal(gw_metric_counter_add(m, NAN, "kind", "Gateway",
                                           "valid", "true", NULL), GW_ERR);
    assert_int_equal(gw_metric_counter_add(m, INFINITY, "kind", "Gateway",
                                           "valid", "true", NULL), GW_ERR);
    /* a counter does not observe, nor is it a gauge */
    assert_int_equal(gw_metric_histogram_observe(m, 1, "kind", "Gateway",
                                                 "valid", "true", NULL),
                     GW_ERR);

    expect(reg,
           "# HELP c_total Help.\n"
           "# TYPE c_total counter\n"
           "c_total{kind=\"Gateway\",valid=\"true\"} 4\n");

    gw_metrics_free(reg);
}


static void
test_gauge_set_and_add(void **state)
{
    gw_err_t       err;
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = gw_metrics_gauge(reg, "g", "", NULL, &err);
    assert_non_null(m);

    assert_int_equal(gw_metric_gauge_set(m, 10, NULL), GW_OK);
    assert_int_equal(gw_metric_gauge_add(m, -12.25, NULL), GW_OK);

    /* no HELP line for an empty help */
    expect(reg,
           "# TYPE g gauge\n"
           "g -2.25\n");

    assert_int_equal(gw_metric_gauge_set(m, INFINITY, NULL), GW_OK);
    expect(reg, "# TYPE g gauge\ng +Inf\n");
    assert_int_equal(gw_metric_gauge_set(m, -INFINITY, NULL), GW_OK);
    expect(reg, "# TYPE g gauge\ng -Inf\n");
    assert_int_equal(gw_metric_gauge_set(m, NAN, NULL), GW_OK);
    expect(reg, "# TYPE g gauge\ng NaN\n");

    gw_metrics_free(reg);
}


static void
test_numbers(void **state)
{
    gw_err_t       err;
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = gw_metrics_gauge(reg, "g", "", one_label, &err);
    assert_non_null(m);

    gw_metric_gauge_set(m, 0.1, "path", "a", NULL);
    gw_metric_gauge_set(m, 1e21, "path", "b", NULL);
    gw_metric_gauge_set(m, 1717171717.123, "path", "c", NULL);
    gw_metric_gauge_set(m, 9007199254740993.0, "path", "d", NULL);
    gw_metric_gauge_set(m, 0.1 + 0.2, "path", "e", NULL);
    gw_metric_gauge_set(m, -0.000001, "path", "f", NULL);

    /* the shortest text that reads back as the same double */
    expect(reg,
           "# TYPE g gauge\n"
           "g{path=\"a\"} 0.1\n"
           "g{path=\"b\"} 1e+21\n"
           "g{path=\"c\"} 1717171717.123\n"
           "g{path=\"d\"} 9007199254740992\n"
           "g{path=\"e\"} 0.30000000000000004\n"
           "g{path=\"f\"} -1e-06\n");

    gw_metrics_free(reg);
}


static void
test_escaping(void **state)
{
    gw_err_t       err;
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = gw_metrics_gauge(reg, "g", "A \"help\" with \\ and\nnewline.",
                         one_label, &err);
    assert_non_null(m);

    gw_metric_gauge_set(m, 1, "path", "C:\\dir \"quoted\"\nnext", NULL);
    gw_metric_gauge_set(m, 2, "path", "", NULL);
    gw_metric_gauge_set(m, 3, "path", "caf\xc3\xa9 {x=1}, y", NULL);

    /* HELP escapes backslash and newline, label values quotes too */
    expect(reg,
           "# HELP g A \"help\" with \\\\ and\\nnewline.\n"
           "# TYPE g gauge\n"
           "g{path=\"C:\\\\dir \\\"quoted\\\"\\nnext\"} 1\n"
           "g{path=\"\"} 2\n"
           "g{path=\"caf\xc3\xa9 {x=1}, y\"} 3\n");

    gw_metrics_free(reg);
}


static void
test_label_and_series_order(void **state)
{
    gw_metrics_t  *reg;
    gw_metric_t   *a, *b;

    (void) state;

    reg = gw_metrics_new();
    b = counter(reg, "b_total", kind_valid);
    a = counter(reg, "a_total", NULL);

    /* keys in any order; the same series whatever the order */
    gw_metric_counter_add(b, 1, "valid", "false", "kind", "HTTPRoute", NULL);
    gw_metric_counter_add(b, 1, "kind", "Gateway", "valid", "true", NULL);
    gw_metric_counter_add(b, 1, "kind", "HTTPRoute", "valid", "false", NULL);
    gw_metric_counter_add(a, 1, NULL);

    /* families in registration order, series in first-use order */
    expect(reg,
           "# HELP b_total Help.\n"
           "# TYPE b_total counter\n"
           "b_total{kind=\"HTTPRoute\",valid=\"false\"} 2\n"
           "b_total{kind=\"Gateway\",valid=\"true\"} 1\n"
           "# HELP a_total Help.\n"
           "# TYPE a_total counter\n"
           "a_total 1\n");

    gw_metrics_free(reg);
}


static void
test_series_keys_do_not_collide(void **state)
{
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = counter(reg, "c_total", kind_valid);

    /* values that would run together if simply concatenated */
    gw_metric_counter_add(m, 1, "kind", "ab", "valid", "c", NULL);
    gw_metric_counter_add(m, 2, "kind", "a", "valid", "bc", NULL);
    gw_metric_counter_add(m, 3, "kind", "1:a", "valid", "", NULL);
    gw_metric_counter_add(m, 4, "kind", "", "valid", "1:a", NULL);

    expect(reg,
           "# HELP c_total Help.\n"
           "# TYPE c_total counter\n"
           "c_total{kind=\"ab\",valid=\"c\"} 1\n"
           "c_total{kind=\"a\",valid=\"bc\"} 2\n"
           "c_total{kind=\"1:a\",valid=\"\"} 3\n"
           "c_total{kind=\"\",valid=\"1:a\"} 4\n");

    gw_metrics_free(reg);
}


static void
test_label_mistakes_refused(void **state)
{
    gw_metrics_t       *reg;
    gw_metric_t        *m;
    const char *const   values[] = { "Gateway", NULL };

    (void) state;

    reg = gw_metrics_new();
    m = counter(reg, "c_total", kind_valid);

    assert_int_equal(gw_metric_counter_add(m, 1, "kind", "Gateway", NULL),
                     GW_ERR);
    assert_int_equal(gw_metric_counter_add(m, 1, "kind", "Gateway", "valid",
                                           "true", "zone", "a", NULL),
                     GW_ERR);
    assert_int_equal(gw_metric_counter_add(m, 1, "kind", "Gateway", "kind",
                                           "Gateway", NULL), GW_ERR);
    assert_int_equal(gw_metric_counter_add(m, 1, "kind", "Gateway", "valid",
                                           NULL), GW_ERR);
    assert_int_equal(gw_metric_counter_add(m, 1, NULL), GW_ERR);
    assert_int_equal(gw_metric_update(m, GW_METRIC_ADD, 1, values), GW_ERR);
    assert_int_equal(gw_metric_update(m, GW_METRIC_ADD, 1, NULL), GW_ERR);

    /* nothing was created: a family with labels and no series is silent */
    expect(reg, "");

    gw_metrics_free(reg);
}


static void
test_update_with_values(void **state)
{
    gw_metrics_t       *reg;
    gw_metric_t        *m;
    const char *const   values[] = { "TLSRoute", "true" };

    (void) state;

    reg = gw_metrics_new();
    m = counter(reg, "c_total", kind_valid);

    assert_int_equal(gw_metric_update(m, GW_METRIC_ADD, 2, values), GW_OK);
    assert_int_equal(gw_metric_update(m, GW_METRIC_SET, 7, values), GW_OK);
    /* mirroring an external counter: a lower value is its reset */
    assert_int_equal(gw_metric_update(m, GW_METRIC_SET, 3, values), GW_OK);

    expect(reg,
           "# HELP c_total Help.\n"
           "# TYPE c_total counter\n"
           "c_total{kind=\"TLSRoute\",valid=\"true\"} 3\n");

    gw_metrics_free(reg);
}


static void
test_histogram(void **state)
{
    gw_err_t       err;
    gw_metrics_t  *reg;
    gw_metric_t   *m;
    const double   buckets[] = { 0.005, 0.25, 1, 2.5 };

    (void) state;

    reg = gw_metrics_new();
    m = gw_metrics_histogram(reg, "ngx_gateway_reload_duration_seconds",
                             "Reload time.", no_labels, buckets,
                             gw_countof(buckets), &err);
    assert_non_null(m);

    /* before any observation: every bucket at 0 */
    expect(reg,
           "# HELP ngx_gateway_reload_duration_seconds Reload time.\n"
           "# TYPE ngx_gateway_reload_duration_seconds histogram\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"0.005\"} 0\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"0.25\"} 0\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"1\"} 0\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"2.5\"} 0\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"+Inf\"} 0\n"
           "ngx_gateway_reload_duration_seconds_sum 0\n"
           "ngx_gateway_reload_duration_seconds_count 0\n");

    /* bounds are inclusive; above the last goes to +Inf only */
    gw_metric_histogram_observe(m, 0.25, NULL);
    gw_metric_histogram_observe(m, 0.5, NULL);
    gw_metric_histogram_observe(m, 1, NULL);
    gw_metric_histogram_observe(m, 0.75, NULL);
    gw_metric_histogram_observe(m, 10, NULL);
    assert_int_equal(gw_metric_histogram_observe(m, NAN, NULL), GW_ERR);
    assert_int_equal(gw_metric_gauge_set(m, 1, NULL), GW_ERR);

    expect(reg,
           "# HELP ngx_gateway_reload_duration_seconds Reload time.\n"
           "# TYPE ngx_gateway_reload_duration_seconds histogram\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"0.005\"} 0\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"0.25\"} 1\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"1\"} 4\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"2.5\"} 4\n"
           "ngx_gateway_reload_duration_seconds_bucket{le=\"+Inf\"} 5\n"
           "ngx_gateway_reload_duration_seconds_sum 12.5\n"
           "ngx_gateway_reload_duration_seconds_count 5\n");

    gw_metrics_free(reg);
}


static void
test_histogram_with_labels(void **state)
{
    gw_err_t       err;
    gw_metrics_t  *reg;
    gw_metric_t   *m;
    const double   buckets[] = { 1, 5 };

    (void) state;

    reg = gw_metrics_new();
    m = gw_metrics_histogram(reg, "h_seconds", "H.", one_label, buckets,
                             gw_countof(buckets), &err);
    assert_non_null(m);

    gw_metric_histogram_observe(m, 3, "path", "b\"x", NULL);
    gw_metric_histogram_observe(m, 0.5, "path", "a", NULL);
    gw_metric_histogram_observe(m, 0.5, "path", "b\"x", NULL);

    expect(reg,
           "# HELP h_seconds H.\n"
           "# TYPE h_seconds histogram\n"
           "h_seconds_bucket{path=\"b\\\"x\",le=\"1\"} 1\n"
           "h_seconds_bucket{path=\"b\\\"x\",le=\"5\"} 2\n"
           "h_seconds_bucket{path=\"b\\\"x\",le=\"+Inf\"} 2\n"
           "h_seconds_sum{path=\"b\\\"x\"} 3.5\n"
           "h_seconds_count{path=\"b\\\"x\"} 2\n"
           "h_seconds_bucket{path=\"a\",le=\"1\"} 1\n"
           "h_seconds_bucket{path=\"a\",le=\"5\"} 1\n"
           "h_seconds_bucket{path=\"a\",le=\"+Inf\"} 1\n"
           "h_seconds_sum{path=\"a\"} 0.5\n"
           "h_seconds_count{path=\"a\"} 1\n");

    gw_metrics_free(reg);
}


static void
test_invalid_registrations_refused(void **state)
{
    gw_err_t            err;
    gw_metrics_t       *reg;
    const double        buckets[] = { 1, 2 };
    const double        unordered[] = { 2, 1 };
    const double        twice[] = { 1, 1 };
    const double        inf[] = { 1, INFINITY };
    const char         *dunder[] = { "__name", NULL };
    const char         *dash[] = { "a-b", NULL };
    const char         *colon[] = { "a:b", NULL };
    const char         *le[] = { "le", NULL };
    const char         *dup[] = { "a", "a", NULL };
    const char         *many[] = { "a", "b", "c", "d", "e", "f", "g", "h",
                                   "i", NULL };

    (void) state;

    reg = gw_metrics_new();

    assert_null(gw_metrics_counter(reg, "", "", NULL, &err));
    assert_string_equal(err.msg, "invalid metric name \"\"");
    assert_null(gw_metrics_counter(reg, "1abc", "", NULL, &err));
    assert_null(gw_metrics_counter(reg, "a-b", "", NULL, &err));
    assert_null(gw_metrics_counter(reg, "a b", "", NULL, &err));
    assert_null(gw_metrics_counter(reg, "caf\xc3\xa9", "", NULL, &err));
    assert_null(gw_metrics_counter(reg, NULL, "", NULL, &err));

    assert_null(gw_metrics_gauge(reg, "g", "", dunder, &err));
    assert_string_equal(err.msg, "invalid label name \"__name\"");
    assert_null(gw_metrics_gauge(reg, "g", "", dash, &err));
    assert_null(gw_metrics_gauge(reg, "g", "", colon, &err));
    assert_null(gw_metrics_gauge(reg, "g", "", dup, &err));
    assert_string_equal(err.msg, "label \"a\" given twice");
    assert_null(gw_metrics_gauge(reg, "g", "", many, &err));
    assert_null(gw_metrics_histogram(reg, "h", "", le, buckets, 2, &err));

    assert_null(gw_metrics_histogram(reg, "h", "", NULL, unordered, 2,
                                     &err));
    assert_string_equal(err.msg, "bucket bounds must increase strictly");
    assert_null(gw_metrics_histogram(reg, "h", "", NULL, twice, 2, &err));
    assert_null(gw_metrics_histogram(reg, "h", "", NULL, inf, 2, &err));

    /* allowed: colons in metric names, "le" outside histograms */
    assert_non_null(gw_metrics_gauge(reg, "ns:g_x9", "", le, &err));
    assert_non_null(gw_metrics_histogram(reg, "h", "", NULL, buckets, 2,
                                         &err));
    assert_non_null(gw_metrics_histogram(reg, "h0", "", NULL, NULL, 0,
                                         &err));

    /* names taken, a histogram's sample names included */
    assert_null(gw_metrics_gauge(reg, "ns:g_x9", "", NULL, &err));
    assert_string_equal(err.msg, "metric \"ns:g_x9\" is already registered");
    assert_null(gw_metrics_counter(reg, "h_count", "", NULL, &err));
    assert_null(gw_metrics_counter(reg, "h_bucket", "", NULL, &err));
    assert_null(gw_metrics_gauge(reg, "h_sum", "", NULL, &err));
    assert_non_null(gw_metrics_counter(reg, "x_count", "", NULL, &err));
    assert_null(gw_metrics_histogram(reg, "x", "", NULL, NULL, 0, &err));
    assert_non_null(gw_metrics_counter(reg, "h_total", "", NULL, &err));

    gw_metrics_free(reg);
}


typedef struct {
    gw_metric_t  *peers;
    int           calls;
    int           npeers;
} collect_ctx_t;


/* what a collector of nginx's counters does: only the peers that exist */
static void
collect_peers(void *data, gw_metrics_t *reg)
{
    int             i;
    char            peer[32];
    collect_ctx_t  *ctx;

    (void) reg;

    ctx = data;
    ctx->calls++;

    gw_metric_clear(ctx->peers);
    for (i = 0; i < ctx->npeers; i++) {
        snprintf(peer, sizeof(peer), "10.0.0.%d:8080", i + 1);
        gw_metric_counter_set(ctx->peers, 100 * (i + 1) + ctx->calls,
                              "peer", peer, NULL);
    }
}


static void
test_collect_callback(void **state)
{
    gw_err_t        err;
    gw_metrics_t   *reg;
    collect_ctx_t   ctx;
    const char     *peer[] = { "peer", NULL };

    (void) state;

    reg = gw_metrics_new();
    memset(&ctx, 0, sizeof(ctx));
    ctx.peers = gw_metrics_counter(reg, "requests_total", "", peer, &err);
    assert_non_null(ctx.peers);
    gw_metrics_on_collect(reg, collect_peers, &ctx);

    ctx.npeers = 2;
    expect(reg,
           "# TYPE requests_total counter\n"
           "requests_total{peer=\"10.0.0.1:8080\"} 101\n"
           "requests_total{peer=\"10.0.0.2:8080\"} 201\n");

    /* a peer that went away is gone from the next scrape */
    ctx.npeers = 1;
    expect(reg,
           "# TYPE requests_total counter\n"
           "requests_total{peer=\"10.0.0.1:8080\"} 102\n");

    assert_int_equal(ctx.calls, 2);

    gw_metrics_free(reg);
}


static void
test_clear_without_labels(void **state)
{
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = counter(reg, "c_total", NULL);

    gw_metric_counter_add(m, 5, NULL);
    gw_metric_clear(m);

    expect(reg,
           "# HELP c_total Help.\n"
           "# TYPE c_total counter\n"
           "c_total 0\n");

    gw_metrics_free(reg);
}


static void
test_many_series(void **state)
{
    int            i;
    char           path[32], line[64];
    gw_buf_t       out;
    gw_metrics_t  *reg;
    gw_metric_t   *m;

    (void) state;

    reg = gw_metrics_new();
    m = counter(reg, "c_total", one_label);

    for (i = 0; i < 5000; i++) {
        snprintf(path, sizeof(path), "/p%d", i);
        gw_metric_counter_add(m, 1, "path", path, NULL);
        gw_metric_counter_add(m, i, "path", path, NULL);
    }

    gw_buf_init(&out);
    gw_metrics_write(reg, &out);

    for (i = 0; i < 5000; i += 499) {
        snprintf(line, sizeof(line), "\nc_total{path=\"/p%d\"} %d\n", i,
                 i + 1);
        assert_non_null(strstr(out.data, line));
    }
    assert_non_null(strstr(out.data, "\nc_total{path=\"/p4999\"} 5000\n"));

    gw_buf_free(&out);
    gw_metrics_free(reg);
}


static int
have_promtool(void)
{
    return system("promtool --version >/dev/null 2>&1") == 0;
}


/* The families the controller exports (see the admin docs), checked by
 * Prometheus' own parser and linter. */
static void
test_promtool_accepts(void **state)
{
    int            rc, fd;
    char           path[] = "/tmp/gw-metrics-XXXXXX", cmd[128];
    FILE          *f;
    gw_buf_t       out;
    gw_err_t       err;
    gw_metrics_t  *reg;
    gw_metric_t   *m;
    const double   buckets[] = { 0.01, 0.05, 0.1, 0.5, 1, 5 };
    const char    *server[] = { "server", "code", NULL };

    (void) state;

    if (!have_promtool()) {
        skip();
    }

    reg = gw_metrics_new();

    m = gw_metrics_counter(reg, "ngx_gateway_reloads_total",
                           "Reloads of nginx attempted.", NULL, &err);
    assert_non_null(m);
    gw_metric_counter_add(m, 3, NULL);

    m = gw_metrics_histogram(reg, "ngx_gateway_reload_duration_seconds",
                             "Time from writing the configuration to nginx "
                             "serving it.", NULL, buckets,
                             gw_countof(buckets), &err);
    assert_non_null(m);
    gw_metric_histogram_observe(m, 0.2, NULL);

    m = gw_metrics_gauge(reg, "ngx_gateway_resources",
                         "Resources by kind and validity \\ \"quoted\".",
                         kind_valid, &err);
    assert_non_null(m);
    gw_metric_gauge_set(m, 2, "kind", "HTTPRoute", "valid", "true", NULL);
    gw_metric_gauge_set(m, 1, "kind", "HTTP\"Route\"\n\\", "valid", "false",
                        NULL);

    m = gw_metrics_counter(reg, "ngx_gateway_nginx_server_responses_total",
                           "Responses by server and status class.", server,
                           &err);
    assert_non_null(m);
    gw_metric_counter_set(m, 10, "server", "a.example.com:80", "code", "2xx",
                          NULL);

    gw_buf_init(&out);
    gw_metrics_write(reg, &out);

    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    assert_int_equal(fwrite(out.data, 1, out.len, f), out.len);
    assert_int_equal(fclose(f), 0);

    snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
    rc = system(cmd);
    unlink(path);

    assert_int_equal(rc, 0);

    gw_buf_free(&out);
    gw_metrics_free(reg);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_counter_without_labels),
        cmocka_unit_test(test_counter_never_decreases),
        cmocka_unit_test(test_gauge_set_and_add),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_label_and_series_order),
        cmocka_unit_test(test_series_keys_do_not_collide),
        cmocka_unit_test(test_label_mistakes_refused),
        cmocka_unit_test(test_update_with_values),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_with_labels),
        cmocka_unit_test(test_invalid_registrations_refused),
        cmocka_unit_test(test_collect_callback),
        cmocka_unit_test(test_clear_without_labels),
        cmocka_unit_test(test_many_series),
        cmocka_unit_test(test_promtool_accepts),
    };

    /* the refusals are logged: keep the test output to the results */
    gw_log_setup((gw_log_level_e) (GW_LOG_ERROR + 1), GW_LOG_LOGFMT);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
