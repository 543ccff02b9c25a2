/*
 * ngx-gateway: the informers' object cache, watch event parsing and
 * retry backoff (see informer_int.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_buf.h"
#include "kube/informer_int.h"

#define GW_KCACHE_MIN_BUCKETS  64


void
gw_kcache_init(gw_kcache_t *c)
{
    c->nbuckets = GW_KCACHE_MIN_BUCKETS;
    c->buckets = gw_xcalloc(c->nbuckets, sizeof(gw_kentry_t *));
    c->n = 0;
}


static void
gw_kentry_free(gw_kentry_t *e)
{
    cJSON_Delete(e->obj);
    free(e->key);
    free(e);
}


void
gw_kcache_release(gw_kcache_t *c)
{
    size_t        i;
    gw_kentry_t  *e, *next;

    for (i = 0; i < c->nbuckets; i++) {
        for (e = c->buckets[i]; e != NULL; e = next) {
            next = e->next;
            gw_kentry_free(e);
        }
    }

    free(c->buckets);
    memset(c, 0, sizeof(*c));
}


/* FNV-1a */
static size_t
gw_kcache_hash(const char *key)
{
    size_t  h;

    h = 2166136261u;
    while (*key != '\0') {
        h = (h ^ (unsigned char) *key++) * 16777619u;
    }

    return h;
}


static void
gw_kcache_key(gw_buf_t *b, const char *ns, const char *name)
{
    gw_buf_reset(b);
    gw_buf_printf(b, "%s/%s", ns != NULL ? ns : "", name);
}


/* The key of an object, GW_ERR without a name. */
static int
gw_kcache_obj_key(gw_buf_t *b, const cJSON *obj)
{
    const cJSON  *meta;
    const char   *name;

    meta = cJSON_GetObjectItem(obj, "metadata");
    name = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "name"));
    if (name == NULL || name[0] == '\0') {
        return GW_ERR;
    }

    gw_kcache_key(b, cJSON_GetStringValue(cJSON_GetObjectItem(meta,
                                                              "namespace")),
                  name);

    return GW_OK;
}


static gw_kentry_t **
gw_kcache_find(const gw_kcache_t *c, const char *key)
{
    gw_kentry_t  **pp;

    pp = &c->buckets[gw_kcache_hash(key) & (c->nbuckets - 1)];

    while (*pp != NULL && strcmp((*pp)->key, key) != 0) {
        pp = &(*pp)->next;
    }

    return pp;
}


static void
gw_kcache_grow(gw_kcache_t *c)
{
    size_t         i, n;
    gw_kentry_t  **buckets, *e, *next;

    n = c->nbuckets * 2;
    buckets = gw_xcalloc(n, sizeof(gw_kentry_t *));

    for (i = 0; i < c->nbuckets; i++) {
        for (e = c->buckets[i]; e != NULL; e = next) {
            next = e->next;
            e->next = buckets[gw_kcache_hash(e->key) & (n - 1)];
            buckets[gw_kcache_hash(e->key) & (n - 1)] = e;
        }
    }

    free(c->buckets);
    c->buckets = buckets;
    c->nbuckets = n;
}


static const char *
gw_kcache_field(const cJSON *obj, const char *name)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(obj, name));
}


/*
 * The API server changes the resourceVersion with every change, so equal
 * ones (and the same apiVersion) mean the same object, without comparing
 * what may be a large document (a CRD is hundreds of kilobytes).
 */
static int
gw_kcache_same(const cJSON *a, const cJSON *b)
{
    const char  *rva, *rvb;

    rva = gw_kcache_field(cJSON_GetObjectItem(a, "metadata"),
                          "resourceVersion");
    rvb = gw_kcache_field(cJSON_GetObjectItem(b, "metadata"),
                          "resourceVersion");

    if (rva == NULL || rvb == NULL) {
        return cJSON_Compare(a, b, 1);
    }

    return strcmp(rva, rvb) == 0
           && gw_streq(gw_kcache_field(a, "apiVersion"),
                       gw_kcache_field(b, "apiVersion"));
}


const cJSON *
gw_kcache_get(const gw_kcache_t *c, const char *ns, const char *name)
{
    gw_buf_t      key;
    gw_kentry_t  *e;

    gw_buf_init(&key);
    gw_kcache_key(&key, ns, name);
    e = *gw_kcache_find(c, key.data);
    gw_buf_free(&key);

    return e != NULL ? e->obj : NULL;
}


int
gw_kcache_apply(gw_kcache_t *c, cJSON *obj, unsigned long mark)
{
    int            rc;
    gw_buf_t       key;
    gw_kentry_t  **pp, *e;

    gw_buf_init(&key);

    if (gw_kcache_obj_key(&key, obj) != GW_OK) {
        cJSON_Delete(obj);
        rc = GW_ERR;
        goto out;
    }

    pp = gw_kcache_find(c, key.data);
    e = *pp;

    if (e != NULL) {
        e->mark = mark;

        if (gw_kcache_same(e->obj, obj)) {
            cJSON_Delete(obj);
            rc = GW_KCACHE_SAME;
            goto out;
        }

        cJSON_Delete(e->obj);
        e->obj = obj;
        rc = GW_WATCH_MODIFIED;
        goto out;
    }

    e = gw_xcalloc(1, sizeof(gw_kentry_t));
    e->key = gw_buf_detach(&key);
    e->obj = obj;
    e->mark = mark;
    *pp = e;
    c->n++;

    if (c->n > c->nbuckets) {
        gw_kcache_grow(c);
    }

    rc = GW_WATCH_ADDED;

out:

    gw_buf_free(&key);
    return rc;
}


