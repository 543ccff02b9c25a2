/*
 * ngx-gateway: a small logic-less template engine for nginx configuration.
 *
 * A template compiles into a flat array of nodes; a section node records
 * where its body ends, so rendering is a loop over index ranges with
 * recursion for sections and partials.  Key lookup is a linear scan of the
 * handful of keys in each view on the context stack, and nothing is
 * allocated while rendering except the output buffer's growth.
 *
 * We write our own rather than use a mustache library: the escaping rules
 * are nginx's, not HTML's, and every value must be checked as it is written.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/tmpl.h"


#define GW_TMPL_MAX_SECTIONS  32    /* sections nested in one template */
#define GW_TMPL_MAX_PARTIALS  32    /* partials nested while rendering */
#define GW_TMPL_MAX_INDENT    256   /* total indentation of partials */


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


typedef struct {
    const char         *name;
    const char         *src;
    size_t              len;
    size_t              cursor;     /* lines are counted up to here */
    unsigned            line;       /* the line at cursor */
    size_t              line_start;
} gw_tmpl_parser_t;


/* The context stack lives on the C stack while rendering. */

typedef struct gw_tmpl_ctx_s  gw_tmpl_ctx_t;

struct gw_tmpl_ctx_s {
    const gw_view_t      *view;
    const gw_tmpl_ctx_t  *up;
};


typedef struct {
    gw_buf_t           *out;
    size_t              start;      /* out->len when rendering began */
    gw_err_t           *err;
    unsigned            depth;      /* partials */
    size_t              indent_len;
    char                indent[GW_TMPL_MAX_INDENT];
} gw_tmpl_state_t;


typedef struct {
    gw_tmpl_t         **items;
    size_t              n;
    size_t              cap;
} gw_tmpl_table_t;


static gw_tmpl_table_t  gw_tmpl_registered;   /* gw_tmpl_register() */
static gw_tmpl_table_t  gw_tmpl_loaded;       /* embedded or from a dir */
static int              gw_tmpl_from_dir;


static int gw_tmpl_render_nodes(gw_tmpl_state_t *st, const gw_tmpl_t *t,
    size_t from, size_t to, const gw_tmpl_ctx_t *ctx);


/* The view model. */

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


static const gw_view_entry_t *
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


static int
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


/* Compiling. */

void
gw_tmpl_free(gw_tmpl_t *t)
{
    if (t == NULL) {
        return;
    }

    free(t->name);
    free(t->src);
    free(t->nodes);
    free(t);
}


static gw_tmpl_node_t *
gw_tmpl_node_add(gw_tmpl_t *t, gw_tmpl_op_e op, const char *s, size_t len)
{
    gw_tmpl_node_t  *nd;

    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->nodes = gw_xrealloc(t->nodes, t->cap * sizeof(gw_tmpl_node_t));
    }

    nd = &t->nodes[t->n++];
    memset(nd, 0, sizeof(gw_tmpl_node_t));
    nd->op = op;
    nd->str = s;
    nd->len = len;

    return nd;
}


/* Counts lines up to pos; pos never goes backwards. */

static void
gw_tmpl_parser_seek(gw_tmpl_parser_t *ps, size_t pos, unsigned *line,
    unsigned *col)
{
    for ( /* void */ ; ps->cursor < pos; ps->cursor++) {
        if (ps->src[ps->cursor] == '\n') {
            ps->line++;
            ps->line_start = ps->cursor + 1;
        }
    }

    *line = ps->line;
    *col = (unsigned) (pos - ps->line_start) + 1;
}


static int
gw_tmpl_name_valid(const char *s, size_t len)
{
    size_t  i;

    if (len == 0) {
        return 0;
    }

    for (i = 0; i < len; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-'))
        {
            return 0;
        }
    }

    return 1;
}


