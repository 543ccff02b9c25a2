/*
 * ngx-gateway: informers, LIST + WATCH per kind (see informer.h).
 *
 * Each kind is a small state machine:
 *
 *   OFF --start--> LIST --last page--> WATCH --normal end--> WATCH
 *                   ^  |                  |   |
 *                   |  error              |   410 / ERROR 410 --> LIST
 *                   |  v                  |
 *                   +- WAIT <-- error ----+   (WAIT ends in LIST or WATCH)
 *
 * A kind has at most one request out at a time (a LIST page or its
 * WATCH), always made with gw_kube_stream() so that it can be cancelled
 * when the kind stops; a LIST body is collected from its lines.
 *
 * Discovery (GET /apis/gateway.networking.k8s.io/<version> for each
 * version we know) decides which Gateway API kinds are served and with
 * which version; the core kinds and the CRDs are always started.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "kube/informer_int.h"

#define GW_LIST_LIMIT         500
#define GW_LIST_TIMEOUT_MS    60000
#define GW_WATCH_SECONDS      300        /* randomised by +/- 10 % */
#define GW_WATCH_GRACE_MS     30000      /* client deadline past the server's */
#define GW_CRD_SETTLE_MS      1000       /* a burst of CRD changes -> one */
#define GW_WATCH_SHORT_MS     1000       /* a watch shorter is suspicious */


const gw_kind_def_t  gw_kind_defs[] = {
    { "Namespace", "", "namespaces", { "v1" }, NULL, 0, 0, 0 },
    { "Service", "", "services", { "v1" }, NULL, 0, 0, 0 },
    { "Secret", "", "secrets", { "v1" },
      "fieldSelector=type%3Dkubernetes.io%2Ftls", 0, 0, 0 },
    { "ConfigMap", "", "configmaps", { "v1" }, NULL, 0, 0, 0 },
    { "EndpointSlice", "discovery.k8s.io", "endpointslices", { "v1" },
      NULL, 0, 0, 0 },
    { "CustomResourceDefinition", "apiextensions.k8s.io",
      "customresourcedefinitions", { "v1" }, NULL, 0, 1, 1 },
    { "GatewayClass", GW_GATEWAY_GROUP, "gatewayclasses",
      { "v1", "v1beta1" }, NULL, 1, 0, 0 },
    { "Gateway", GW_GATEWAY_GROUP, "gateways", { "v1", "v1beta1" }, NULL,
      1, 0, 0 },
    { "HTTPRoute", GW_GATEWAY_GROUP, "httproutes", { "v1", "v1beta1" },
      NULL, 1, 0, 0 },
    { "GRPCRoute", GW_GATEWAY_GROUP, "grpcroutes", { "v1", "v1alpha2" },
      NULL, 1, 0, 0 },
    { "ReferenceGrant", GW_GATEWAY_GROUP, "referencegrants",
      { "v1", "v1beta1" }, NULL, 1, 0, 0 },
    { "TLSRoute", GW_GATEWAY_GROUP, "tlsroutes",
      { "v1", "v1alpha3", "v1alpha2" }, NULL, 1, 0, 0 },
    { "TCPRoute", GW_GATEWAY_GROUP, "tcproutes", { "v1", "v1alpha2" }, NULL,
      1, 0, 0 },
    { "UDPRoute", GW_GATEWAY_GROUP, "udproutes", { "v1", "v1alpha2" }, NULL,
      1, 0, 0 },
    { "ListenerSet", GW_GATEWAY_GROUP, "listenersets", { "v1" }, NULL, 1,
      0, 0 },
    { "BackendTLSPolicy", GW_GATEWAY_GROUP, "backendtlspolicies",
      { "v1", "v1alpha3" }, NULL, 1, 0, 0 },
};

_Static_assert(gw_countof(gw_kind_defs) == GW_NKINDS, "GW_NKINDS");




unsigned
gw_inf_rand(gw_informers_t *inf)
{
    /* xorshift32: jitter only, nothing secret */
    inf->seed ^= inf->seed << 13;
    inf->seed ^= inf->seed >> 17;
    inf->seed ^= inf->seed << 5;

    return inf->seed;
}


