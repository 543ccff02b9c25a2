/*
 * ngx-gateway: nginx's own traffic as Prometheus metrics, from the report
 * of our nginx module (gw_runtime_report()), under the Gateway API names
 * the configuration tagged its servers, locations and upstreams with:
 *
 *   ngx_gateway_nginx_up                              gauge, 1 or 0
 *   ngx_gateway_nginx_connections{state}              gauge
 *   ngx_gateway_nginx_connections_accepted_total      counter
 *   ngx_gateway_nginx_connections_handled_total       counter
 *   ngx_gateway_nginx_requests_total                  counter
 *   ngx_gateway_nginx_server_requests_total{gateway_namespace,gateway,
 *       listener,hostname}                            counter
 *   ngx_gateway_nginx_server_responses_total{...,code="1xx".."5xx"}
 *   ngx_gateway_nginx_server_received_bytes_total{...}
 *   ngx_gateway_nginx_server_sent_bytes_total{...}
 *   ngx_gateway_nginx_route_requests_total{route_namespace,route,rule}
 *   ngx_gateway_nginx_route_responses_total{...,code}
 *   ngx_gateway_nginx_upstream_peer_requests_total{backend_namespace,
 *       service,port,peer}
 *   ngx_gateway_nginx_upstream_peer_responses_total{...,code}
 *   ngx_gateway_nginx_upstream_peer_response_seconds_sum{...}
 *   ngx_gateway_nginx_upstream_peer_response_seconds_count{...}
 *
 * The catch-all server has hostname="", a route tag without rule rule="".
 * The counters mirror the module's: they start again from 0 when nginx's
 * zone is new (nginx started, or the zone resized), which Prometheus
 * reads as a reset.
 */

#ifndef GW_METRICS_NGINX_H
#define GW_METRICS_NGINX_H

#include <cjson/cJSON.h>

#include "metrics/metrics.h"

typedef struct {
    gw_metric_t  *up;
    gw_metric_t  *connections;
    gw_metric_t  *accepted;
    gw_metric_t  *handled;
    gw_metric_t  *requests;
    gw_metric_t  *server_requests;
    gw_metric_t  *server_responses;
    gw_metric_t  *server_received;
    gw_metric_t  *server_sent;
    gw_metric_t  *route_requests;
    gw_metric_t  *route_responses;
    gw_metric_t  *peer_requests;
    gw_metric_t  *peer_responses;
    gw_metric_t  *peer_time_sum;
    gw_metric_t  *peer_time_count;
    const char   *state_dir;        /* for gw_nginx_metrics_collect() */
} gw_nginx_metrics_t;

/* Registers the families on reg (which owns them). */
int gw_nginx_metrics_init(gw_nginx_metrics_t *m, gw_metrics_t *reg,
    gw_err_t *err);

/*
 * Sets every family from report (NULL: nginx does not answer, up is 0 and
 * the other families are empty).  Series of servers, routes and peers the
 * report no longer names disappear.  Entries of the report that lack a
 * field are skipped.
 */
void gw_nginx_metrics_update(gw_nginx_metrics_t *m, const cJSON *report);

/*
 * A collect callback (gw_metrics_on_collect(reg, gw_nginx_metrics_collect,
 * m)) fetching the report from the nginx of m->state_dir at each scrape.
 * It blocks the scrape for at most the report's timeout (one second).
 */
void gw_nginx_metrics_collect(void *data, gw_metrics_t *reg);

#endif /* GW_METRICS_NGINX_H */