static gw_tmpl_op_e
gw_tmpl_tag_op(char sigil)
{
    switch (sigil) {
    case '&':
        return GW_TMPL_RAW;
    case '"':
        return GW_TMPL_QUOTED;
    case '#':
        return GW_TMPL_SECTION;
    case '^':
        return GW_TMPL_INVERTED;
    case '>':
        return GW_TMPL_PARTIAL;
    case '/':
        return GW_TMPL_CLOSE;
    case '!':
        return GW_TMPL_COMMENT;
    default:
        return GW_TMPL_VALUE;
    }
}


/*
 * A section, inverted, close, partial or comment tag alone on its line
 * (but for spaces and tabs) is standalone: the line produces no output.
 * Returns where the text after the tag's line starts, or 0 if the tag is
 * not standalone.  *ls is set to where the tag's line starts.
 */

static size_t
gw_tmpl_standalone(const char *s, size_t len, size_t text, size_t p,
    size_t e, size_t *ls)
{
    size_t  b, k;

    b = p;
    while (b > text && (s[b - 1] == ' ' || s[b - 1] == '\t')) {
        b--;
    }

    if (b > 0 && s[b - 1] != '\n') {
        return 0;
    }

    k = e;
    while (k < len && (s[k] == ' ' || s[k] == '\t')) {
        k++;
    }

    *ls = b;

    if (k == len) {
        return len;
    }

    if (s[k] == '\n') {
        return k + 1;
    }

    if (s[k] == '\r' && k + 1 < len && s[k + 1] == '\n') {
        return k + 2;
    }

    return 0;
}