static void
gw_inf_urlenc(gw_buf_t *b, const char *s)
{
    static const char  hex[] = "0123456789ABCDEF";

    for ( ; *s != '\0'; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')
            || (*s >= '0' && *s <= '9') || strchr("-._~", *s) != NULL)
        {
            gw_buf_putc(b, *s);

        } else {
            gw_buf_putc(b, '%');
            gw_buf_putc(b, hex[(unsigned char) *s >> 4]);
            gw_buf_putc(b, hex[(unsigned char) *s & 0xf]);
        }
    }
}


static void
gw_inf_path(gw_informer_t *in, gw_buf_t *b)
{
    if (in->def->group[0] == '\0') {
        gw_buf_printf(b, "/api/%s/%s", in->version, in->def->resource);
    } else {
        gw_buf_printf(b, "/apis/%s/%s/%s", in->def->group, in->version,
                      in->def->resource);
    }
}


static void
gw_inf_set_str(char **p, const char *s)
{
    free(*p);
    *p = s != NULL && s[0] != '\0' ? gw_xstrdup(s) : NULL;
}


/* Fills in what LIST items lack: core kinds come without apiVersion. */
static void
gw_inf_stamp(gw_informer_t *in, cJSON *obj)
{
    if (cJSON_GetObjectItem(obj, "apiVersion") == NULL) {
        cJSON_AddStringToObject(obj, "apiVersion", in->api_version);
    }

    if (cJSON_GetObjectItem(obj, "kind") == NULL) {
        cJSON_AddStringToObject(obj, "kind", in->def->kind);
    }
}


static int
gw_inf_wanted(gw_informer_t *in, const cJSON *obj)
{
    const char  *group;

    if (!in->def->gateway_crds) {
        return 1;
    }

    group = cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(obj, "spec"), "group"));

    return gw_streq(group, GW_GATEWAY_GROUP);
}


static void
gw_inf_emit(gw_informer_t *in, gw_watch_event_e ev, const cJSON *obj)
{
    gw_informers_t  *inf = in->owner;

    inf->stats.events++;
    inf->cb(inf->data, ev, in->api_version, in->def->kind, obj);
}


static void
gw_inf_gone(void *data, const cJSON *obj)
{
    gw_inf_emit(data, GW_WATCH_DELETED, obj);
}


/* A changed Gateway API CRD: look at what is served again, soon. */
static void
gw_inf_crd_changed(gw_informer_t *in, const cJSON *obj)
{
    if (!in->def->gateway_crds || !in->listed) {
        return;
    }

    gw_log(GW_LOG_INFO, "Gateway API CRD changed", "name",
           cJSON_GetStringValue(cJSON_GetObjectItem(
               cJSON_GetObjectItem(obj, "metadata"), "name")), NULL);

    gw_disc_soon(in->owner, GW_CRD_SETTLE_MS);
}


/* Stores and reports one object; takes obj. */
static void
gw_inf_apply(gw_informer_t *in, cJSON *obj)
{
    int            rc;
    const cJSON   *cur;
    const cJSON   *meta;

    if (!gw_inf_wanted(in, obj)) {
        cJSON_Delete(obj);
        return;
    }

    gw_inf_stamp(in, obj);
    meta = cJSON_GetObjectItem(obj, "metadata");

    rc = gw_kcache_apply(&in->cache, obj, in->mark);
    if (rc == GW_ERR || rc == GW_KCACHE_SAME) {
        return;
    }

    cur = gw_kcache_get(&in->cache,
                        cJSON_GetStringValue(cJSON_GetObjectItem(meta,
                                                              "namespace")),
                        cJSON_GetStringValue(cJSON_GetObjectItem(meta,
                                                                 "name")));
    gw_inf_emit(in, (gw_watch_event_e) rc, cur);
    gw_inf_crd_changed(in, cur);
}


