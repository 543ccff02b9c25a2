/*
 * ngx-gateway: the object store.
 */

#include <stdlib.h>
#include <string.h>

#include "store/store.h"


void
gw_store_init(gw_store_t *s)
{
    memset(s, 0, sizeof(gw_store_t));
}


void
gw_store_release(gw_store_t *s)
{
    size_t         k, i;
    gw_objlist_t  *l;

    for (k = 0; k < GW_KIND_MAX; k++) {
        l = &s->kinds[k];
        for (i = 0; i < l->n; i++) {
            gw_obj_free(l->items[i]);
        }
        free(l->items);
    }

    gw_store_init(s);
}


static int
gw_store_cmp(const char *ns, const char *name, const gw_obj_t *obj)
{
    int  rc;

    rc = strcmp(ns, obj->meta.namespace);
    if (rc != 0) {
        return rc;
    }

    return strcmp(name, obj->meta.name);
}


/* Binary search: the index of the object, or where it would go. */
static size_t
gw_store_find(const gw_objlist_t *l, const char *ns, const char *name,
    int *found)
{
    int     rc;
    size_t  lo, hi, mid;

    *found = 0;
    lo = 0;
    hi = l->n;

    /* Most inputs arrive sorted: check the end first. */
    if (l->n > 0 && gw_store_cmp(ns, name, l->items[l->n - 1]) > 0) {
        return l->n;
    }

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        rc = gw_store_cmp(ns, name, l->items[mid]);
        if (rc == 0) {
            *found = 1;
            return mid;
        }
        if (rc < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }

    return lo;
}


/* Top-level JSON equality that ignores what the controller does not read. */
static int
gw_json_same_metadata(const cJSON *a, const cJSON *b)
{
    static const char  *keys[] = {
        "name", "namespace", "uid", "generation", "labels", "annotations",
        "creationTimestamp", "deletionTimestamp"
    };

    size_t        i;
    const cJSON  *x, *y;

    for (i = 0; i < gw_countof(keys); i++) {
        x = a ? cJSON_GetObjectItemCaseSensitive(a, keys[i]) : NULL;
        y = b ? cJSON_GetObjectItemCaseSensitive(b, keys[i]) : NULL;
        if (x == NULL && y == NULL) {
            continue;
        }
        if (x == NULL || y == NULL || !cJSON_Compare(x, y, 1)) {
            return 0;
        }
    }

    return 1;
}


static int
gw_json_same_ignoring(const cJSON *a, const cJSON *b)
{
    const cJSON  *x, *y;

    cJSON_ArrayForEach(x, a) {
        if (strcmp(x->string, "status") == 0) {
            continue;
        }
        y = cJSON_GetObjectItemCaseSensitive(b, x->string);
        if (strcmp(x->string, "metadata") == 0) {
            if (!gw_json_same_metadata(x, y)) {
                return 0;
            }
            continue;
        }
        if (y == NULL || !cJSON_Compare(x, y, 1)) {
            return 0;
        }
    }

    cJSON_ArrayForEach(y, b) {
        if (strcmp(y->string, "status") == 0) {
            continue;
        }
        if (cJSON_GetObjectItemCaseSensitive(a, y->string) == NULL) {
            return 0;
        }
    }

    return 1;
}


int
gw_obj_same(const gw_obj_t *a, const gw_obj_t *b)
{
    return a->kind == b->kind && gw_json_same_ignoring(a->json, b->json);
}


int
gw_store_put(gw_store_t *s, gw_obj_t *obj, int *replaced)
{
    int            found, changed;
    size_t         i;
    gw_objlist_t  *l;

    l = &s->kinds[obj->kind];
    i = gw_store_find(l, obj->meta.namespace, obj->meta.name, &found);

    if (replaced != NULL) {
        *replaced = found;
    }

    if (found) {
        changed = !gw_obj_same(l->items[i], obj);
        gw_obj_free(l->items[i]);
        l->items[i] = obj;
        return changed;
    }

    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = gw_xrealloc(l->items, l->cap * sizeof(gw_obj_t *));
    }

    memmove(&l->items[i + 1], &l->items[i], (l->n - i) * sizeof(gw_obj_t *));
    l->items[i] = obj;
    l->n++;

    return 1;
}


int
gw_store_delete(gw_store_t *s, gw_kind_e kind, const char *ns,
    const char *name)
{
    int            found;
    size_t         i;
    gw_objlist_t  *l;

    l = &s->kinds[kind];
    i = gw_store_find(l, ns ? ns : "", name, &found);

    if (!found) {
        return 0;
    }

    gw_obj_free(l->items[i]);
    memmove(&l->items[i], &l->items[i + 1],
            (l->n - i - 1) * sizeof(gw_obj_t *));
    l->n--;

    return 1;
}


gw_obj_t *
gw_store_get(const gw_store_t *s, gw_kind_e kind, const char *ns,
    const char *name)
{
    int                  found;
    size_t               i;
    const gw_objlist_t  *l;

    l = &s->kinds[kind];
    i = gw_store_find(l, ns ? ns : "", name, &found);

    return found ? l->items[i] : NULL;
}


const gw_objlist_t *
gw_store_list(const gw_store_t *s, gw_kind_e kind)
{
    return &s->kinds[kind];
}


int
gw_store_equal(const gw_store_t *a, const gw_store_t *b)
{
    size_t  k, i;

    for (k = 0; k < GW_KIND_MAX; k++) {
        if (a->kinds[k].n != b->kinds[k].n) {
            return 0;
        }
        for (i = 0; i < a->kinds[k].n; i++) {
            if (gw_store_cmp(a->kinds[k].items[i]->meta.namespace,
                             a->kinds[k].items[i]->meta.name,
                             b->kinds[k].items[i]) != 0
                || !gw_obj_same(a->kinds[k].items[i], b->kinds[k].items[i]))
            {
                return 0;
            }
        }
    }

    return 1;
}


size_t
gw_store_count(const gw_store_t *s)
{
    size_t  k, n;

    n = 0;
    for (k = 0; k < GW_KIND_MAX; k++) {
        n += s->kinds[k].n;
    }

    return n;
}
