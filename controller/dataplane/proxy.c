/*
 * ngx-gateway: an HTTPRoute rule's protocol, timeouts and retries as
 * nginx directives (proxy_* or, for HTTP/2 cleartext backends, grpc_*).
 *
 * Timeouts.  nginx has no timer for a whole request; it has timeouts for
 * one attempt at an upstream (connect, send, and read: the time between
 * two reads) and a budget for passing a request on to further upstreams
 * (next_upstream_timeout).  So:
 *
 *   backendRequest  -> connect, send and read timeouts of every attempt
 *   request         -> the same when backendRequest is absent (an attempt
 *                      cannot take longer than the request), and the
 *                      budget for retries: no new attempt starts once it
 *                      has passed since the first
 *
 * A backend that answers within the read timeout again and again (a slow
 * stream) can take longer than the request timeout; a request that times
 * out answers 504.  "0s" disables a timeout: nginx has no "never", it
 * gets GW_TIMEOUT_OFF.  Without timeouts nginx's defaults stay (60s).
 *
 * Retries.  proxy_next_upstream with "error timeout" (connection errors
 * and timeouts are always retried) and the codes given, as http_NNN (the
 * graph refused codes nginx cannot retry on); tries = attempts + 1 (the
 * first try is not a retry), attempts defaulting to 1.  nginx retries on
 * another peer of the upstream and never on one it already tried, so a
 * retry rule gets upstreams that list each endpoint as many times as it
 * has tries (at most GW_RETRY_COPIES_MAX), with max_fails=0 so that a
 * retried 5xx does not take the endpoint out for other requests.  backoff
 * is not carried: nginx retries at once.  nginx does not retry requests
 * with non-idempotent methods (POST, PATCH, ...) once they were sent.
 *
 * Session persistence: dataplane/session.c.
 */

#include <string.h>

#include "core/gw_buf.h"
#include "dataplane/dataplane_int.h"

#define GW_TIMEOUT_OFF        "24h"
#define GW_RETRY_ATTEMPTS     1
#define GW_RETRY_COPIES_MAX   10
#define GW_RETRY_TRIES_MAX    100

#define GW_PROTO_H2C  "kubernetes.io/h2c"


static const char *
gw_dp_ms(gw_dp_ctx_t *ctx, int64_t ms)
{
    if (ms == 0) {
        return GW_TIMEOUT_OFF;
    }

    if (ms % 1000 == 0) {
        return gw_arena_printf(ctx->a, "%llds", (long long) (ms / 1000));
    }

    return gw_arena_printf(ctx->a, "%lldms", (long long) ms);
}


static void
gw_dp_proxy_timeouts(gw_dp_ctx_t *ctx, const gw_rule_ext_t *ext,
    gw_dp_proxy_t *p)
{
    int64_t      attempt;
    const char  *t;

    /* an attempt: backendRequest, else request; 0 = disabled */
    attempt = GW_DURATION_UNSET;

    if (ext->backend_ms > 0) {
        attempt = ext->backend_ms;
    }

    if (ext->request_ms > 0
        && (attempt == GW_DURATION_UNSET || ext->request_ms < attempt))
    {
        attempt = ext->request_ms;
    }

    if (attempt == GW_DURATION_UNSET
        && (ext->backend_ms == 0 || ext->request_ms == 0))
    {
        attempt = 0;
    }

    if (attempt != GW_DURATION_UNSET) {
        t = gw_dp_ms(ctx, attempt);
        p->connect_timeout = t;
        p->send_timeout = t;
        p->read_timeout = t;
    }

    if (ext->request_ms > 0) {
        p->next_timeout = gw_dp_ms(ctx, ext->request_ms);
    }
}


static void
gw_dp_proxy_retry(gw_dp_ctx_t *ctx, const gw_rule_ext_t *ext,
    gw_dp_proxy_t *p, int *copies)
{
    int       attempts;
    size_t    i;
    gw_buf_t  b;

    attempts = ext->attempts > 0 ? ext->attempts : GW_RETRY_ATTEMPTS;
    if (attempts >= GW_RETRY_TRIES_MAX) {
        attempts = GW_RETRY_TRIES_MAX - 1;
    }

    gw_buf_init(&b);
    gw_buf_puts(&b, "error timeout");
    for (i = 0; i < ext->ncodes; i++) {
        gw_buf_printf(&b, " http_%d", ext->codes[i]);
    }
    p->next_upstream = gw_arena_strndup(ctx->a, b.data, b.len);
    gw_buf_free(&b);

    p->tries = attempts + 1;
    *copies = p->tries < GW_RETRY_COPIES_MAX ? p->tries
                                             : GW_RETRY_COPIES_MAX;
}


gw_dp_proxy_t *
gw_dp_proxy(gw_dp_ctx_t *ctx, const gw_grule_t *rule, int *copies)
{
    gw_dp_proxy_t          *p;
    const gw_rule_ext_t    *ext;
    const gw_dp_session_t  *session;

    *copies = 1;
    ext = rule->ext;
    session = gw_dp_session(ctx, rule);

    if (rule->protocol == NULL && session == NULL
        && (ext == NULL
            || (ext->request_ms == GW_DURATION_UNSET
                && ext->backend_ms == GW_DURATION_UNSET && !ext->retry)))
    {
        return NULL;
    }

    p = gw_arena_alloc(ctx->a, sizeof(gw_dp_proxy_t));
    p->session = session;

    if (rule->protocol != NULL) {
        p->h2c = (strcmp(rule->protocol, GW_PROTO_H2C) == 0);
        p->ws = !p->h2c;
    }

    if (ext != NULL) {
        gw_dp_proxy_timeouts(ctx, ext, p);
        if (ext->retry) {
            gw_dp_proxy_retry(ctx, ext, p, copies);
        }
    }

    return p;
}