/* Waits, then lists again (relist) or watches again. */
static void
gw_inf_retry(gw_informer_t *in, int relist, long retry_after_s,
    const char *why)
{
    long         delay;
    const char  *what;

    delay = gw_backoff_next(&in->backoff, retry_after_s,
                            gw_inf_rand(in->owner));

    what = in->state == GW_INF_LIST ? "list failed" : "watch failed";

    in->state = GW_INF_WAIT;
    in->retry_list = relist;
    in->retry_at = gw_kube_now_ms() + delay;

    gw_log(GW_LOG_WARN, what, "kind", in->def->kind, "error", why, "retry",
           relist ? "list" : "watch", "retry_ms", gw_log_int(delay), NULL);
}


/* What an unsuccessful answer means for a kind; relist: LIST after. */
static void
gw_inf_failed(gw_informer_t *in, const gw_kube_response_t *r, int relist)
{
    char   why[256];
    long   after;

    if (r->status == 0) {
        snprintf(why, sizeof(why), "%s", r->error ? r->error : "no answer");
    } else {
        snprintf(why, sizeof(why), "HTTP %ld", r->status);
    }

    after = r->retry_after;
    if (after == 0 && r->status != 0) {
        after = gw_status_retry_after(r->body, r->len);
    }

    if (r->status == 404 && in->def->discovered) {
        /* the CRD went away (or a version): discovery decides */
        gw_disc_soon(in->owner, 0);
        relist = 1;
    }

    if (in->def->optional && (r->status == 403 || r->status == 404)) {
        if (!in->failed) {
            gw_log(GW_LOG_WARN, "cannot list, going on without it", "kind",
                   in->def->kind, "error", why, NULL);
        }
        in->failed = 1;
    }

    if (r->status == 401) {
        gw_log(GW_LOG_ERROR, "unauthorized (HTTP 401): the API server "
               "refused our credentials (check the kubeconfig's token or "
               "client certificate)", "kind", in->def->kind, NULL);
    }

    if (r->status == 403 && !in->def->optional) {
        gw_log(GW_LOG_ERROR, "forbidden: check the controller's RBAC "
               "(ClusterRole needs list and watch)", "kind", in->def->kind,
               "resource", in->def->resource, NULL);
    }

    gw_inf_retry(in, relist, after, why);
}


static void
gw_inf_list_line(void *data, const char *line, size_t len)
{
    gw_informer_t  *in = data;

    gw_buf_append(&in->body, line, len);
    gw_buf_putc(&in->body, '\n');
}


static void
gw_inf_list_done(void *data, const gw_kube_response_t *r)
{
    cJSON          *root, *items, *item;
    const cJSON    *meta;
    const char     *cont, *rv;
    size_t          gone;
    gw_informer_t  *in = data;

    in->req = 0;
    root = NULL;

    if (r->status == 410 && in->cont != NULL) {
        /* the continue token expired: start the list over */
        gw_log(GW_LOG_INFO, "list continue token expired, listing again",
               "kind", in->def->kind, NULL);
        gw_inf_set_str(&in->cont, NULL);
        gw_buf_reset(&in->body);
        gw_inf_list(in);
        return;
    }

    if (r->status != 200) {
        gw_buf_reset(&in->body);
        gw_inf_set_str(&in->cont, NULL);
        gw_inf_failed(in, r, 1);
        return;
    }

    root = cJSON_ParseWithLength(in->body.data, in->body.len);
    gw_buf_reset(&in->body);

    items = cJSON_GetObjectItem(root, "items");
    meta = cJSON_GetObjectItem(root, "metadata");

    if (root == NULL || !(cJSON_IsArray(items) || cJSON_IsNull(items))) {
        gw_kube_response_t  bad = { 0, NULL, 0, "malformed LIST answer", 0 };

        cJSON_Delete(root);
        gw_inf_set_str(&in->cont, NULL);
        gw_inf_failed(in, &bad, 1);
        return;
    }

    while (cJSON_IsArray(items) && items->child != NULL) {
        item = cJSON_DetachItemViaPointer(items, items->child);
        gw_inf_apply(in, item);
    }

    cont = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "continue"));
    rv = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "resourceVersion"));

    if (cont != NULL && cont[0] != '\0') {
        gw_inf_set_str(&in->cont, cont);
        cJSON_Delete(root);
        gw_inf_list(in);
        return;
    }

    gw_inf_set_str(&in->cont, NULL);
    gw_inf_set_str(&in->rv, rv);
    cJSON_Delete(root);

    /* objects known before and missing from this list are gone */
    gone = gw_kcache_sweep(&in->cache, in->mark, gw_inf_gone, in);

    gw_log(GW_LOG_INFO, "listed", "kind",
           in->def->kind, "version", in->api_version, "objects",
           gw_log_int((long long) in->cache.n), "deleted",
           gw_log_int((long long) gone), "resourceVersion",
           in->rv ? in->rv : "", NULL);

    in->listed = 1;
    in->failed = 0;
    gw_backoff_reset(&in->backoff);

    gw_inf_watch(in);
}


