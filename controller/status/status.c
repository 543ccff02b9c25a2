/*
 * ngx-gateway: status: the graph's conditions plus the runtime's outcome,
 * as a kubectl-style List of status subresources.
 */

#include <string.h>
#include <time.h>
#include <arpa/inet.h>

#include "status/status.h"


typedef struct {
    const char  *now;          /* RFC 3339 UTC, for new transitions */
    const char  *pending;      /* Programmed=True becomes False with this */
    const cJSON *previous;
} gw_status_ctx_t;


static const char *
gw_status_str(const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}


cJSON *
gw_status_find(const cJSON *list, const char *kind, const char *ns,
    const char *name)
{
    const char   *ins;
    const cJSON  *items, *item, *meta;

    items = cJSON_GetObjectItemCaseSensitive(list, "items");

    cJSON_ArrayForEach(item, items) {
        if (!gw_streq(gw_status_str(item, "kind"), kind)) {
            continue;
        }

        meta = cJSON_GetObjectItemCaseSensitive(item, "metadata");
        if (!gw_streq(gw_status_str(meta, "name"), name)) {
            continue;
        }

        ins = gw_status_str(meta, "namespace");
        if (strcmp(ins ? ins : "", ns ? ns : "") != 0) {
            continue;
        }

        return (cJSON *) item;
    }

    return NULL;
}


/* The element of array arr whose string field key equals value. */
static const cJSON *
gw_status_find_by(const cJSON *arr, const char *key, const char *value)
{
    const cJSON  *e;

    cJSON_ArrayForEach(e, arr) {
        if (gw_streq(gw_status_str(e, key), value)) {
            return e;
        }
    }

    return NULL;
}


/*
 * Adds "conditions" to parent from conds; prev is the previous
 * "conditions" array of the same object (or NULL).
 */
static void
gw_status_conds(cJSON *parent, const gw_conds_t *conds, int64_t generation,
    const cJSON *prev, const gw_status_ctx_t *ctx)
{
    size_t            i;
    cJSON            *arr, *c;
    const char       *status, *reason, *message, *ltt;
    const cJSON      *pc;
    const gw_cond_t  *cond;

    arr = cJSON_AddArrayToObject(parent, "conditions");

    for (i = 0; i < conds->n; i++) {
        cond = &conds->items[i];
        status = cond->status;
        reason = cond->reason;
        message = cond->message;

        if (ctx->pending != NULL && strcmp(cond->type, "Programmed") == 0
            && strcmp(status, "True") == 0)
        {
            status = "False";
            reason = "Pending";
            message = ctx->pending;
        }

        ltt = ctx->now;
        pc = gw_status_find_by(prev, "type", cond->type);
        if (pc != NULL && gw_streq(gw_status_str(pc, "status"), status)
            && gw_status_str(pc, "lastTransitionTime") != NULL)
        {
            ltt = gw_status_str(pc, "lastTransitionTime");
        }

        c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "type", cond->type);
        cJSON_AddStringToObject(c, "status", status);
        cJSON_AddStringToObject(c, "reason", reason ? reason : "");
        cJSON_AddStringToObject(c, "message", message ? message : "");
        cJSON_AddNumberToObject(c, "observedGeneration", (double) generation);
        cJSON_AddStringToObject(c, "lastTransitionTime", ltt);
        cJSON_AddItemToArray(arr, c);
    }
}


/*
 * Appends a new item for obj to items; returns its (empty) "status" and
 * the previous item's "status" in *prev.
 */
static cJSON *
gw_status_item(cJSON *items, const gw_obj_t *obj, const char *kind,
    const gw_status_ctx_t *ctx, const cJSON **prev)
{
    cJSON        *item, *meta;
    const cJSON  *pi;

    item = cJSON_CreateObject();
    cJSON_AddItemToArray(items, item);

    cJSON_AddStringToObject(item, "apiVersion", obj->api_version);
    cJSON_AddStringToObject(item, "kind", kind);

    meta = cJSON_AddObjectToObject(item, "metadata");
    cJSON_AddStringToObject(meta, "name", obj->meta.name);
    if (obj->meta.namespace != NULL && obj->meta.namespace[0] != '\0') {
        cJSON_AddStringToObject(meta, "namespace", obj->meta.namespace);
    }
    cJSON_AddNumberToObject(meta, "generation",
                            (double) obj->meta.generation);

    pi = gw_status_find(ctx->previous, kind, obj->meta.namespace,
                        obj->meta.name);
    *prev = cJSON_GetObjectItemCaseSensitive(pi, "status");

    return cJSON_AddObjectToObject(item, "status");
}