int
gw_tmpl_compile(gw_tmpl_t **out, const char *name, const char *src,
    size_t len, gw_err_t *err)
{
    int                rc;
    char               sigil;
    size_t             pos, p, e, ls, next, depth, tag_len;
    size_t             open[GW_TMPL_MAX_SECTIONS];
    unsigned           line, col;
    const char        *s, *tag, *hit;
    gw_tmpl_t         *t;
    gw_tmpl_op_e       op;
    gw_tmpl_node_t    *nd;
    gw_tmpl_parser_t   ps;

    rc = GW_ERR;
    *out = NULL;

    if (name == NULL) {
        name = "(unnamed)";
    }

    t = gw_xcalloc(1, sizeof(gw_tmpl_t));
    t->name = gw_xstrdup(name);
    t->src = gw_xmalloc(len + 1);
    if (len > 0) {
        memcpy(t->src, src, len);
    }
    t->src[len] = '\0';
    s = t->src;

    ps.name = name;
    ps.src = s;
    ps.len = len;
    ps.cursor = 0;
    ps.line = 1;
    ps.line_start = 0;

    depth = 0;
    pos = 0;

    for ( ;; ) {
        hit = (pos < len) ? memmem(s + pos, len - pos, "{{", 2) : NULL;
        if (hit == NULL) {
            if (pos < len) {
                gw_tmpl_node_add(t, GW_TMPL_TEXT, s + pos, len - pos);
            }
            break;
        }

        p = (size_t) (hit - s);
        gw_tmpl_parser_seek(&ps, p, &line, &col);

        hit = memmem(s + p + 2, len - p - 2, "}}", 2);
        if (hit == NULL) {
            gw_err_set(err, "template \"%s\" line %u column %u: "
                       "unterminated tag", name, line, col);
            goto out;
        }

        tag = s + p + 2;
        tag_len = (size_t) (hit - tag);
        e = (size_t) (hit - s) + 2;

        sigil = (tag_len > 0) ? tag[0] : '\0';

        if (sigil == '{' || sigil == '=') {
            gw_err_set(err, "template \"%s\" line %u column %u: "
                       "\"{{%c\" is not supported (use {{&name}} for a raw "
                       "value; put a space between a literal '{' and a tag)",
                       name, line, col, sigil);
            goto out;
        }

        op = gw_tmpl_tag_op(sigil);
        if (op != GW_TMPL_VALUE) {
            tag++;
            tag_len--;
        }

        if (op != GW_TMPL_COMMENT) {
            while (tag_len > 0 && (tag[0] == ' ' || tag[0] == '\t')) {
                tag++;
                tag_len--;
            }
            while (tag_len > 0
                   && (tag[tag_len - 1] == ' ' || tag[tag_len - 1] == '\t'))
            {
                tag_len--;
            }

            if (!gw_tmpl_name_valid(tag, tag_len)) {
                gw_err_set(err, "template \"%s\" line %u column %u: "
                           "invalid name \"%.*s\" in tag (use letters, "
                           "digits, '_' and '-')",
                           name, line, col, (int) tag_len, tag);
                goto out;
            }
        }

        ls = p;
        next = 0;

        /* sections, inverted sections, partials, closes and comments */
        if (op >= GW_TMPL_SECTION) {
            next = gw_tmpl_standalone(s, len, pos, p, e, &ls);
        }

        if (next == 0) {
            ls = p;
            next = e;
        }

        if (ls > pos) {
            gw_tmpl_node_add(t, GW_TMPL_TEXT, s + pos, ls - pos);
        }

        switch (op) {

        case GW_TMPL_SECTION:
        case GW_TMPL_INVERTED:
            if (depth == GW_TMPL_MAX_SECTIONS) {
                gw_err_set(err, "template \"%s\" line %u column %u: "
                           "sections nested deeper than %d",
                           name, line, col, GW_TMPL_MAX_SECTIONS);
                goto out;
            }

            open[depth++] = t->n;

            nd = gw_tmpl_node_add(t, op, tag, tag_len);
            nd->line = line;
            nd->col = col;
            break;

        case GW_TMPL_VALUE:
        case GW_TMPL_RAW:
        case GW_TMPL_QUOTED:
        case GW_TMPL_PARTIAL:
            nd = gw_tmpl_node_add(t, op, tag, tag_len);
            nd->line = line;
            nd->col = col;

            if (op == GW_TMPL_PARTIAL && ls < p) {
                nd->indent = s + ls;
                nd->indent_len = p - ls;
            }
            break;

        case GW_TMPL_CLOSE:
            if (depth == 0) {
                gw_err_set(err, "template \"%s\" line %u column %u: "
                           "{{/%.*s}} closes no section",
                           name, line, col, (int) tag_len, tag);
                goto out;
            }

            nd = &t->nodes[open[depth - 1]];

            if (nd->len != tag_len || memcmp(nd->str, tag, tag_len) != 0) {
                gw_err_set(err, "template \"%s\" line %u column %u: "
                           "{{/%.*s}} does not close {{%c%.*s}} opened at "
                           "line %u column %u",
                           name, line, col, (int) tag_len, tag,
                           nd->op == GW_TMPL_SECTION ? '#' : '^',
                           (int) nd->len, nd->str, nd->line, nd->col);
                goto out;
            }

            nd->end = t->n;
            depth--;
            break;

        default: /* GW_TMPL_COMMENT */
            break;
        }

        pos = next;
    }

    if (depth > 0) {
        nd = &t->nodes[open[depth - 1]];
        gw_err_set(err, "template \"%s\" line %u column %u: "
                   "{{%c%.*s}} is not closed",
                   name, nd->line, nd->col,
                   nd->op == GW_TMPL_SECTION ? '#' : '^',
                   (int) nd->len, nd->str);
        goto out;
    }

    *out = t;
    t = NULL;
    rc = GW_OK;

out:

    gw_tmpl_free(t);

    return rc;
}


/* The registry. */

static gw_tmpl_t *
gw_tmpl_table_find(const gw_tmpl_table_t *tb, const char *name, size_t len)
{
    size_t  i;

    for (i = 0; i < tb->n; i++) {
        if (strncmp(tb->items[i]->name, name, len) == 0
            && tb->items[i]->name[len] == '\0')
        {
            return tb->items[i];
        }
    }

    return NULL;
}