void
gw_inf_list(gw_informer_t *in)
{
    gw_err_t   err;
    gw_buf_t   path;

    if (in->cont == NULL) {
        /* a new list: what it does not see is gone at its end */
        in->mark++;
    }

    gw_buf_init(&path);
    gw_inf_path(in, &path);
    gw_buf_printf(&path, "?limit=%d", GW_LIST_LIMIT);

    if (in->cont != NULL) {
        gw_buf_puts(&path, "&continue=");
        gw_inf_urlenc(&path, in->cont);
    }

    if (in->def->selector != NULL) {
        gw_buf_printf(&path, "&%s", in->def->selector);
    }

    in->state = GW_INF_LIST;
    gw_buf_reset(&in->body);

    if (gw_kube_stream(in->owner->k, path.data, GW_LIST_TIMEOUT_MS,
                       gw_inf_list_line, gw_inf_list_done, in, &in->req,
                       &err)
        != GW_OK)
    {
        in->req = 0;
        gw_inf_retry(in, 1, 0, err.msg);
    }

    gw_buf_free(&path);
}


/* Ends the watch from inside its own callbacks and lists again. */
static void
gw_inf_relist(gw_informer_t *in, const char *why)
{
    if (in->req != 0) {
        gw_kube_cancel(in->owner->k, in->req);
        in->req = 0;
    }

    in->owner->stats.relists++;
    gw_log(GW_LOG_INFO, "listing again", "kind", in->def->kind, "reason",
           why, NULL);

    gw_inf_set_str(&in->cont, NULL);
    gw_inf_list(in);
}


static void
gw_inf_watch_line(void *data, const char *line, size_t len)
{
    cJSON          *old;
    gw_err_t        err;
    gw_wev_t        ev;
    gw_informer_t  *in = data;

    if (in->state != GW_INF_WATCH) {
        return;
    }

    if (gw_wev_parse(&ev, line, len, &err) != GW_OK) {
        gw_log(GW_LOG_WARN, "bad watch event, ignored", "kind",
               in->def->kind, "error", err.msg, NULL);
        return;
    }

    in->watch_events++;

    switch (ev.type) {

    case GW_WEV_ERROR:
        if (ev.code == 410) {
            gw_inf_relist(in, "resourceVersion too old (410 Gone)");
        } else {
            gw_log(GW_LOG_WARN, "watch error event", "kind", in->def->kind,
                   "code", gw_log_int(ev.code), "message",
                   cJSON_GetStringValue(cJSON_GetObjectItem(ev.object,
                                                            "message")),
                   NULL);
            gw_inf_relist(in, "watch error event");
        }
        break;

    case GW_WEV_BOOKMARK:
        gw_inf_set_str(&in->rv, ev.rv);
        break;

    case GW_WEV_DELETED:
        gw_inf_set_str(&in->rv, ev.rv);
        old = gw_kcache_remove(&in->cache, ev.object);
        if (old != NULL) {
            gw_inf_stamp(in, ev.object);
            gw_inf_emit(in, GW_WATCH_DELETED, ev.object);
            gw_inf_crd_changed(in, ev.object);
            cJSON_Delete(old);
        }
        break;

    default:
        gw_inf_set_str(&in->rv, ev.rv);
        gw_inf_apply(in, ev.object);
        ev.object = NULL;
        break;
    }

    gw_wev_release(&ev);
}