static void
gw_status_class(cJSON *items, const gw_gclass_t *c,
    const gw_status_ctx_t *ctx)
{
    size_t        i;
    cJSON        *st, *arr, *f;
    const cJSON  *prev;

    st = gw_status_item(items, c->obj, "GatewayClass", ctx, &prev);

    gw_status_conds(st, &c->conds, c->obj->meta.generation,
                    cJSON_GetObjectItemCaseSensitive(prev, "conditions"),
                    ctx);

    if (!c->accepted) {
        return;
    }

    arr = cJSON_AddArrayToObject(st, "supportedFeatures");
    for (i = 0; i < gw_nsupported_features; i++) {
        f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "name", gw_supported_features[i]);
        cJSON_AddItemToArray(arr, f);
    }
}


/*
 * status.listeners[] entries for the listeners of gw that owner defines
 * (NULL: the Gateway's own); prev is the previous "status" of the same
 * object.
 */
static void
gw_status_listeners(cJSON *st, const gw_ggateway_t *gw,
    const gw_glset_t *owner, int64_t gen, const cJSON *prev,
    const gw_status_ctx_t *ctx)
{
    size_t                 i, k;
    cJSON                 *ls, *l, *kinds, *kd;
    const cJSON           *pl;
    const gw_glistener_t  *gl;

    ls = cJSON_AddArrayToObject(st, "listeners");

    for (i = 0; i < gw->nlisteners; i++) {
        gl = &gw->listeners[i];
        if (gl->lset != owner) {
            continue;
        }

        l = cJSON_CreateObject();
        cJSON_AddItemToArray(ls, l);
        cJSON_AddStringToObject(l, "name", gl->spec->name);

        kinds = cJSON_AddArrayToObject(l, "supportedKinds");
        for (k = 0; k < gl->nkinds; k++) {
            kd = cJSON_CreateObject();
            cJSON_AddStringToObject(kd, "group", GW_GROUP);
            cJSON_AddStringToObject(kd, "kind", gl->kinds[k]);
            cJSON_AddItemToArray(kinds, kd);
        }

        cJSON_AddNumberToObject(l, "attachedRoutes", gl->attached);

        pl = gw_status_find_by(
                 cJSON_GetObjectItemCaseSensitive(prev, "listeners"),
                 "name", gl->spec->name);

        gw_status_conds(l, &gl->conds, gen,
                        cJSON_GetObjectItemCaseSensitive(pl, "conditions"),
                        ctx);
    }
}


static void
gw_status_gateway(cJSON *items, const gw_ggateway_t *gw,
    const gw_status_ctx_t *ctx)
{
    cJSON                 *st, *arr, *a;
    int64_t                gen;
    const cJSON           *prev;
    unsigned char          addr[16];

    st = gw_status_item(items, gw->obj, "Gateway", ctx, &prev);
    gen = gw->obj->meta.generation;

    /* a Gateway that listens nowhere has no address to report */
    if (gw->accepted && gw->address != NULL) {
        arr = cJSON_AddArrayToObject(st, "addresses");
        a = cJSON_CreateObject();
        cJSON_AddStringToObject(a, "type",
            (inet_pton(AF_INET, gw->address, addr) == 1
             || inet_pton(AF_INET6, gw->address, addr) == 1)
            ? "IPAddress" : "Hostname");
        cJSON_AddStringToObject(a, "value", gw->address);
        cJSON_AddItemToArray(arr, a);
    }

    gw_status_conds(st, &gw->conds, gen,
                    cJSON_GetObjectItemCaseSensitive(prev, "conditions"),
                    ctx);

    gw_status_listeners(st, gw, NULL, gen, prev, ctx);

    /* only where ListenerSets may attach (absent reads as 0) */
    if (gw->obj->u.gateway.lsets_from != GW_FROM_NONE) {
        cJSON_AddNumberToObject(st, "attachedListenerSets",
                                gw->attached_lsets);
    }
}


