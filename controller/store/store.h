/*
 * ngx-gateway: the store: decoded objects by kind, namespace and name.
 *
 * The store owns its objects.  Each kind is a sorted array (namespace,
 * name), so iteration order is deterministic and lookups are binary
 * searches.
 */

#ifndef GW_STORE_H
#define GW_STORE_H

#include "api/api.h"

typedef struct {
    gw_obj_t  **items;
    size_t      n;
    size_t      cap;
} gw_objlist_t;

typedef struct {
    gw_objlist_t  kinds[GW_KIND_MAX];
} gw_store_t;

void gw_store_init(gw_store_t *s);
void gw_store_release(gw_store_t *s);

/*
 * Inserts or replaces; the store takes ownership of obj.  Returns 1 when
 * something the controller reads changed (a new object, or a different
 * spec/labels/generation), 0 when the object is the same as before.
 * replaced, when not NULL, receives 1 if an object of that name existed.
 */
int gw_store_put(gw_store_t *s, gw_obj_t *obj, int *replaced);

/* Returns 1 if the object existed and was removed. */
int gw_store_delete(gw_store_t *s, gw_kind_e kind, const char *ns,
    const char *name);

gw_obj_t *gw_store_get(const gw_store_t *s, gw_kind_e kind, const char *ns,
    const char *name);

const gw_objlist_t *gw_store_list(const gw_store_t *s, gw_kind_e kind);

/* 1 when both stores hold the same objects with the same content. */
int gw_store_equal(const gw_store_t *a, const gw_store_t *b);

/* 1 when two objects are the same as far as the controller is concerned. */
int gw_obj_same(const gw_obj_t *a, const gw_obj_t *b);

size_t gw_store_count(const gw_store_t *s);

#endif /* GW_STORE_H */
