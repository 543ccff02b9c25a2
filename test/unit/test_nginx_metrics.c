/*
 * Unit tests: nginx's traffic as metrics from a canned report of our
 * module (controller/metrics/nginx.c), compared line by line with what a
 * scrape must see.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/gw_buf.h"
#include "metrics/nginx.h"


/* Two servers (the catch-all has no hostname), a route rule, a backend
 * with two peers, as the module writes them. */
static const char  report_text[] =
    "{\"generation\":3,\"loaded_at\":\"2024-01-01T00:00:00Z\","
    "\"loaded_at_msec\":1,\"nginx_version\":\"1.22.1\",\"pid\":7,"
    "\"worker_processes\":2,"
    "\"connections\":{\"accepted\":12,\"handled\":12,\"active\":3,"
    "\"reading\":0,\"writing\":1,\"waiting\":2},"
    "\"requests\":{\"total\":40},"
    "\"zone\":{\"name\":\"gateway\",\"size\":1048576,\"total_pages\":256,"
    "\"used_pages\":4,\"series\":6,\"unallocated\":0},"
    "\"servers\":["
    "{\"gateway\":\"default/gw\",\"listener\":\"http\",\"hostname\":null,"
    "\"requests\":2,\"responses\":{\"1xx\":0,\"2xx\":0,\"3xx\":0,"
    "\"4xx\":2,\"5xx\":0},\"bytes_in\":100,\"bytes_out\":300},"
    "{\"gateway\":\"default/gw\",\"listener\":\"http\","
    "\"hostname\":\"game.example.com\",\"requests\":10,"
    "\"responses\":{\"1xx\":0,\"2xx\":9,\"3xx\":0,\"4xx\":0,\"5xx\":1},"
    "\"bytes_in\":1000,\"bytes_out\":25000}],"
    "\"routes\":["
    "{\"route\":\"default/game-route\",\"rule\":\"0\",\"requests\":10,"
    "\"responses\":{\"1xx\":0,\"2xx\":9,\"3xx\":0,\"4xx\":0,\"5xx\":1},"
    "\"bytes_in\":1000,\"bytes_out\":25000}],"
    "\"upstreams\":["
    "{\"backend\":\"mario-ns/mario:80\",\"peers\":["
    "{\"address\":\"127.0.0.11:8080\",\"requests\":6,"
    "\"responses\":{\"1xx\":0,\"2xx\":6,\"3xx\":0,\"4xx\":0,\"5xx\":0},"
    "\"bytes_in\":9000,\"bytes_out\":600,\"response_time_ms_sum\":1500,"
    "\"response_time_count\":6},"
    "{\"address\":\"127.0.0.12:8080\",\"requests\":4,"
    "\"responses\":{\"1xx\":0,\"2xx\":3,\"3xx\":0,\"4xx\":0,\"5xx\":1},"
    "\"bytes_in\":5000,\"bytes_out\":400,\"response_time_ms_sum\":20,"
    "\"response_time_count\":4}]}]}";


static char *
scrape(gw_metrics_t *reg)
{
    char      *text;
    gw_buf_t   out;

    gw_buf_init(&out);
    gw_metrics_write(reg, &out);
    text = strdup(out.data ? out.data : "");
    gw_buf_free(&out);

    return text;
}


/* line must be in text as a whole line */
static void
has_line(const char *text, const char *line)
{
    size_t       n;
    const char  *p;

    n = strlen(line);

    for (p = strstr(text, line); p != NULL; p = strstr(p + 1, line)) {
        if ((p == text || p[-1] == '\n') && p[n] == '\n') {
            return;
        }
    }

    fail_msg("no line \"%s\" in:\n%s", line, text);
}