static void
gw_tmpl_table_put(gw_tmpl_table_t *tb, gw_tmpl_t *t)
{
    size_t  i;

    for (i = 0; i < tb->n; i++) {
        if (strcmp(tb->items[i]->name, t->name) == 0) {
            gw_tmpl_free(tb->items[i]);
            tb->items[i] = t;
            return;
        }
    }

    if (tb->n == tb->cap) {
        tb->cap = tb->cap ? tb->cap * 2 : 16;
        tb->items = gw_xrealloc(tb->items, tb->cap * sizeof(gw_tmpl_t *));
    }

    tb->items[tb->n++] = t;
}


static void
gw_tmpl_table_free(gw_tmpl_table_t *tb)
{
    size_t  i;

    for (i = 0; i < tb->n; i++) {
        gw_tmpl_free(tb->items[i]);
    }

    free(tb->items);
    tb->items = NULL;
    tb->n = 0;
    tb->cap = 0;
}


/*
 * Finds a template by name, compiling an embedded one on first use.
 * *out is NULL if there is none; GW_ERR only if it does not compile.
 */

static int
gw_tmpl_find(const char *name, size_t len, gw_tmpl_t **out, gw_err_t *err)
{
    const gw_tmpl_embedded_t  *em;

    *out = gw_tmpl_table_find(&gw_tmpl_registered, name, len);
    if (*out != NULL) {
        return GW_OK;
    }

    *out = gw_tmpl_table_find(&gw_tmpl_loaded, name, len);
    if (*out != NULL || gw_tmpl_from_dir) {
        return GW_OK;
    }

    for (em = gw_tmpl_embedded; em->name != NULL; em++) {
        if (strncmp(em->name, name, len) != 0 || em->name[len] != '\0') {
            continue;
        }

        if (gw_tmpl_compile(out, em->name, em->src, em->len, err) != GW_OK) {
            return GW_ERR;
        }

        gw_tmpl_table_put(&gw_tmpl_loaded, *out);

        return GW_OK;
    }

    return GW_OK;
}


static int
gw_tmpl_read_file(const char *path, gw_buf_t *b, gw_err_t *err)
{
    int      rc;
    char     chunk[8192];
    size_t   n;
    FILE    *f;

    rc = GW_ERR;

    f = fopen(path, "rb");
    if (f == NULL) {
        gw_err_set(err, "cannot open template \"%s\": %s",
                   path, strerror(errno));
        goto out;
    }

    gw_buf_reset(b);

    for ( ;; ) {
        n = fread(chunk, 1, sizeof(chunk), f);
        gw_buf_append(b, chunk, n);
        if (n < sizeof(chunk)) {
            break;
        }
    }

    if (ferror(f)) {
        gw_err_set(err, "cannot read template \"%s\"", path);
        goto out;
    }

    rc = GW_OK;

out:

    if (f != NULL) {
        fclose(f);
    }

    return rc;
}


