/*
 * A bump allocator: everything allocated from an arena is freed in one
 * gw_arena_release() call.  Each reconcile allocates its graph, data plane
 * and view structs from one arena.
 */

#ifndef GW_ARENA_H
#define GW_ARENA_H

#include "gw_core.h"

typedef struct gw_arena_block_s  gw_arena_block_t;

typedef struct {
    gw_arena_block_t  *head;
    size_t             used;       /* bytes handed out, for statistics */
} gw_arena_t;

void gw_arena_init(gw_arena_t *a);
void gw_arena_release(gw_arena_t *a);

void *gw_arena_alloc(gw_arena_t *a, size_t n);          /* zeroed */
char *gw_arena_strdup(gw_arena_t *a, const char *s);   /* NULL -> NULL */
char *gw_arena_strndup(gw_arena_t *a, const char *s, size_t n);
char *gw_arena_printf(gw_arena_t *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A growable array of pointers living in an arena. */
typedef struct {
    void   **items;
    size_t   n;
    size_t   cap;
} gw_ptrs_t;

void gw_ptrs_push(gw_arena_t *a, gw_ptrs_t *v, void *item);
/* qsort of the items, cmp given pointers to items. */
void gw_ptrs_sort(gw_ptrs_t *v, int (*cmp)(const void *, const void *));

#endif /* GW_ARENA_H */
