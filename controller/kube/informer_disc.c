/*
 * ngx-gateway: informers, discovery of the Gateway API kinds served (see
 * informer.c): GET /apis/gateway.networking.k8s.io/<version> for every
 * version we know; each kind gets the first version of its preference
 * list that serves it.  A kind that appears is started, one that goes is
 * stopped with its objects reported DELETED, one whose preferred version
 * changes is listed again under the new one.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "kube/informer_int.h"

#define GW_REDISCOVER_MS      30000
#define GW_DISC_TIMEOUT_MS    10000


/* The Gateway API versions discovery asks about. */
static const char  *gw_gateway_versions[] = {
    "v1", "v1beta1", "v1alpha3", "v1alpha2"
};

_Static_assert(gw_countof(gw_gateway_versions) == GW_NVERSIONS,
               "GW_NVERSIONS");


/* Runs discovery in delay_ms, unless it is due sooner already. */
void
gw_disc_soon(gw_informers_t *inf, long delay_ms)
{
    long long  at;

    at = gw_kube_now_ms() + delay_ms;

    if (inf->disc_at == 0 || inf->disc_at > at) {
        inf->disc_at = at;
    }
}


static int
gw_disc_serves(const gw_discovery_t *d, const char *resource)
{
    const cJSON  *r;

    if (d->status != 200) {
        return 0;
    }

    cJSON_ArrayForEach(r, cJSON_GetObjectItem(d->resources, "resources")) {
        if (gw_streq(cJSON_GetStringValue(cJSON_GetObjectItem(r, "name")),
                     resource))
        {
            return 1;
        }
    }

    return 0;
}


/* Every version answered: start, stop or switch the Gateway API kinds. */
static void
gw_disc_apply(gw_informers_t *inf)
{
    size_t          i, v, j;
    int             missing;
    const char     *want;
    gw_informer_t  *in;

    missing = 0;

    for (i = 0; i < GW_NKINDS; i++) {
        in = &inf->kinds[i];
        if (!in->def->discovered) {
            continue;
        }

        want = NULL;
        for (j = 0; j < gw_countof(in->def->versions) && want == NULL; j++) {
            for (v = 0; v < GW_NVERSIONS && in->def->versions[j] != NULL;
                 v++)
            {
                if (strcmp(gw_gateway_versions[v], in->def->versions[j]) == 0
                    && gw_disc_serves(&inf->disc[v], in->def->resource))
                {
                    want = in->def->versions[j];
                    break;
                }
            }
        }

        if (want == NULL) {
            missing = 1;

            if (in->state != GW_INF_OFF) {
                gw_log(GW_LOG_WARN, "CRD gone, forgetting its objects",
                       "kind", in->def->kind, NULL);
                gw_inf_stop(in, 1);

            } else if (!in->absent_logged) {
                gw_log(GW_LOG_INFO, "kind not served (CRD not installed), "
                       "looking again every 30 s", "kind", in->def->kind,
                       NULL);
                in->absent_logged = 1;
            }

            continue;
        }

        if (in->state != GW_INF_OFF && strcmp(in->version, want) == 0) {
            continue;
        }

        if (in->state != GW_INF_OFF) {
            /* another version is preferred now: list it over the cache */
            gw_inf_stop(in, 0);
        }

        gw_inf_start(in, want);
    }

    inf->discovered = 1;
    gw_backoff_reset(&inf->disc_backoff);

    if (missing) {
        gw_disc_soon(inf, GW_REDISCOVER_MS);
    }
}


static void
gw_disc_line(void *data, const char *line, size_t len)
{
    gw_discovery_t  *d = data;

    gw_buf_append(&d->body, line, len);
    gw_buf_putc(&d->body, '\n');
}


static void
gw_disc_done(void *data, const gw_kube_response_t *r)
{
    size_t           i;
    long             delay;
    gw_discovery_t  *d = data;
    gw_informers_t  *inf = d->owner;

    d->req = 0;
    inf->disc_pending--;

    cJSON_Delete(d->resources);
    d->resources = NULL;
    d->status = r->status;

    if (r->status == 200) {
        d->resources = cJSON_ParseWithLength(d->body.data, d->body.len);
        if (d->resources == NULL) {
            d->status = -1;
        }
    }

    gw_buf_reset(&d->body);

    if (inf->disc_pending > 0) {
        return;
    }

    for (i = 0; i < GW_NVERSIONS; i++) {
        if (inf->disc[i].status != 200 && inf->disc[i].status != 404) {
            /* not a clear answer: change nothing, ask again */
            delay = gw_backoff_next(&inf->disc_backoff, r->retry_after,
                                    gw_inf_rand(inf));
            gw_disc_soon(inf, delay);
            gw_log(GW_LOG_WARN, "discovery failed, retrying", "version",
                   gw_gateway_versions[i], "status",
                   gw_log_int(inf->disc[i].status), "retry_ms",
                   gw_log_int(delay), NULL);
            return;
        }
    }

    gw_disc_apply(inf);
}


void
gw_disc_start(gw_informers_t *inf)
{
    size_t           i;
    gw_err_t         err;
    gw_buf_t         path;
    gw_discovery_t  *d;

    inf->disc_at = 0;
    gw_buf_init(&path);

    for (i = 0; i < GW_NVERSIONS; i++) {
        d = &inf->disc[i];
        d->status = 0;
        gw_buf_reset(&d->body);
        gw_buf_reset(&path);
        gw_buf_printf(&path, "/apis/" GW_GATEWAY_GROUP "/%s",
                      gw_gateway_versions[i]);

        if (gw_kube_stream(inf->k, path.data, GW_DISC_TIMEOUT_MS,
                           gw_disc_line, gw_disc_done, d, &d->req, &err)
            != GW_OK)
        {
            d->req = 0;
            d->status = -1;
            gw_log(GW_LOG_ERROR, "discovery request failed", "error",
                   err.msg, NULL);
            continue;
        }

        inf->disc_pending++;
    }

    gw_buf_free(&path);

    if (inf->disc_pending == 0) {
        inf->disc_at = gw_kube_now_ms()
                       + gw_backoff_next(&inf->disc_backoff, 0,
                                         gw_inf_rand(inf));
    }
}
