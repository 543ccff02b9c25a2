/*
 * ngx-gateway: nginx's traffic as metrics, from our module's report.
 */

#include <stddef.h>
#include <string.h>

#include "core/gw_log.h"
#include "metrics/nginx.h"
#include "runtime/runtime.h"

#define GW_NGX  "ngx_gateway_nginx_"

/* label values of one series are at most this many strings */
#define GW_NGX_MAX_LABELS  6

/* a namespace or name is at most 253 characters, a tag value 512 */
#define GW_NGX_VALUE_MAX   513


static const char  *gw_ngx_no_labels[] = { NULL };
static const char  *gw_ngx_state[] = { "state", NULL };
static const char  *gw_ngx_server[] = {
    "gateway_namespace", "gateway", "listener", "hostname", NULL
};
static const char  *gw_ngx_server_code[] = {
    "gateway_namespace", "gateway", "listener", "hostname", "code", NULL
};
static const char  *gw_ngx_route[] = {
    "route_namespace", "route", "rule", NULL
};
static const char  *gw_ngx_route_code[] = {
    "route_namespace", "route", "rule", "code", NULL
};
static const char  *gw_ngx_peer[] = {
    "backend_namespace", "service", "port", "peer", NULL
};
static const char  *gw_ngx_peer_code[] = {
    "backend_namespace", "service", "port", "peer", "code", NULL
};

static const char  *gw_ngx_codes[] = { "1xx", "2xx", "3xx", "4xx", "5xx" };
static const char  *gw_ngx_states[] = {
    "active", "reading", "writing", "waiting"
};


typedef struct {
    size_t               offset;  /* of the gw_metric_t * in the struct */
    gw_metric_type_e     type;
    const char          *name;
    const char          *help;
    const char *const   *labels;
} gw_ngx_family_t;

#define GW_NGX_FAMILY(field, type, name, help, labels)                       \
    { offsetof(gw_nginx_metrics_t, field), type, GW_NGX name, help, labels }

static const gw_ngx_family_t  gw_ngx_families[] = {
    GW_NGX_FAMILY(up, GW_METRIC_GAUGE, "up",
        "1 when nginx answered the last report request.", gw_ngx_no_labels),
    GW_NGX_FAMILY(connections, GW_METRIC_GAUGE, "connections",
        "Client connections of nginx now, by state.", gw_ngx_state),
    GW_NGX_FAMILY(accepted, GW_METRIC_COUNTER,
        "connections_accepted_total",
        "Client connections nginx accepted.", gw_ngx_no_labels),
    GW_NGX_FAMILY(handled, GW_METRIC_COUNTER, "connections_handled_total",
        "Client connections nginx handled.", gw_ngx_no_labels),
    GW_NGX_FAMILY(requests, GW_METRIC_COUNTER, "requests_total",
        "Client requests nginx finished.", gw_ngx_no_labels),
    GW_NGX_FAMILY(server_requests, GW_METRIC_COUNTER,
        "server_requests_total",
        "Requests per Gateway listener and hostname.", gw_ngx_server),
    GW_NGX_FAMILY(server_responses, GW_METRIC_COUNTER,
        "server_responses_total",
        "Responses per Gateway listener and hostname, by status class.",
        gw_ngx_server_code),
    GW_NGX_FAMILY(server_received, GW_METRIC_COUNTER,
        "server_received_bytes_total",
        "Bytes received from clients per Gateway listener and hostname.",
        gw_ngx_server),
    GW_NGX_FAMILY(server_sent, GW_METRIC_COUNTER, "server_sent_bytes_total",
        "Bytes sent to clients per Gateway listener and hostname.",
        gw_ngx_server),
    GW_NGX_FAMILY(route_requests, GW_METRIC_COUNTER, "route_requests_total",
        "Requests per HTTPRoute rule.", gw_ngx_route),
    GW_NGX_FAMILY(route_responses, GW_METRIC_COUNTER,
        "route_responses_total",
        "Responses per HTTPRoute rule, by status class.",
        gw_ngx_route_code),
    GW_NGX_FAMILY(peer_requests, GW_METRIC_COUNTER,
        "upstream_peer_requests_total",
        "Requests sent to each endpoint of a backend.", gw_ngx_peer),
    GW_NGX_FAMILY(peer_responses, GW_METRIC_COUNTER,
        "upstream_peer_responses_total",
        "Responses of each endpoint of a backend, by status class.",
        gw_ngx_peer_code),
    GW_NGX_FAMILY(peer_time_sum, GW_METRIC_COUNTER,
        "upstream_peer_response_time_seconds_total",
        "Total time to the full response of each endpoint of a backend.",
        gw_ngx_peer),
    GW_NGX_FAMILY(peer_time_count, GW_METRIC_COUNTER,
        "upstream_peer_timed_responses_total",
        "Responses timed per endpoint of a backend.", gw_ngx_peer),
};

