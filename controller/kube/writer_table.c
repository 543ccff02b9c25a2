/*
 * ngx-gateway: the status writer's entries: one per object with a status
 * to write, found by "kind/ns/name" in a hash table, and queued in the
 * order they are to be sent.
 */

#include <stdlib.h>
#include <string.h>

#include "kube/writer_int.h"


static size_t
gw_kube_write_hash(const char *key)
{
    size_t  h;

    h = 2166136261u;

    for ( /* void */ ; *key != '\0'; key++) {
        h = (h ^ (unsigned char) *key) * 16777619u;
    }

    return h;
}


gw_kube_write_t *
gw_kube_write_find(gw_kube_writer_t *w, const char *key)
{
    gw_kube_write_t  *e;

    e = w->buckets[gw_kube_write_hash(key) & (w->nbuckets - 1)];

    while (e != NULL && strcmp(e->key, key) != 0) {
        e = e->hnext;
    }

    return e;
}


static void
gw_kube_write_grow(gw_kube_writer_t *w)
{
    size_t             i, nb, h;
    gw_kube_write_t  **b, *e, *next;

    nb = w->nbuckets * 2;
    b = gw_xcalloc(nb, sizeof(gw_kube_write_t *));

    for (i = 0; i < w->nbuckets; i++) {
        for (e = w->buckets[i]; e != NULL; e = next) {
            next = e->hnext;
            h = gw_kube_write_hash(e->key) & (nb - 1);
            e->hnext = b[h];
            b[h] = e;
        }
    }

    free(w->buckets);
    w->buckets = b;
    w->nbuckets = nb;
}


gw_kube_write_t *
gw_kube_write_add(gw_kube_writer_t *w, const char *key, const char *kind,
    const char *ns, const char *name)
{
    size_t            h;
    gw_kube_write_t  *e;

    if (w->n >= w->nbuckets) {
        gw_kube_write_grow(w);
    }

    e = gw_xcalloc(1, sizeof(gw_kube_write_t));
    e->key = gw_xstrdup(key);
    e->kind = gw_xstrdup(kind);
    e->ns = gw_xstrdup(ns);
    e->name = gw_xstrdup(name);
    e->w = w;

    h = gw_kube_write_hash(key) & (w->nbuckets - 1);
    e->hnext = w->buckets[h];
    w->buckets[h] = e;
    w->n++;

    return e;
}


void
gw_kube_write_enqueue(gw_kube_write_t *e, long long ready_ms, int front)
{
    gw_kube_writer_t  *w;

    w = e->w;
    e->ready_ms = ready_ms;

    if (e->queued) {
        return;
    }

    e->queued = 1;
    w->queued++;

    if (front) {
        e->prev = NULL;
        e->next = w->head;

        if (w->head != NULL) {
            w->head->prev = e;

        } else {
            w->tail = e;
        }

        w->head = e;
        return;
    }

    e->next = NULL;
    e->prev = w->tail;

    if (w->tail != NULL) {
        w->tail->next = e;

    } else {
        w->head = e;
    }

    w->tail = e;
}


void
gw_kube_write_dequeue(gw_kube_write_t *e)
{
    gw_kube_writer_t  *w;

    if (!e->queued) {
        return;
    }

    w = e->w;

    if (e->prev != NULL) {
        e->prev->next = e->next;

    } else {
        w->head = e->next;
    }

    if (e->next != NULL) {
        e->next->prev = e->prev;

    } else {
        w->tail = e->prev;
    }

    e->prev = NULL;
    e->next = NULL;
    e->queued = 0;
    w->queued--;
}


void
gw_kube_write_drop(gw_kube_write_t *e)
{
    gw_kube_writer_t   *w;
    gw_kube_write_t   **p;

    w = e->w;
    gw_kube_write_dequeue(e);

    p = &w->buckets[gw_kube_write_hash(e->key) & (w->nbuckets - 1)];
    while (*p != e) {
        p = &(*p)->hnext;
    }

    *p = e->hnext;
    w->n--;

    cJSON_Delete(e->desired);
    cJSON_Delete(e->fresh);
    free(e->key);
    free(e->kind);
    free(e->ns);
    free(e->name);
    free(e);
}
