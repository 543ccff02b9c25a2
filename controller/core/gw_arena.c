/*
 * ngx-gateway: bump allocator.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_arena.h"

#define GW_ARENA_BLOCK  (64 * 1024)
#define GW_ARENA_ALIGN  16


struct gw_arena_block_s {
    gw_arena_block_t  *next;
    size_t             size;
    size_t             pos;
    _Alignas(GW_ARENA_ALIGN) unsigned char  data[];
};


void
gw_arena_init(gw_arena_t *a)
{
    a->head = NULL;
    a->used = 0;
}


void
gw_arena_release(gw_arena_t *a)
{
    gw_arena_block_t  *b, *next;

    for (b = a->head; b != NULL; b = next) {
        next = b->next;
        free(b);
    }

    gw_arena_init(a);
}


void *
gw_arena_alloc(gw_arena_t *a, size_t n)
{
    size_t             size;
    void              *p;
    gw_arena_block_t  *b;

    n = (n + GW_ARENA_ALIGN - 1) & ~((size_t) GW_ARENA_ALIGN - 1);
    if (n == 0) {
        n = GW_ARENA_ALIGN;
    }

    b = a->head;
    if (b == NULL || b->size - b->pos < n) {
        size = n > GW_ARENA_BLOCK ? n : GW_ARENA_BLOCK;
        b = gw_xmalloc(sizeof(gw_arena_block_t) + size);
        b->size = size;
        b->pos = 0;
        b->next = a->head;
        a->head = b;
    }

    p = b->data + b->pos;
    b->pos += n;
    a->used += n;

    memset(p, 0, n);

    return p;
}


char *
gw_arena_strndup(gw_arena_t *a, const char *s, size_t n)
{
    char  *p;

    p = gw_arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = '\0';

    return p;
}


char *
gw_arena_strdup(gw_arena_t *a, const char *s)
{
    if (s == NULL) {
        return NULL;
    }

    return gw_arena_strndup(a, s, strlen(s));
}


char *
gw_arena_printf(gw_arena_t *a, const char *fmt, ...)
{
    int      n;
    char    *p;
    va_list  ap;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n < 0) {
        return gw_arena_strdup(a, "");
    }

    p = gw_arena_alloc(a, (size_t) n + 1);

    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);

    return p;
}


void
gw_ptrs_push(gw_arena_t *a, gw_ptrs_t *v, void *item)
{
    size_t   cap;
    void   **items;

    if (v->n == v->cap) {
        cap = v->cap ? v->cap * 2 : 8;
        items = gw_arena_alloc(a, cap * sizeof(void *));
        if (v->n > 0) {
            memcpy(items, v->items, v->n * sizeof(void *));
        }
        v->items = items;
        v->cap = cap;
    }

    v->items[v->n++] = item;
}


void
gw_ptrs_sort(gw_ptrs_t *v, int (*cmp)(const void *, const void *))
{
    if (v->n > 1) {
        qsort(v->items, v->n, sizeof(void *), cmp);
    }
}
