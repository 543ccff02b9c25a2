/*
 * ngx-gateway: the template engine, internal interface shared by tmpl.c
 * (registry and rendering), tmpl_compile.c and view.c.
 */

#ifndef GW_TMPL_INT_H
#define GW_TMPL_INT_H

#include "render/tmpl.h"


/* The view model. */

typedef enum {
    GW_VIEW_NONE = 0,
    GW_VIEW_STR,
    GW_VIEW_FLAG,
    GW_VIEW_LIST
} gw_view_type_e;


typedef struct gw_view_entry_s  gw_view_entry_t;

struct gw_view_entry_s {
    gw_view_entry_t    *next;
    const char         *key;
    size_t              key_len;
    gw_view_type_e      type;
    union {
        gw_str_t        str;
        int             flag;
        struct {
            gw_view_t  *first;
            gw_view_t  *last;
        } list;
    } u;
};


struct gw_view_s {
    gw_arena_t         *arena;
    gw_view_entry_t    *head;
    gw_view_entry_t    *tail;
    gw_view_t          *next;       /* the next item of the list holding it */
};


/* Compiled templates. */

typedef enum {
    GW_TMPL_TEXT = 0,
    GW_TMPL_VALUE,                  /* {{name}} */
    GW_TMPL_RAW,                    /* {{&name}} */
    GW_TMPL_QUOTED,                 /* {{"name}} */
    GW_TMPL_LITERAL,                /* {{%name}} */
    GW_TMPL_SECTION,                /* {{#name}} */
    GW_TMPL_INVERTED,               /* {{^name}} */
    GW_TMPL_PARTIAL,                /* {{>name}} */
    GW_TMPL_CLOSE,                  /* {{/name}}: only while compiling */
    GW_TMPL_COMMENT                 /* {{!...}}: only while compiling */
} gw_tmpl_op_e;


typedef struct {
    gw_tmpl_op_e        op;
    unsigned            line;
    unsigned            col;
    const char         *str;        /* text, key or partial name */
    size_t              len;
    const char         *indent;     /* standalone partial: its indentation */
    size_t              indent_len;
    size_t              end;        /* section: the node after its body */
} gw_tmpl_node_t;


struct gw_tmpl_s {
    char               *name;
    char               *src;        /* a copy; nodes point into it */
    gw_tmpl_node_t     *nodes;
    size_t              n;
    size_t              cap;
};


/* The context stack lives on the C stack while rendering. */

typedef struct gw_tmpl_ctx_s  gw_tmpl_ctx_t;

struct gw_tmpl_ctx_s {
    const gw_view_t      *view;
    const gw_tmpl_ctx_t  *up;
};


/* The view model (view.c). */

const gw_view_entry_t *gw_view_lookup(const gw_tmpl_ctx_t *ctx,
    const char *key, size_t len);
int gw_view_truthy(const gw_view_entry_t *e);


/* Compiling (tmpl_compile.c). */

int gw_tmpl_name_valid(const char *s, size_t len);


#endif /* GW_TMPL_INT_H */