#define GW_NGX_NFAMILIES                                                      \
    (sizeof(gw_ngx_families) / sizeof(gw_ngx_families[0]))


int
gw_nginx_metrics_init(gw_nginx_metrics_t *m, gw_metrics_t *reg,
    gw_err_t *err)
{
    size_t                  i;
    gw_metric_t           **slot, *metric;
    const gw_ngx_family_t  *f;

    for (i = 0; i < GW_NGX_NFAMILIES; i++) {
        f = &gw_ngx_families[i];

        if (f->type == GW_METRIC_GAUGE) {
            metric = gw_metrics_gauge(reg, f->name, f->help, f->labels, err);
        } else {
            metric = gw_metrics_counter(reg, f->name, f->help, f->labels,
                                        err);
        }

        if (metric == NULL) {
            return GW_ERR;
        }

        slot = (gw_metric_t **) ((char *) m + f->offset);
        *slot = metric;
    }

    return GW_OK;
}


/* The number at key, or -1 when there is none. */
static double
gw_ngx_number(const cJSON *obj, const char *key)
{
    const cJSON  *n;

    n = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsNumber(n) && n->valuedouble >= 0 ? n->valuedouble : -1;
}


/* The string at key, "" for null, NULL when absent or of another type. */
static const char *
gw_ngx_string(const cJSON *obj, const char *key)
{
    const cJSON  *s;

    s = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsNull(s)) {
        return "";
    }

    return cJSON_IsString(s) ? s->valuestring : NULL;
}


/* "ns/name" into ns and name (copies); GW_ERR without a '/'. */
static int
gw_ngx_split_name(const char *s, char *ns, char *name)
{
    const char  *slash;

    slash = strchr(s, '/');
    if (slash == NULL || (size_t) (slash - s) >= GW_NGX_VALUE_MAX
        || strlen(slash + 1) >= GW_NGX_VALUE_MAX)
    {
        return GW_ERR;
    }

    memcpy(ns, s, (size_t) (slash - s));
    ns[slash - s] = '\0';
    strcpy(name, slash + 1);

    return GW_OK;
}


/*
 * The counters of one series: requests, then responses by class (with the
 * code as the label after values[n - 1]), then bytes when asked for.
 */
static void
gw_ngx_counters(const cJSON *c, gw_metric_t *requests,
    gw_metric_t *responses, gw_metric_t *received, gw_metric_t *sent,
    const char **values, size_t n)
{
    size_t        i;
    double        v;
    const cJSON  *codes;

    v = gw_ngx_number(c, "requests");
    if (v >= 0) {
        gw_metric_update(requests, GW_METRIC_SET, v, values);
    }

    codes = cJSON_GetObjectItemCaseSensitive(c, "responses");

    for (i = 0; i < 5; i++) {
        v = gw_ngx_number(codes, gw_ngx_codes[i]);
        if (v >= 0) {
            values[n] = gw_ngx_codes[i];
            gw_metric_update(responses, GW_METRIC_SET, v, values);
        }
    }

    values[n] = NULL;

    v = gw_ngx_number(c, "bytes_in");
    if (received != NULL && v >= 0) {
        gw_metric_update(received, GW_METRIC_SET, v, values);
    }

    v = gw_ngx_number(c, "bytes_out");
    if (sent != NULL && v >= 0) {
        gw_metric_update(sent, GW_METRIC_SET, v, values);
    }
}


static void
gw_ngx_servers(gw_nginx_metrics_t *m, const cJSON *list)
{
    char          ns[GW_NGX_VALUE_MAX], name[GW_NGX_VALUE_MAX];
    const char   *gateway, *values[GW_NGX_MAX_LABELS];
    const cJSON  *it;

    cJSON_ArrayForEach(it, list) {
        gateway = gw_ngx_string(it, "gateway");
        values[2] = gw_ngx_string(it, "listener");
        values[3] = gw_ngx_string(it, "hostname");

        if (gateway == NULL || values[2] == NULL || values[3] == NULL
            || gw_ngx_split_name(gateway, ns, name) != GW_OK)
        {
            continue;
        }

        values[0] = ns;
        values[1] = name;

        gw_ngx_counters(it, m->server_requests, m->server_responses,
                        m->server_received, m->server_sent, values, 4);
    }
}


