/*
 * A string-keyed hash map living in an arena (open addressing, linear
 * probing).  Keys are borrowed: they must outlive the map.
 */

#ifndef GW_MAP_H
#define GW_MAP_H

#include "gw_arena.h"

typedef struct {
    const char  *key;
    void        *value;
} gw_map_slot_t;

typedef struct {
    gw_arena_t     *arena;
    gw_map_slot_t  *slots;
    size_t          cap;      /* power of two */
    size_t          n;
} gw_map_t;

void gw_map_init(gw_map_t *m, gw_arena_t *a);
void *gw_map_get(const gw_map_t *m, const char *key);
void gw_map_put(gw_map_t *m, const char *key, void *value);

#endif /* GW_MAP_H */