static void
gw_status_lset(cJSON *items, const gw_glset_t *ls,
    const gw_status_ctx_t *ctx)
{
    cJSON        *st;
    int64_t       gen;
    const cJSON  *prev;

    st = gw_status_item(items, ls->obj, "ListenerSet", ctx, &prev);
    gen = ls->obj->meta.generation;

    gw_status_conds(st, &ls->conds, gen,
                    cJSON_GetObjectItemCaseSensitive(prev, "conditions"),
                    ctx);

    gw_status_listeners(st, ls->gateway, ls, gen, prev, ctx);
}


static void
gw_status_route(cJSON *items, const gw_graph_t *g, const gw_groute_t *r,
    const gw_status_ctx_t *ctx)
{
    size_t                  i;
    cJSON                  *st, *ps, *p, *ref;
    gw_conds_t              conds;
    const cJSON            *prev, *pp;
    const gw_parent_ref_t  *pr;

    st = gw_status_item(items, r->obj, r->kind_name, ctx, &prev);
    ps = cJSON_AddArrayToObject(st, "parents");

    for (i = 0; i < r->nparents; i++) {
        pr = r->parents[i].ref;

        p = cJSON_CreateObject();
        cJSON_AddItemToArray(ps, p);

        ref = cJSON_AddObjectToObject(p, "parentRef");
        cJSON_AddStringToObject(ref, "group",
                                pr->group ? pr->group : GW_GROUP);
        cJSON_AddStringToObject(ref, "kind", pr->kind ? pr->kind : "Gateway");
        /* echoed as written: namespace only when the route gave one */
        if (pr->namespace != NULL) {
            cJSON_AddStringToObject(ref, "namespace", pr->namespace);
        }
        cJSON_AddStringToObject(ref, "name", pr->name);
        if (pr->section_name != NULL) {
            cJSON_AddStringToObject(ref, "sectionName", pr->section_name);
        }
        if (pr->port != 0) {
            cJSON_AddNumberToObject(ref, "port", pr->port);
        }

        cJSON_AddStringToObject(p, "controllerName", g->controller_name);

        /* The previous entry for the same parentRef and controller. */
        cJSON_ArrayForEach(pp,
                           cJSON_GetObjectItemCaseSensitive(prev, "parents"))
        {
            if (gw_streq(gw_status_str(pp, "controllerName"),
                         g->controller_name)
                && cJSON_Compare(
                       cJSON_GetObjectItemCaseSensitive(pp, "parentRef"),
                       ref, 1))
            {
                break;
            }
        }

        /*
         * Routes have no Programmed condition in the spec; while nginx
         * refuses the latest configuration, an accepted route says so
         * with one (an implementation-specific condition), since its
         * change may not be live.
         */
        conds = r->parents[i].conds;
        if (ctx->pending != NULL && r->parents[i].accepted) {
            gw_conds_set(&conds, "Programmed", 0, "Pending", ctx->pending);
        }

        gw_status_conds(p, &conds, r->obj->meta.generation,
                        cJSON_GetObjectItemCaseSensitive(pp, "conditions"),
                        ctx);
    }
}


/*
 * A BackendTLSPolicy: one status.ancestors entry per Gateway of ours its
 * targets are reached through (PolicyAncestorStatus), each with the
 * policy's conditions.
 */
