/*
 * ngx-gateway: the view model of the template engine: a map from names to
 * strings, lists of views and flags, allocated from an arena (see tmpl.h),
 * and key lookup through the context stack while rendering.
 */

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "render/tmpl_int.h"


gw_view_t *
gw_view_new(gw_arena_t *a)
{
    gw_view_t  *v;

    v = gw_arena_alloc(a, sizeof(gw_view_t));
    v->arena = a;

    return v;
}


static gw_view_entry_t *
gw_view_entry(gw_view_t *v, const char *key)
{
    size_t            len;
    gw_view_entry_t  *e;

    len = strlen(key);

    for (e = v->head; e != NULL; e = e->next) {
        if (e->key_len == len && memcmp(e->key, key, len) == 0) {
            return e;
        }
    }

    e = gw_arena_alloc(v->arena, sizeof(gw_view_entry_t));
    e->key = gw_arena_strndup(v->arena, key, len);
    e->key_len = len;

    if (v->tail == NULL) {
        v->head = e;
    } else {
        v->tail->next = e;
    }
    v->tail = e;

    return e;
}


void
gw_view_set_str(gw_view_t *v, const char *key, gw_str_t value)
{
    gw_view_entry_t  *e;

    e = gw_view_entry(v, key);
    e->type = GW_VIEW_STR;

    if (value.data == NULL) {
        e->u.str.data = "";
        e->u.str.len = 0;
    } else {
        e->u.str = value;
    }
}


void
gw_view_set(gw_view_t *v, const char *key, const char *value)
{
    gw_str_t  s;

    s.data = value;
    s.len = value ? strlen(value) : 0;

    gw_view_set_str(v, key, s);
}


void
gw_view_setf(gw_view_t *v, const char *key, const char *fmt, ...)
{
    int       n;
    char     *p;
    va_list   ap;
    gw_str_t  s;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);

    if (n < 0) {
        n = 0;
    }

    p = gw_arena_alloc(v->arena, (size_t) n + 1);

    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);

    s.data = p;
    s.len = (size_t) n;

    gw_view_set_str(v, key, s);
}


void
gw_view_set_int(gw_view_t *v, const char *key, long long n)
{
    gw_view_setf(v, key, "%lld", n);
}


void
gw_view_set_flag(gw_view_t *v, const char *key, int on)
{
    gw_view_entry_t  *e;

    e = gw_view_entry(v, key);
    e->type = GW_VIEW_FLAG;
    e->u.flag = (on != 0);
}


gw_view_t *
gw_view_add(gw_view_t *v, const char *key)
{
    gw_view_t        *child;
    gw_view_entry_t  *e;

    e = gw_view_entry(v, key);
    if (e->type != GW_VIEW_LIST) {
        e->type = GW_VIEW_LIST;
        e->u.list.first = NULL;
        e->u.list.last = NULL;
    }

    child = gw_view_new(v->arena);

    if (e->u.list.last == NULL) {
        e->u.list.first = child;
    } else {
        e->u.list.last->next = child;
    }
    e->u.list.last = child;

    return child;
}


const gw_view_entry_t *
gw_view_lookup(const gw_tmpl_ctx_t *ctx, const char *key, size_t len)
{
    const gw_view_entry_t  *e;

    for ( /* void */ ; ctx != NULL; ctx = ctx->up) {
        if (ctx->view == NULL) {
            continue;
        }

        for (e = ctx->view->head; e != NULL; e = e->next) {
            if (e->key_len == len && memcmp(e->key, key, len) == 0) {
                return e;
            }
        }
    }

    return NULL;
}


int
gw_view_truthy(const gw_view_entry_t *e)
{
    if (e == NULL) {
        return 0;
    }

    switch (e->type) {
    case GW_VIEW_STR:
        return e->u.str.len > 0;
    case GW_VIEW_FLAG:
        return e->u.flag;
    case GW_VIEW_LIST:
        return e->u.list.first != NULL;
    default:
        return 0;
    }
}