int
gw_tmpl_set_dir(const char *dir, gw_err_t *err)
{
    int               rc;
    DIR              *d;
    char              name[256];
    size_t            len;
    gw_buf_t          path, src;
    gw_tmpl_t        *t;
    struct dirent    *de;
    gw_tmpl_table_t   tb;

    if (dir == NULL) {
        gw_tmpl_table_free(&gw_tmpl_loaded);
        gw_tmpl_from_dir = 0;
        return GW_OK;
    }

    rc = GW_ERR;
    memset(&tb, 0, sizeof(gw_tmpl_table_t));
    gw_buf_init(&path);
    gw_buf_init(&src);

    d = opendir(dir);
    if (d == NULL) {
        gw_err_set(err, "cannot open template directory \"%s\": %s",
                   dir, strerror(errno));
        goto out;
    }

    for ( ;; ) {
        de = readdir(d);
        if (de == NULL) {
            break;
        }

        len = strlen(de->d_name);
        if (len <= 5 || len - 5 >= sizeof(name)
            || strcmp(de->d_name + len - 5, ".tmpl") != 0
            || !gw_tmpl_name_valid(de->d_name, len - 5))
        {
            continue;
        }

        memcpy(name, de->d_name, len - 5);
        name[len - 5] = '\0';

        gw_buf_reset(&path);
        gw_buf_printf(&path, "%s/%s", dir, de->d_name);

        if (gw_tmpl_read_file(path.data, &src, err) != GW_OK) {
            goto out;
        }

        if (gw_tmpl_compile(&t, name, src.data, src.len, err) != GW_OK) {
            goto out;
        }

        gw_tmpl_table_put(&tb, t);
    }

    gw_tmpl_table_free(&gw_tmpl_loaded);
    gw_tmpl_loaded = tb;
    memset(&tb, 0, sizeof(gw_tmpl_table_t));
    gw_tmpl_from_dir = 1;

    rc = GW_OK;

out:

    if (d != NULL) {
        closedir(d);
    }

    gw_tmpl_table_free(&tb);
    gw_buf_free(&path);
    gw_buf_free(&src);

    return rc;
}


int
gw_tmpl_register(const char *name, const char *src, size_t len,
    gw_err_t *err)
{
    gw_tmpl_t  *t;

    if (name == NULL || !gw_tmpl_name_valid(name, strlen(name))) {
        gw_err_set(err, "invalid template name \"%s\"",
                   name ? name : "(null)");
        return GW_ERR;
    }

    if (gw_tmpl_compile(&t, name, src, len, err) != GW_OK) {
        return GW_ERR;
    }

    gw_tmpl_table_put(&gw_tmpl_registered, t);

    return GW_OK;
}


void
gw_tmpl_cleanup(void)
{
    gw_tmpl_table_free(&gw_tmpl_registered);
    gw_tmpl_table_free(&gw_tmpl_loaded);
    gw_tmpl_from_dir = 0;
}


/* Rendering. */

/*
 * Appends output; inside a standalone partial, every line that has
 * content starts with the partial's indentation (empty lines stay empty).
 */

static void
gw_tmpl_emit(gw_tmpl_state_t *st, const char *s, size_t n)
{
    size_t       k;
    gw_buf_t    *b;
    const char  *nl;

    b = st->out;

    if (st->indent_len == 0) {
        gw_buf_append(b, s, n);
        return;
    }

    while (n > 0) {
        if (*s != '\n'
            && (b->len == st->start || b->data[b->len - 1] == '\n'))
        {
            gw_buf_append(b, st->indent, st->indent_len);
        }

        nl = memchr(s, '\n', n);
        k = (nl != NULL) ? (size_t) (nl - s) + 1 : n;

        gw_buf_append(b, s, k);
        s += k;
        n -= k;
    }
}


static void
gw_tmpl_char_name(char *buf, size_t size, unsigned char c)
{
    if (c > ' ' && c < 0x7f) {
        snprintf(buf, size, "'%c'", c);
    } else {
        snprintf(buf, size, "\\x%02x", c);
    }
}


/*
 * Returns the index of the first byte that may not appear in the value,
 * or len if there is none.
 */

static size_t
gw_tmpl_check(gw_tmpl_op_e op, const char *s, size_t len)
{
    size_t         i;
    unsigned char  c;

    for (i = 0; i < len; i++) {
        c = (unsigned char) s[i];

        switch (op) {

        case GW_TMPL_VALUE:
            if (c <= ' ' || c == 0x7f || strchr(";{}\"'\\$#", c) != NULL) {
                return i;
            }
            break;

        case GW_TMPL_RAW:
            /* '#' starting a word would comment out the rest of the line */
            if ((c < ' ' && c != '\t') || c == 0x7f
                || c == ';' || c == '{' || c == '}'
                || (c == '#' && (i == 0 || s[i - 1] == ' '
                                 || s[i - 1] == '\t')))
            {
                return i;
            }
            break;

        default: /* GW_TMPL_QUOTED */
            if (c < ' ' || c == 0x7f || c == '$') {
                return i;
            }
            break;
        }
    }

    return len;
}


