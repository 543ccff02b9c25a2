/*
 * ngx-gateway: the admin endpoint's paths: health, readiness, metrics.
 */

#include <string.h>

#include "admin/endpoints.h"


void
gw_admin_endpoints(void *data, const char *path, gw_admin_reply_t *reply)
{
    gw_admin_health_t  *h;

    h = data;

    if (strcmp(path, "/healthz") == 0) {
        reply->status = 200;
        gw_buf_puts(&reply->body, "ok\n");

    } else if (strcmp(path, "/readyz") == 0) {
        if (h->ready) {
            reply->status = 200;
            gw_buf_puts(&reply->body, "ok\n");
        } else {
            reply->status = 503;
            gw_buf_printf(&reply->body, "not ready: %s\n",
                          h->reason[0] ? h->reason : "starting");
        }

    } else if (strcmp(path, "/metrics") == 0 && h->metrics != NULL) {
        reply->status = 200;
        reply->content_type = GW_METRICS_CONTENT_TYPE;
        gw_metrics_write(h->metrics, &reply->body);
    }
}
