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
 *
 * This file holds the registry and the renderer; the compiler is in
 * tmpl_compile.c, the view model in view.c.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/tmpl_int.h"


#define GW_TMPL_MAX_PARTIALS  32    /* partials nested while rendering */
#define GW_TMPL_MAX_INDENT    256   /* total indentation of partials */


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

        case GW_TMPL_LITERAL:
            /* for directives that never read variables: '$' is a '$' */
            if (c < ' ' || c == 0x7f) {
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

    if (nd->op != GW_TMPL_QUOTED && nd->op != GW_TMPL_LITERAL) {
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