static int
gw_tmpl_put_value(gw_tmpl_state_t *st, const gw_tmpl_t *t,
    const gw_tmpl_node_t *nd, const gw_tmpl_ctx_t *ctx)
{
    char                    cn[8];
    size_t                  i, k;
    const char             *what;
    const gw_str_t         *v;
    const gw_view_entry_t  *e;

    e = gw_view_lookup(ctx, nd->str, nd->len);
    if (e == NULL) {
        gw_err_set(st->err, "template \"%s\" line %u: unknown key \"%.*s\"",
                   t->name, nd->line, (int) nd->len, nd->str);
        return GW_ERR;
    }

    if (e->type != GW_VIEW_STR) {
        gw_err_set(st->err, "template \"%s\" line %u: key \"%.*s\" is a %s, "
                   "not a value", t->name, nd->line, (int) nd->len, nd->str,
                   e->type == GW_VIEW_LIST ? "list" : "flag");
        return GW_ERR;
    }

    v = &e->u.str;

    if (nd->op == GW_TMPL_VALUE && v->len == 0) {
        gw_err_set(st->err, "template \"%s\" line %u: value of \"%.*s\" is "
                   "empty", t->name, nd->line, (int) nd->len, nd->str);
        return GW_ERR;
    }

    i = gw_tmpl_check(nd->op, v->data, v->len);
    if (i < v->len) {
        switch (nd->op) {
        case GW_TMPL_VALUE:
            what = "a safe nginx token";
            break;
        case GW_TMPL_RAW:
            what = "a raw value";
            break;
        default:
            what = "a quoted string";
            break;
        }

        gw_tmpl_char_name(cn, sizeof(cn), (unsigned char) v->data[i]);
        gw_err_set(st->err, "template \"%s\" line %u: value of \"%.*s\" "
                   "cannot be written as %s: it has %s at offset %zu",
                   t->name, nd->line, (int) nd->len, nd->str, what, cn, i);
        return GW_ERR;
    }

    if (nd->op != GW_TMPL_QUOTED) {
        gw_tmpl_emit(st, v->data, v->len);
        return GW_OK;
    }

    gw_tmpl_emit(st, "\"", 1);

    k = 0;
    for (i = 0; i < v->len; i++) {
        if (v->data[i] == '"' || v->data[i] == '\\') {
            gw_tmpl_emit(st, v->data + k, i - k);
            gw_tmpl_emit(st, "\\", 1);
            k = i;
        }
    }

    gw_tmpl_emit(st, v->data + k, v->len - k);
    gw_tmpl_emit(st, "\"", 1);

    return GW_OK;
}


static int
gw_tmpl_render_partial(gw_tmpl_state_t *st, const gw_tmpl_t *t,
    const gw_tmpl_node_t *nd, const gw_tmpl_ctx_t *ctx)
{
    int         rc;
    size_t      saved;
    gw_tmpl_t  *p;

    if (st->depth >= GW_TMPL_MAX_PARTIALS) {
        gw_err_set(st->err, "template \"%s\" line %u: partials nested deeper "
                   "than %d at {{>%.*s}} (a partial including itself?)",
                   t->name, nd->line, GW_TMPL_MAX_PARTIALS,
                   (int) nd->len, nd->str);
        return GW_ERR;
    }

    if (gw_tmpl_find(nd->str, nd->len, &p, st->err) != GW_OK) {
        return GW_ERR;
    }

    if (p == NULL) {
        gw_err_set(st->err, "template \"%s\" line %u: unknown partial "
                   "\"%.*s\"", t->name, nd->line, (int) nd->len, nd->str);
        return GW_ERR;
    }

    saved = st->indent_len;

    if (nd->indent_len > sizeof(st->indent) - st->indent_len) {
        gw_err_set(st->err, "template \"%s\" line %u: partials indented by "
                   "more than %d characters", t->name, nd->line,
                   GW_TMPL_MAX_INDENT);
        return GW_ERR;
    }

    if (nd->indent_len > 0) {
        memcpy(st->indent + st->indent_len, nd->indent, nd->indent_len);
        st->indent_len += nd->indent_len;
    }

    st->depth++;
    rc = gw_tmpl_render_nodes(st, p, 0, p->n, ctx);
    st->depth--;

    st->indent_len = saved;

    return rc;
}


