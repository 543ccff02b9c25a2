/*
 * ngx-gateway: the template compiler.  A template compiles into a flat
 * array of nodes (see tmpl.c); a section node records where its body
 * ends.  Errors name the template, line and column.
 */

#include <stdlib.h>
#include <string.h>

#include "render/tmpl_int.h"


#define GW_TMPL_MAX_SECTIONS  32    /* sections nested in one template */


typedef struct {
    const char         *name;
    const char         *src;
    size_t              len;
    size_t              cursor;     /* lines are counted up to here */
    unsigned            line;       /* the line at cursor */
    size_t              line_start;
} gw_tmpl_parser_t;


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


int
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
    case '%':
        return GW_TMPL_LITERAL;
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
        case GW_TMPL_LITERAL:
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
