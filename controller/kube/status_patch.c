/*
 * ngx-gateway: the status subresource merge patch (see status_patch.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kube/status_patch.h"

#define GW_KUBE_GROUP       "gateway.networking.k8s.io"
#define GW_KUBE_LTT         "lastTransitionTime"


/*
 * route: the status is a list of entries per controller (routes:
 * "parents" keyed by "parentRef"; policies: "ancestors" keyed by
 * "ancestorRef"), of which we write only our own.
 */
typedef struct {
    const char  *kind;
    const char  *plural;
    int          namespaced;
    int          route;
    const char  *list;
    const char  *ref;
} gw_kube_kind_t;


static const gw_kube_kind_t  gw_kube_kinds[] = {
    { "GatewayClass", "gatewayclasses", 0, 0, NULL, NULL },
    { "Gateway",      "gateways",       1, 0, NULL, NULL },
    { "ListenerSet",  "listenersets",   1, 0, NULL, NULL },
    { "HTTPRoute",    "httproutes",     1, 1, "parents", "parentRef" },
    { "GRPCRoute",    "grpcroutes",     1, 1, "parents", "parentRef" },
    { "TLSRoute",     "tlsroutes",      1, 1, "parents", "parentRef" },
    { "TCPRoute",     "tcproutes",      1, 1, "parents", "parentRef" },
    { "UDPRoute",     "udproutes",      1, 1, "parents", "parentRef" },
    { "BackendTLSPolicy", "backendtlspolicies", 1, 1, "ancestors",
      "ancestorRef" }
};

/* The status fields whose value we compute whole, per kind. */
static const char  *gw_kube_class_fields[] = {
    "conditions", "supportedFeatures", NULL
};

/* Gateway and ListenerSet (which has no addresses or attachedListenerSets) */
static const char  *gw_kube_gateway_fields[] = {
    "conditions", "listeners", "addresses", "attachedListenerSets", NULL
};


static const gw_kube_kind_t *
gw_kube_kind_find(const char *kind)
{
    size_t  i;

    for (i = 0; i < gw_countof(gw_kube_kinds); i++) {
        if (gw_streq(gw_kube_kinds[i].kind, kind)) {
            return &gw_kube_kinds[i];
        }
    }

    return NULL;
}


static const char *
gw_kube_str(const cJSON *obj, const char *key)
{
    return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(obj, key));
}


static const cJSON *
gw_kube_get(const cJSON *obj, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(obj, key);
}


/*
 * Deep equality of two JSON values in which members named
 * lastTransitionTime do not count.  Member order does not matter, array
 * order does.
 */
static int
gw_kube_equal(const cJSON *a, const cJSON *b)
{
    int           na, nb;
    const cJSON  *e, *f;

    if (a == NULL || b == NULL) {
        return a == b;
    }

    if ((a->type & 0xff) != (b->type & 0xff)) {
        return 0;
    }

    if (cJSON_IsString(a)) {
        return strcmp(a->valuestring, b->valuestring) == 0;
    }

    if (cJSON_IsNumber(a)) {
        return a->valuedouble == b->valuedouble;
    }

    if (cJSON_IsArray(a)) {
        f = b->child;

        cJSON_ArrayForEach(e, a) {
            if (f == NULL || !gw_kube_equal(e, f)) {
                return 0;
            }

            f = f->next;
        }

        return f == NULL;
    }

    if (!cJSON_IsObject(a)) {
        return 1;   /* null, true, false: the type said it all */
    }

    na = 0;
    cJSON_ArrayForEach(e, a) {
        if (strcmp(e->string, GW_KUBE_LTT) == 0) {
            continue;
        }

        na++;

        if (!gw_kube_equal(e, gw_kube_get(b, e->string))) {
            return 0;
        }
    }

    nb = 0;
    cJSON_ArrayForEach(f, b) {
        if (strcmp(f->string, GW_KUBE_LTT) != 0) {
            nb++;
        }
    }

    return na == nb;
}


/*
 * In the conditions array conds (ours, to be written), takes the
 * lastTransitionTime of the live condition of the same type when the
 * status is the same.
 */