static int
gw_tmpl_render_nodes(gw_tmpl_state_t *st, const gw_tmpl_t *t, size_t from,
    size_t to, const gw_tmpl_ctx_t *ctx)
{
    size_t                  i;
    const gw_view_t        *item;
    gw_tmpl_ctx_t           sub;
    const gw_tmpl_node_t   *nd;
    const gw_view_entry_t  *e;

    for (i = from; i < to; i++) {
        nd = &t->nodes[i];

        switch (nd->op) {

        case GW_TMPL_TEXT:
            gw_tmpl_emit(st, nd->str, nd->len);
            break;

        case GW_TMPL_SECTION:
            e = gw_view_lookup(ctx, nd->str, nd->len);

            if (e != NULL && e->type == GW_VIEW_LIST) {
                sub.up = ctx;

                for (item = e->u.list.first; item != NULL; item = item->next)
                {
                    sub.view = item;
                    if (gw_tmpl_render_nodes(st, t, i + 1, nd->end, &sub)
                        != GW_OK)
                    {
                        return GW_ERR;
                    }
                }

            } else if (gw_view_truthy(e)) {
                if (gw_tmpl_render_nodes(st, t, i + 1, nd->end, ctx)
                    != GW_OK)
                {
                    return GW_ERR;
                }
            }

            i = nd->end - 1;
            break;

        case GW_TMPL_INVERTED:
            e = gw_view_lookup(ctx, nd->str, nd->len);

            if (!gw_view_truthy(e)) {
                if (gw_tmpl_render_nodes(st, t, i + 1, nd->end, ctx)
                    != GW_OK)
                {
                    return GW_ERR;
                }
            }

            i = nd->end - 1;
            break;

        case GW_TMPL_PARTIAL:
            if (gw_tmpl_render_partial(st, t, nd, ctx) != GW_OK) {
                return GW_ERR;
            }
            break;

        default: /* values */
            if (gw_tmpl_put_value(st, t, nd, ctx) != GW_OK) {
                return GW_ERR;
            }
            break;
        }
    }

    return GW_OK;
}


int
gw_tmpl_render_tmpl(const gw_tmpl_t *t, const gw_view_t *view,
    gw_buf_t *out, gw_err_t *err)
{
    int              rc;
    gw_tmpl_ctx_t    ctx;
    gw_tmpl_state_t  st;

    st.out = out;
    st.start = out->len;
    st.err = err;
    st.depth = 0;
    st.indent_len = 0;

    ctx.view = view;
    ctx.up = NULL;

    rc = gw_tmpl_render_nodes(&st, t, 0, t->n, &ctx);

    if (rc != GW_OK && out->data != NULL) {
        out->len = st.start;
        out->data[out->len] = '\0';
    }

    return rc;
}


int
gw_tmpl_render(const char *name, const gw_view_t *view, gw_buf_t *out,
    gw_err_t *err)
{
    gw_tmpl_t  *t;

    if (gw_tmpl_find(name, strlen(name), &t, err) != GW_OK) {
        return GW_ERR;
    }

    if (t == NULL) {
        gw_err_set(err, "unknown template \"%s\"", name);
        return GW_ERR;
    }

    return gw_tmpl_render_tmpl(t, view, out, err);
}