static void
test_report_to_exposition(void **state)
{
    char                *text;
    cJSON               *report;
    gw_err_t             err;
    gw_metrics_t        *reg;
    gw_nginx_metrics_t   m;

    (void) state;

    reg = gw_metrics_new();
    memset(&m, 0, sizeof(m));
    assert_int_equal(gw_nginx_metrics_init(&m, reg, &err), GW_OK);

    report = cJSON_Parse(report_text);
    assert_non_null(report);
    gw_nginx_metrics_update(&m, report);
    text = scrape(reg);

    has_line(text, "# TYPE ngx_gateway_nginx_up gauge");
    has_line(text, "ngx_gateway_nginx_up 1");
    has_line(text, "ngx_gateway_nginx_connections{state=\"active\"} 3");
    has_line(text, "ngx_gateway_nginx_connections{state=\"waiting\"} 2");
    has_line(text, "# TYPE ngx_gateway_nginx_connections_accepted_total "
                   "counter");
    has_line(text, "ngx_gateway_nginx_connections_accepted_total 12");
    has_line(text, "ngx_gateway_nginx_connections_handled_total 12");
    has_line(text, "ngx_gateway_nginx_requests_total 40");

    has_line(text, "ngx_gateway_nginx_server_requests_total{"
                   "gateway_namespace=\"default\",gateway=\"gw\","
                   "listener=\"http\",hostname=\"game.example.com\"} 10");
    has_line(text, "ngx_gateway_nginx_server_requests_total{"
                   "gateway_namespace=\"default\",gateway=\"gw\","
                   "listener=\"http\",hostname=\"\"} 2");
    has_line(text, "ngx_gateway_nginx_server_responses_total{"
                   "gateway_namespace=\"default\",gateway=\"gw\","
                   "listener=\"http\",hostname=\"game.example.com\","
                   "code=\"5xx\"} 1");
    has_line(text, "ngx_gateway_nginx_server_responses_total{"
                   "gateway_namespace=\"default\",gateway=\"gw\","
                   "listener=\"http\",hostname=\"\",code=\"4xx\"} 2");
    has_line(text, "ngx_gateway_nginx_server_received_bytes_total{"
                   "gateway_namespace=\"default\",gateway=\"gw\","
                   "listener=\"http\",hostname=\"game.example.com\"} 1000");
    has_line(text, "ngx_gateway_nginx_server_sent_bytes_total{"
                   "gateway_namespace=\"default\",gateway=\"gw\","
                   "listener=\"http\",hostname=\"game.example.com\"} 25000");

    has_line(text, "ngx_gateway_nginx_route_requests_total{"
                   "route_namespace=\"default\",route=\"game-route\","
                   "rule=\"0\"} 10");
    has_line(text, "ngx_gateway_nginx_route_responses_total{"
                   "route_namespace=\"default\",route=\"game-route\","
                   "rule=\"0\",code=\"2xx\"} 9");

    has_line(text, "ngx_gateway_nginx_upstream_peer_requests_total{"
                   "backend_namespace=\"mario-ns\",service=\"mario\","
                   "port=\"80\",peer=\"127.0.0.11:8080\"} 6");
    has_line(text, "ngx_gateway_nginx_upstream_peer_responses_total{"
                   "backend_namespace=\"mario-ns\",service=\"mario\","
                   "port=\"80\",peer=\"127.0.0.12:8080\",code=\"5xx\"} 1");
    has_line(text, "# TYPE ngx_gateway_nginx_upstream_peer_response_time_"
                   "seconds_total counter");
    has_line(text, "ngx_gateway_nginx_upstream_peer_response_time_"
                   "seconds_total{"
                   "backend_namespace=\"mario-ns\",service=\"mario\","
                   "port=\"80\",peer=\"127.0.0.11:8080\"} 1.5");
    has_line(text, "ngx_gateway_nginx_upstream_peer_timed_responses_total{"
                   "backend_namespace=\"mario-ns\",service=\"mario\","
                   "port=\"80\",peer=\"127.0.0.12:8080\"} 4");

    /* bytes are counted per server only */
    assert_null(strstr(text, "route_received"));

    free(text);

    /* a peer and a server gone from the report leave the exposition */
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(report, "upstreams"), 0), "peers"), 1);
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(report, "servers"), 0);
    gw_nginx_metrics_update(&m, report);
    text = scrape(reg);

    has_line(text, "ngx_gateway_nginx_upstream_peer_requests_total{"
                   "backend_namespace=\"mario-ns\",service=\"mario\","
                   "port=\"80\",peer=\"127.0.0.11:8080\"} 6");
    assert_null(strstr(text, "127.0.0.12:8080"));
    assert_null(strstr(text, "hostname=\"\""));
    free(text);

    /* nginx not answering: up 0 and nothing else of it */
    gw_nginx_metrics_update(&m, NULL);
    text = scrape(reg);
    has_line(text, "ngx_gateway_nginx_up 0");
    assert_null(strstr(text, "game-route"));
    assert_null(strstr(text, "state=\"active\""));
    free(text);

    cJSON_Delete(report);
    gw_metrics_free(reg);
}


/* Entries without their names are skipped, the others still count. */
static void
test_malformed_entries_are_skipped(void **state)
{
    char                *text;
    cJSON               *report;
    gw_err_t             err;
    gw_metrics_t        *reg;
    gw_nginx_metrics_t   m;

    (void) state;

    reg = gw_metrics_new();
    memset(&m, 0, sizeof(m));
    assert_int_equal(gw_nginx_metrics_init(&m, reg, &err), GW_OK);

    report = cJSON_Parse(
        "{\"servers\":[{\"gateway\":\"no-slash\",\"listener\":\"l\","
        "\"hostname\":null,\"requests\":1},"
        "{\"gateway\":\"ns/gw\",\"listener\":\"l\",\"hostname\":\"h\","
        "\"requests\":5}],"
        "\"routes\":[{\"rule\":\"1\",\"requests\":1}],"
        "\"upstreams\":[{\"backend\":\"ns/svc\",\"peers\":[{\"address\":"
        "\"a\",\"requests\":1}]}]}");
    assert_non_null(report);

    gw_nginx_metrics_update(&m, report);
    text = scrape(reg);

    has_line(text, "ngx_gateway_nginx_server_requests_total{"
                   "gateway_namespace=\"ns\",gateway=\"gw\",listener=\"l\","
                   "hostname=\"h\"} 5");
    assert_null(strstr(text, "no-slash"));
    assert_null(strstr(text, "route_requests_total{"));
    assert_null(strstr(text, "upstream_peer_requests_total{"));

    free(text);
    cJSON_Delete(report);
    gw_metrics_free(reg);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_report_to_exposition),
        cmocka_unit_test(test_malformed_entries_are_skipped),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
