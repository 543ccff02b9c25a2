/*
 * ngx-gateway: decoding ListenerSet (GEP-1713) and the Gateway's
 * spec.allowedListeners, which says which ListenerSets may attach.
 *
 * A ListenerSet's listener entries have the Gateway listener's shape and
 * CRD rules, so they go through the same decoder (decode_gateway.c).
 */

#include <string.h>

#include "api/decode.h"


int
gw_decode_allowed_listeners(gw_dec_t *d, const cJSON *spec, gw_gateway_t *gw)
{
    const char   *from, *p;
    const cJSON  *al, *ns, *sel;

    gw->lsets_from = GW_FROM_NONE;

    if (gw_dec_object(d, spec, "allowedListeners", "spec", &al) != GW_OK
        || gw_dec_object(d, al, "namespaces", "spec.allowedListeners", &ns)
           != GW_OK
        || gw_dec_str(d, ns, "from", "spec.allowedListeners.namespaces",
                      "None", &from) != GW_OK
        || gw_dec_object(d, ns, "selector",
                         "spec.allowedListeners.namespaces", &sel) != GW_OK)
    {
        return GW_ERR;
    }

    if (strcmp(from, "None") == 0) {
        gw->lsets_from = GW_FROM_NONE;
    } else if (strcmp(from, "Same") == 0) {
        gw->lsets_from = GW_FROM_SAME;
    } else if (strcmp(from, "All") == 0) {
        gw->lsets_from = GW_FROM_ALL;
    } else if (strcmp(from, "Selector") == 0) {
        gw->lsets_from = GW_FROM_SELECTOR;
    } else {
        gw_err_set(d->err, "spec.allowedListeners.namespaces.from: "
                   "Unsupported value: \"%s\": supported values: \"All\", "
                   "\"Selector\", \"Same\", \"None\"", from);
        return GW_ERR;
    }

    if (gw->lsets_from != GW_FROM_SELECTOR) {
        return GW_OK;
    }

    p = "spec.allowedListeners.namespaces.selector";

    if (sel == NULL) {
        gw_err_set(d->err, "%s: Required value: selector must be specified "
                   "when from is Selector", p);
        return GW_ERR;
    }

    return gw_dec_selector(d, sel, p, &gw->lsets_selector);
}


int
gw_decode_listenerset(gw_dec_t *d, gw_obj_t *obj)
{
    size_t             i, j;
    const char        *p;
    const cJSON       *spec, *pr, *arr, *it;
    gw_listenerset_t  *ls;

    ls = &obj->u.listenerset;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_dec_object(d, spec, "parentRef", "spec", &pr) != GW_OK)
    {
        return GW_ERR;
    }

    if (pr == NULL) {
        gw_err_set(d->err, "spec.parentRef: Required value");
        return GW_ERR;
    }

    p = "spec.parentRef";

    if (gw_dec_str(d, pr, "group", p, GW_GROUP, &ls->group) != GW_OK
        || gw_dec_str(d, pr, "kind", p, "Gateway", &ls->kind) != GW_OK
        || gw_dec_str_req(d, pr, "name", p, &ls->name) != GW_OK
        || gw_dec_str(d, pr, "namespace", p, NULL, &ls->namespace) != GW_OK
        || gw_dec_array(d, spec, "listeners", "spec", 64, &arr,
                        &ls->nlisteners) != GW_OK)
    {
        return GW_ERR;
    }

    if (ls->nlisteners == 0) {
        gw_err_set(d->err, "spec.listeners: Required value: must have at "
                   "least 1 item");
        return GW_ERR;
    }

    ls->listeners = gw_arena_alloc(d->arena,
                                   ls->nlisteners * sizeof(gw_listener_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "listeners", (long) i);
        if (gw_decode_listener(d, it, p, &ls->listeners[i]) != GW_OK) {
            return GW_ERR;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(ls->listeners[j].name, ls->listeners[i].name) == 0) {
                gw_err_set(d->err, "%s.name: Duplicate value: \"%s\"", p,
                           ls->listeners[i].name);
                return GW_ERR;
            }
        }
        i++;
    }

    return GW_OK;
}
