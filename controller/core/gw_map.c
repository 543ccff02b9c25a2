/*
 * ngx-gateway: string-keyed hash map (FNV-1a, linear probing).
 */

#include <string.h>

#include "gw_map.h"


static uint64_t
gw_map_hash(const char *s)
{
    uint64_t  h;

    h = 1469598103934665603ULL;
    while (*s) {
        h ^= (unsigned char) *s++;
        h *= 1099511628211ULL;
    }

    return h;
}


void
gw_map_init(gw_map_t *m, gw_arena_t *a)
{
    m->arena = a;
    m->slots = NULL;
    m->cap = 0;
    m->n = 0;
}


void *
gw_map_get(const gw_map_t *m, const char *key)
{
    size_t  i;

    if (m->cap == 0) {
        return NULL;
    }

    i = gw_map_hash(key) & (m->cap - 1);
    while (m->slots[i].key != NULL) {
        if (strcmp(m->slots[i].key, key) == 0) {
            return m->slots[i].value;
        }
        i = (i + 1) & (m->cap - 1);
    }

    return NULL;
}


static void
gw_map_insert(gw_map_slot_t *slots, size_t cap, const char *key, void *value)
{
    size_t  i;

    i = gw_map_hash(key) & (cap - 1);
    while (slots[i].key != NULL && strcmp(slots[i].key, key) != 0) {
        i = (i + 1) & (cap - 1);
    }

    slots[i].key = key;
    slots[i].value = value;
}


void
gw_map_put(gw_map_t *m, const char *key, void *value)
{
    size_t          i, cap;
    gw_map_slot_t  *slots;

    if ((m->n + 1) * 2 > m->cap) {
        cap = m->cap ? m->cap * 2 : 64;
        slots = gw_arena_alloc(m->arena, cap * sizeof(gw_map_slot_t));
        for (i = 0; i < m->cap; i++) {
            if (m->slots[i].key != NULL) {
                gw_map_insert(slots, cap, m->slots[i].key,
                              m->slots[i].value);
            }
        }
        m->slots = slots;
        m->cap = cap;
    }

    if (gw_map_get(m, key) == NULL) {
        m->n++;
    }

    gw_map_insert(m->slots, m->cap, key, value);
}
