/*
 * ngx-gateway: what the admin endpoint serves for the controller:
 *
 *   /healthz   200 "ok" while the loop runs (it answers, so it runs)
 *   /readyz    200 "ok" once a configuration is live, else 503 and why
 *   /metrics   the registry in Prometheus text format 0.0.4
 *
 * The controller owns a gw_admin_health_t, keeps it current and passes it
 * to gw_admin_open() with gw_admin_endpoints() as the handler.
 */

#ifndef GW_ADMIN_ENDPOINTS_H
#define GW_ADMIN_ENDPOINTS_H

#include "admin/admin.h"
#include "metrics/metrics.h"

typedef struct {
    gw_metrics_t  *metrics;         /* NULL: /metrics is not served */
    int            ready;
    char           reason[256];     /* why not ready */
} gw_admin_health_t;

void gw_admin_endpoints(void *data, const char *path,
    gw_admin_reply_t *reply);

#endif /* GW_ADMIN_ENDPOINTS_H */