static void
gw_ngx_routes(gw_nginx_metrics_t *m, const cJSON *list)
{
    char          ns[GW_NGX_VALUE_MAX], name[GW_NGX_VALUE_MAX];
    const char   *route, *values[GW_NGX_MAX_LABELS];
    const cJSON  *it;

    cJSON_ArrayForEach(it, list) {
        route = gw_ngx_string(it, "route");
        values[2] = gw_ngx_string(it, "rule");

        if (route == NULL || values[2] == NULL
            || gw_ngx_split_name(route, ns, name) != GW_OK)
        {
            continue;
        }

        values[0] = ns;
        values[1] = name;

        gw_ngx_counters(it, m->route_requests, m->route_responses, NULL,
                        NULL, values, 3);
    }
}


static void
gw_ngx_upstreams(gw_nginx_metrics_t *m, const cJSON *list)
{
    char          ns[GW_NGX_VALUE_MAX], name[GW_NGX_VALUE_MAX];
    char         *colon;
    double        sum, count;
    const char   *backend, *values[GW_NGX_MAX_LABELS];
    const cJSON  *it, *peer;

    cJSON_ArrayForEach(it, list) {
        backend = gw_ngx_string(it, "backend");

        /* ns/svc:port */
        if (backend == NULL || gw_ngx_split_name(backend, ns, name) != GW_OK)
        {
            continue;
        }

        colon = strrchr(name, ':');
        if (colon == NULL) {
            continue;
        }
        *colon = '\0';

        values[0] = ns;
        values[1] = name;
        values[2] = colon + 1;

        cJSON_ArrayForEach(peer, cJSON_GetObjectItemCaseSensitive(it,
                                                                  "peers"))
        {
            values[3] = gw_ngx_string(peer, "address");
            if (values[3] == NULL) {
                continue;
            }

            gw_ngx_counters(peer, m->peer_requests, m->peer_responses, NULL,
                            NULL, values, 4);

            sum = gw_ngx_number(peer, "response_time_ms_sum");
            count = gw_ngx_number(peer, "response_time_count");

            if (sum >= 0 && count >= 0) {
                gw_metric_update(m->peer_time_sum, GW_METRIC_SET,
                                 sum / 1000, values);
                gw_metric_update(m->peer_time_count, GW_METRIC_SET, count,
                                 values);
            }
        }
    }
}


void
gw_nginx_metrics_update(gw_nginx_metrics_t *m, const cJSON *report)
{
    size_t        i;
    double        v;
    const char   *values[2];
    const cJSON  *conns, *reqs;
    gw_metric_t **slot;

    for (i = 0; i < GW_NGX_NFAMILIES; i++) {
        slot = (gw_metric_t **) ((char *) m + gw_ngx_families[i].offset);
        gw_metric_clear(*slot);
    }

    gw_metric_gauge_set(m->up, report != NULL, NULL);

    if (report == NULL) {
        return;
    }

    conns = cJSON_GetObjectItemCaseSensitive(report, "connections");
    values[1] = NULL;

    for (i = 0; i < 4; i++) {
        v = gw_ngx_number(conns, gw_ngx_states[i]);
        if (v >= 0) {
            values[0] = gw_ngx_states[i];
            gw_metric_update(m->connections, GW_METRIC_SET, v, values);
        }
    }

    v = gw_ngx_number(conns, "accepted");
    if (v >= 0) {
        gw_metric_counter_set(m->accepted, v, NULL);
    }

    v = gw_ngx_number(conns, "handled");
    if (v >= 0) {
        gw_metric_counter_set(m->handled, v, NULL);
    }

    reqs = cJSON_GetObjectItemCaseSensitive(report, "requests");
    v = gw_ngx_number(reqs, "total");
    if (v >= 0) {
        gw_metric_counter_set(m->requests, v, NULL);
    }

    gw_ngx_servers(m, cJSON_GetObjectItemCaseSensitive(report, "servers"));
    gw_ngx_routes(m, cJSON_GetObjectItemCaseSensitive(report, "routes"));
    gw_ngx_upstreams(m, cJSON_GetObjectItemCaseSensitive(report,
                                                         "upstreams"));
}


void
gw_nginx_metrics_collect(void *data, gw_metrics_t *reg)
{
    cJSON               *report;
    gw_err_t             err;
    gw_nginx_metrics_t  *m;

    (void) reg;

    m = data;

    if (gw_runtime_report(m->state_dir, &report, &err) != GW_OK) {
        gw_log(GW_LOG_DEBUG, "nginx report unavailable", "error", err.msg,
               NULL);
    }

    gw_nginx_metrics_update(m, report);
    cJSON_Delete(report);
}