static void
gw_inf_watch_done(void *data, const gw_kube_response_t *r)
{
    long long       lasted;
    gw_informer_t  *in = data;

    in->req = 0;
    lasted = gw_kube_now_ms() - in->watch_start;

    if (r->status == 410) {
        in->owner->stats.relists++;
        gw_log(GW_LOG_INFO, "listing again", "kind", in->def->kind,
               "reason", "resourceVersion too old (HTTP 410)", NULL);
        gw_inf_list(in);
        return;
    }

    if (r->status == 200) {
        if (in->watch_events > 0 || lasted >= GW_WATCH_SHORT_MS) {
            /* the server's timeoutSeconds: carry on where it ended */
            gw_backoff_reset(&in->backoff);
            gw_inf_watch(in);
        } else {
            gw_inf_retry(in, 0, 0, "watch ended at once");
        }
        return;
    }

    /*
     * No answer (the connection broke, the server restarts): resume from
     * the resourceVersion we have, a 410 tells if it is too old.  The
     * server refused the watch (e.g. 504 "Too large resource version"
     * after it lost its data): list again, as client-go does.  429 is
     * only "later".
     */
    in->owner->stats.reconnects++;
    gw_inf_failed(in, r, r->status != 0 && r->status != 429);
}


void
gw_inf_watch(gw_informer_t *in)
{
    long       seconds;
    gw_err_t   err;
    gw_buf_t   path;

    /* spread the watches' ends: 270 .. 330 s */
    seconds = GW_WATCH_SECONDS - GW_WATCH_SECONDS / 10
              + (long) (gw_inf_rand(in->owner) % (GW_WATCH_SECONDS / 5 + 1));

    gw_buf_init(&path);
    gw_inf_path(in, &path);
    gw_buf_puts(&path, "?watch=1&allowWatchBookmarks=true");

    if (in->rv != NULL) {
        gw_buf_puts(&path, "&resourceVersion=");
        gw_inf_urlenc(&path, in->rv);
    }

    gw_buf_printf(&path, "&timeoutSeconds=%ld", seconds);

    if (in->def->selector != NULL) {
        gw_buf_printf(&path, "&%s", in->def->selector);
    }

    in->state = GW_INF_WATCH;
    in->watch_start = gw_kube_now_ms();
    in->watch_events = 0;

    if (gw_kube_stream(in->owner->k, path.data,
                       seconds * 1000 + GW_WATCH_GRACE_MS, gw_inf_watch_line,
                       gw_inf_watch_done, in, &in->req, &err)
        != GW_OK)
    {
        in->req = 0;
        gw_inf_retry(in, 0, 0, err.msg);
    }

    gw_buf_free(&path);
}


void
gw_inf_start(gw_informer_t *in, const char *version)
{
    snprintf(in->version, sizeof(in->version), "%s", version);

    if (in->def->group[0] == '\0') {
        snprintf(in->api_version, sizeof(in->api_version), "%s", version);
    } else {
        snprintf(in->api_version, sizeof(in->api_version), "%s/%s",
                 in->def->group, version);
    }

    gw_log(GW_LOG_INFO, "watching", "kind", in->def->kind, "version",
           in->api_version, NULL);

    in->listed = 0;
    in->failed = 0;
    in->absent_logged = 0;
    gw_backoff_reset(&in->backoff);
    gw_inf_set_str(&in->cont, NULL);
    gw_inf_list(in);
}


/* Stops a kind; its objects are reported DELETED when forget is set. */
void
gw_inf_stop(gw_informer_t *in, int forget)
{
    if (in->req != 0) {
        gw_kube_cancel(in->owner->k, in->req);
        in->req = 0;
    }

    in->state = GW_INF_OFF;
    in->version[0] = '\0';
    gw_buf_reset(&in->body);
    gw_inf_set_str(&in->cont, NULL);
    gw_inf_set_str(&in->rv, NULL);

    if (forget) {
        /* no entry carries this mark: every object goes */
        gw_kcache_sweep(&in->cache, in->mark + 1, gw_inf_gone, in);
    }
}