cJSON *
gw_kcache_remove(gw_kcache_t *c, const cJSON *obj)
{
    cJSON         *old;
    gw_buf_t       key;
    gw_kentry_t  **pp, *e;

    old = NULL;
    gw_buf_init(&key);

    if (gw_kcache_obj_key(&key, obj) == GW_OK) {
        pp = gw_kcache_find(c, key.data);
        e = *pp;

        if (e != NULL) {
            *pp = e->next;
            old = e->obj;
            e->obj = NULL;
            gw_kentry_free(e);
            c->n--;
        }
    }

    gw_buf_free(&key);

    return old;
}


size_t
gw_kcache_sweep(gw_kcache_t *c, unsigned long mark, gw_kcache_pt gone,
    void *data)
{
    size_t         i, n;
    gw_kentry_t  **pp, *e;

    n = 0;

    for (i = 0; i < c->nbuckets; i++) {
        pp = &c->buckets[i];

        while (*pp != NULL) {
            e = *pp;

            if (e->mark == mark) {
                pp = &e->next;
                continue;
            }

            *pp = e->next;
            c->n--;
            n++;

            if (gone != NULL) {
                gone(data, e->obj);
            }

            gw_kentry_free(e);
        }
    }

    return n;
}


void
gw_kcache_foreach(const gw_kcache_t *c, gw_kcache_pt fn, void *data)
{
    size_t        i;
    gw_kentry_t  *e;

    for (i = 0; i < c->nbuckets; i++) {
        for (e = c->buckets[i]; e != NULL; e = e->next) {
            fn(data, e->obj);
        }
    }
}


int
gw_wev_parse(gw_wev_t *ev, const char *line, size_t len, gw_err_t *err)
{
    int           rc;
    cJSON        *root;
    const char   *type;
    const cJSON  *code;

    static const char  *types[] = {
        "ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"
    };

    memset(ev, 0, sizeof(*ev));
    rc = GW_ERR;

    root = cJSON_ParseWithLength(line, len);
    if (root == NULL) {
        gw_err_set(err, "watch event is not JSON");
        return GW_ERR;
    }

    type = cJSON_GetStringValue(cJSON_GetObjectItem(root, "type"));
    ev->object = cJSON_DetachItemFromObject(root, "object");

    if (type == NULL || !cJSON_IsObject(ev->object)) {
        gw_err_set(err, "watch event without type or object");
        goto out;
    }

    for (ev->type = GW_WEV_ADDED; ev->type <= GW_WEV_ERROR; ev->type++) {
        if (strcmp(type, types[ev->type]) == 0) {
            break;
        }
    }

    if (ev->type > GW_WEV_ERROR) {
        gw_err_set(err, "unknown watch event type \"%.64s\"", type);
        goto out;
    }

    if (ev->type == GW_WEV_ERROR) {
        code = cJSON_GetObjectItem(ev->object, "code");
        ev->code = cJSON_IsNumber(code) ? (long) code->valuedouble : 0;
    }

    ev->rv = cJSON_GetStringValue(cJSON_GetObjectItem(
                 cJSON_GetObjectItem(ev->object, "metadata"),
                 "resourceVersion"));
    rc = GW_OK;

out:

    cJSON_Delete(root);

    if (rc != GW_OK) {
        gw_wev_release(ev);
    }

    return rc;
}


void
gw_wev_release(gw_wev_t *ev)
{
    cJSON_Delete(ev->object);
    memset(ev, 0, sizeof(*ev));
}


long
gw_backoff_next(gw_backoff_t *b, long retry_after_s, unsigned rnd)
{
    long  delay, half;

    if (b->step == 0) {
        b->step = 2 * GW_BACKOFF_MIN_MS;
    }

    half = b->step / 2;
    delay = half + (long) (rnd % (unsigned long) (half + 1));

    b->step *= 2;
    if (b->step > GW_BACKOFF_MAX_MS) {
        b->step = GW_BACKOFF_MAX_MS;
    }

    if (retry_after_s > GW_BACKOFF_AFTER_MAX) {
        retry_after_s = GW_BACKOFF_AFTER_MAX;
    }

    if (retry_after_s * 1000 > delay) {
        delay = retry_after_s * 1000;
    }

    return delay;
}


void
gw_backoff_reset(gw_backoff_t *b)
{
    b->step = 0;
}


long
gw_status_retry_after(const char *body, size_t len)
{
    long          s;
    cJSON        *root;
    const cJSON  *v;

    if (body == NULL || len == 0) {
        return 0;
    }

    root = cJSON_ParseWithLength(body, len);
    v = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "details"),
                            "retryAfterSeconds");
    s = cJSON_IsNumber(v) && v->valuedouble > 0 ? (long) v->valuedouble : 0;
    cJSON_Delete(root);

    return s;
}