static void
gw_status_policy(cJSON *items, const gw_graph_t *g, const gw_gpolicy_t *p,
    const gw_status_ctx_t *ctx)
{
    size_t                i;
    cJSON                *st, *as, *a, *ref;
    const cJSON          *prev, *pa;
    const gw_ggateway_t  *gw;

    if (p->ancestors.n == 0) {
        return;                 /* not used by a Gateway of ours */
    }

    st = gw_status_item(items, p->obj, "BackendTLSPolicy", ctx, &prev);
    as = cJSON_AddArrayToObject(st, "ancestors");

    for (i = 0; i < p->ancestors.n; i++) {
        gw = p->ancestors.items[i];

        a = cJSON_CreateObject();
        cJSON_AddItemToArray(as, a);

        ref = cJSON_AddObjectToObject(a, "ancestorRef");
        cJSON_AddStringToObject(ref, "group", GW_GROUP);
        cJSON_AddStringToObject(ref, "kind", "Gateway");
        cJSON_AddStringToObject(ref, "namespace", gw->obj->meta.namespace);
        cJSON_AddStringToObject(ref, "name", gw->obj->meta.name);

        cJSON_AddStringToObject(a, "controllerName", g->controller_name);

        cJSON_ArrayForEach(pa,
                           cJSON_GetObjectItemCaseSensitive(prev, "ancestors"))
        {
            if (gw_streq(gw_status_str(pa, "controllerName"),
                         g->controller_name)
                && cJSON_Compare(
                       cJSON_GetObjectItemCaseSensitive(pa, "ancestorRef"),
                       ref, 1))
            {
                break;
            }
        }

        gw_status_conds(a, &p->conds, p->obj->meta.generation,
                        cJSON_GetObjectItemCaseSensitive(pa, "conditions"),
                        ctx);
    }
}


cJSON *
gw_status_build(const gw_graph_t *g, const gw_status_outcome_t *outcome,
    const cJSON *previous)
{
    char              now[32];
    size_t            i;
    cJSON            *list, *items;
    time_t            t;
    struct tm         tm;
    gw_buf_t          pending;
    gw_status_ctx_t   ctx;

    gw_buf_init(&pending);

    t = time(NULL);
    gmtime_r(&t, &tm);
    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%SZ", &tm);

    ctx.now = now;
    ctx.pending = NULL;
    ctx.previous = previous;

    if (outcome != NULL && !outcome->programmed) {
        gw_buf_printf(&pending, "configuration not live: %s",
                      outcome->message ? outcome->message : "not confirmed");
        ctx.pending = pending.data;
    }

    list = cJSON_CreateObject();
    if (list == NULL) {
        goto out;
    }

    cJSON_AddStringToObject(list, "apiVersion", "v1");
    cJSON_AddStringToObject(list, "kind", "List");
    items = cJSON_AddArrayToObject(list, "items");

    for (i = 0; i < g->classes.n; i++) {
        gw_status_class(items, g->classes.items[i], &ctx);
    }

    for (i = 0; i < g->gateways.n; i++) {
        gw_status_gateway(items, g->gateways.items[i], &ctx);
    }

    for (i = 0; i < g->lsets.n; i++) {
        gw_status_lset(items, g->lsets.items[i], &ctx);
    }

    for (i = 0; i < g->routes.n; i++) {
        gw_status_route(items, g, g->routes.items[i], &ctx);
    }

    for (i = 0; i < g->policies.n; i++) {
        gw_status_policy(items, g, g->policies.items[i], &ctx);
    }

out:

    gw_buf_free(&pending);

    return list;
}


int
gw_status_write(gw_buf_t *out, const cJSON *list, const char *format,
    gw_err_t *err)
{
    char  *s;

    if (gw_streq(format, "json")) {
        s = cJSON_Print(list);
        if (s == NULL) {
            gw_err_set(err, "cannot print status as JSON");
            return GW_ERR;
        }

        gw_buf_puts(out, s);
        gw_buf_putc(out, '\n');
        cJSON_free(s);

        return GW_OK;
    }

    if (gw_streq(format, "yaml")) {
        gw_status_write_yaml(out, list);
        return GW_OK;
    }

    if (gw_streq(format, "describe")) {
        gw_status_write_describe(out, list);
        return GW_OK;
    }

    gw_err_set(err, "unknown output format \"%s\" (json, yaml, describe)",
               format ? format : "");

    return GW_ERR;
}