static void
gw_kube_keep_times(cJSON *conds, const cJSON *live)
{
    cJSON        *c;
    const char   *type, *ltt;
    const cJSON  *lc, *found;

    cJSON_ArrayForEach(c, conds) {
        type = gw_kube_str(c, "type");
        found = NULL;

        cJSON_ArrayForEach(lc, live) {
            if (gw_streq(gw_kube_str(lc, "type"), type)) {
                found = lc;
                break;
            }
        }

        ltt = gw_kube_str(found, GW_KUBE_LTT);

        if (ltt == NULL
            || !gw_streq(gw_kube_str(found, "status"),
                         gw_kube_str(c, "status")))
        {
            continue;
        }

        if (gw_kube_get(c, GW_KUBE_LTT) != NULL) {
            cJSON_ReplaceItemInObjectCaseSensitive(c, GW_KUBE_LTT,
                                                   cJSON_CreateString(ltt));

        } else {
            cJSON_AddStringToObject(c, GW_KUBE_LTT, ltt);
        }
    }
}


/* listeners (ours): the times of the live listener of the same name. */
static void
gw_kube_keep_listener_times(cJSON *listeners, const cJSON *live)
{
    cJSON        *l;
    const cJSON  *ll;

    cJSON_ArrayForEach(l, listeners) {
        cJSON_ArrayForEach(ll, live) {
            if (gw_streq(gw_kube_str(ll, "name"), gw_kube_str(l, "name"))) {
                gw_kube_keep_times(
                    cJSON_GetObjectItemCaseSensitive(l, "conditions"),
                    gw_kube_get(ll, "conditions"));
                break;
            }
        }
    }
}


/* GatewayClass and Gateway: the fields we compute, replaced whole. */
static int
gw_kube_patch_fields(cJSON *st, const cJSON *live, const cJSON *desired,
    const char **fields)
{
    int           changed;
    cJSON        *v;
    const cJSON  *d, *l;

    changed = 0;

    for ( /* void */ ; *fields != NULL; fields++) {
        d = gw_kube_get(desired, *fields);
        l = gw_kube_get(live, *fields);

        if (d == NULL) {
            if (l != NULL && !cJSON_IsNull(l)) {
                cJSON_AddNullToObject(st, *fields);
                changed = 1;
            }

            continue;
        }

        v = cJSON_Duplicate(d, 1);

        if (strcmp(*fields, "conditions") == 0) {
            gw_kube_keep_times(v, l);

        } else if (strcmp(*fields, "listeners") == 0) {
            gw_kube_keep_listener_times(v, l);
        }

        if (!gw_kube_equal(v, l)) {
            changed = 1;
        }

        cJSON_AddItemToObject(st, *fields, v);
    }

    return changed;
}


/*
 * Whether two parentRefs name the same parent, with the API's defaults
 * (group gateway.networking.k8s.io, kind Gateway, the route's namespace).
 */
static int
gw_kube_same_parent(const cJSON *a, const cJSON *b, const char *route_ns)
{
    size_t        i;
    const char   *va, *vb;
    const cJSON  *pa, *pb;

    static const struct {
        const char  *key;
        const char  *dflt;
    }  fields[] = {
        { "group", GW_KUBE_GROUP },
        { "kind", "Gateway" },
        { "namespace", NULL },
        { "name", "" },
        { "sectionName", "" }
    };

    for (i = 0; i < gw_countof(fields); i++) {
        va = gw_kube_str(a, fields[i].key);
        vb = gw_kube_str(b, fields[i].key);

        if (va == NULL) {
            va = fields[i].dflt ? fields[i].dflt : route_ns;
        }

        if (vb == NULL) {
            vb = fields[i].dflt ? fields[i].dflt : route_ns;
        }

        if (!gw_streq(va, vb)) {
            return 0;
        }
    }

    pa = gw_kube_get(a, "port");
    pb = gw_kube_get(b, "port");

    if (pa == NULL || pb == NULL) {
        return pa == pb;
    }

    return cJSON_IsNumber(pa) && cJSON_IsNumber(pb)
           && pa->valuedouble == pb->valuedouble;
}


/*
 * Routes (and policies): the whole parents (ancestors) list, other
 * controllers' entries kept.
 */
static int
gw_kube_patch_parents(cJSON *st, const cJSON *live, const cJSON *desired,
    const char *controller_name, const char *route_ns,
    const gw_kube_kind_t *kind)
{
    int           changed, i, n, *used;
    cJSON        *out, *e;
    const cJSON  *lparents, *dparents, *lp, *dp, *found;

    lparents = gw_kube_get(live, kind->list);
    dparents = gw_kube_get(desired, kind->list);

    n = cJSON_GetArraySize(dparents);
    used = gw_xcalloc(n, sizeof(int));
    out = cJSON_AddArrayToObject(st, kind->list);

    cJSON_ArrayForEach(lp, lparents) {
        if (!gw_streq(gw_kube_str(lp, "controllerName"), controller_name)) {
            cJSON_AddItemToArray(out, cJSON_Duplicate(lp, 1));
            continue;
        }

        found = NULL;
        i = 0;

        cJSON_ArrayForEach(dp, dparents) {
            if (!used[i]
                && gw_kube_same_parent(gw_kube_get(lp, kind->ref),
                                       gw_kube_get(dp, kind->ref),
                                       route_ns))
            {
                found = dp;
                used[i] = 1;
                break;
            }

            i++;
        }

        if (found == NULL) {
            continue;   /* a parent we no longer compute, or a duplicate */
        }

        e = cJSON_Duplicate(found, 1);
        gw_kube_keep_times(cJSON_GetObjectItemCaseSensitive(e, "conditions"),
                           gw_kube_get(lp, "conditions"));
        cJSON_AddItemToArray(out, e);
    }

    i = 0;

    cJSON_ArrayForEach(dp, dparents) {
        if (!used[i]) {
            cJSON_AddItemToArray(out, cJSON_Duplicate(dp, 1));
        }

        i++;
    }

    if (cJSON_IsArray(lparents)) {
        changed = !gw_kube_equal(out, lparents);

    } else {
        changed = (out->child != NULL);
    }

    free(used);

    return changed;
}


cJSON *
gw_kube_status_patch(const cJSON *live, const cJSON *desired,
    const char *controller_name)
{
    int                    changed;
    cJSON                 *patch, *st, *meta;
    const char            *rv, *ns;
    const cJSON           *lst, *dst;
    const gw_kube_kind_t  *kind;

    kind = gw_kube_kind_find(gw_kube_str(desired, "kind"));
    if (kind == NULL || live == NULL) {
        return NULL;
    }

    lst = gw_kube_get(live, "status");
    dst = gw_kube_get(desired, "status");

    patch = cJSON_CreateObject();
    meta = cJSON_AddObjectToObject(patch, "metadata");
    st = cJSON_AddObjectToObject(patch, "status");

    if (kind->route) {
        ns = gw_kube_str(gw_kube_get(live, "metadata"), "namespace");
        changed = gw_kube_patch_parents(st, lst, dst, controller_name,
                                        ns ? ns : "", kind);

    } else {
        changed = gw_kube_patch_fields(st, lst, dst,
                                       kind->namespaced
                                       ? gw_kube_gateway_fields
                                       : gw_kube_class_fields);
    }

    if (!changed) {
        cJSON_Delete(patch);
        return NULL;
    }

    rv = gw_kube_str(gw_kube_get(live, "metadata"), "resourceVersion");
    if (rv != NULL) {
        cJSON_AddStringToObject(meta, "resourceVersion", rv);
    }

    return patch;
}


/* Object names and namespaces: DNS subdomain characters only. */
static int
gw_kube_name_ok(const char *s)
{
    size_t  n;

    if (s == NULL || s[0] == '\0') {
        return 0;
    }

    n = strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-.");

    return s[n] == '\0' && n <= 253;
}


int
gw_kube_status_path(char *buf, size_t size, const char *api_version,
    const char *kind, const char *ns, const char *name, gw_err_t *err)
{
    int                    n;
    const char            *slash;
    const gw_kube_kind_t  *k;

    k = gw_kube_kind_find(kind);
    if (k == NULL) {
        gw_err_set(err, "no status path for kind \"%s\"",
                   kind ? kind : "");
        return GW_ERR;
    }

    if (api_version == NULL) {
        api_version = GW_KUBE_GROUP "/v1";
    }

    slash = strchr(api_version, '/');
    if (slash == NULL
        || strncmp(api_version, GW_KUBE_GROUP "/",
                   sizeof(GW_KUBE_GROUP)) != 0
        || !gw_kube_name_ok(slash + 1)
        || strchr(slash + 1, '.') != NULL)
    {
        gw_err_set(err, "unexpected apiVersion \"%s\" for %s",
                   api_version, kind);
        return GW_ERR;
    }

    if (!gw_kube_name_ok(name) || (k->namespaced && !gw_kube_name_ok(ns))) {
        gw_err_set(err, "%s: bad name or namespace", kind);
        return GW_ERR;
    }

    if (k->namespaced) {
        n = snprintf(buf, size, "/apis/%s/namespaces/%s/%s/%s",
                     api_version, ns, k->plural, name);

    } else {
        n = snprintf(buf, size, "/apis/%s/%s/%s",
                     api_version, k->plural, name);
    }

    if (n < 0 || (size_t) n >= size) {
        gw_err_set(err, "%s %s: path too long", kind, name);
        return GW_ERR;
    }

    return GW_OK;
}
