/*
 * ngx-gateway: multi-document YAML -> cJSON (see yaml.h for the typing
 * rules).
 *
 * libyaml cannot go on after a syntax error, so the input is first cut
 * into one chunk per document at lines starting with `---` (or after a
 * `...` line); each chunk gets its own libyaml parser and positions are
 * translated back to the whole input.  The tree is built from libyaml's
 * events (not its document loader) because the loader forgets whether a
 * scalar had an explicit tag, which decides its type.
 *
 * This file builds the tree from the events; scalar typing is in
 * yaml_scalar.c, mapping keys and merge keys are in yaml_map.c.
 */

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_log.h"
#include "source/yaml_int.h"


/* The same nesting limit as cJSON_Parse(), so our output parses back. */
#define GW_YAML_MAX_DEPTH        CJSON_NESTING_LIMIT

/* Nodes that aliases may copy into one document ("billion laughs"). */
#define GW_YAML_MAX_ALIAS_NODES  1000000


int
gw_yaml_fail(gw_yaml_parser_t *p, yaml_mark_t mark, const char *fmt, ...)
{
    va_list  ap;

    if (p->failed) {
        return GW_ERR;
    }

    p->failed = 1;
    p->err_mark = mark;

    va_start(ap, fmt);
    vsnprintf(p->problem, sizeof(p->problem), fmt, ap);
    va_end(ap);

    return GW_ERR;
}


int
gw_yaml_oom(gw_yaml_parser_t *p)
{
    yaml_mark_t  mark;

    memset(&mark, 0, sizeof(mark));
    p->hard = 1;

    return gw_yaml_fail(p, mark, "out of memory");
}


/* Nodes and nesting depth of a subtree (depth is bounded by the limit). */
static void
gw_yaml_measure(const cJSON *node, size_t *nodes, size_t *depth)
{
    size_t        d, max;
    const cJSON  *c;

    *nodes += 1;
    max = 0;

    if (cJSON_IsArray(node) || cJSON_IsObject(node)) {
        for (c = node->child; c != NULL; c = c->next) {
            d = 0;
            gw_yaml_measure(c, nodes, &d);
            if (d > max) {
                max = d;
            }
        }
        max++;
    }

    *depth = max;
}


static int
gw_yaml_anchor_add(gw_yaml_parser_t *p, const char *name, const cJSON *node,
    const char *raw)
{
    gw_yaml_anchor_t  *a;

    if (p->nanchors == p->anchors_cap) {
        p->anchors_cap = p->anchors_cap ? p->anchors_cap * 2 : 8;
        p->anchors = gw_xrealloc(p->anchors,
                                 p->anchors_cap * sizeof(gw_yaml_anchor_t));
    }

    a = &p->anchors[p->nanchors];
    memset(a, 0, sizeof(gw_yaml_anchor_t));

    a->node = cJSON_Duplicate(node, 1);
    if (a->node == NULL) {
        return gw_yaml_oom(p);
    }

    a->name = gw_xstrdup(name);
    a->raw = raw ? gw_xstrdup(raw) : NULL;
    gw_yaml_measure(node, &a->nodes, &a->depth);
    p->nanchors++;

    return GW_OK;
}


static gw_yaml_anchor_t *
gw_yaml_anchor_find(gw_yaml_parser_t *p, const char *name)
{
    size_t  i;

    /* an anchor may be redefined: the latest definition wins */

    for (i = p->nanchors; i > 0; i--) {
        if (strcmp(p->anchors[i - 1].name, name) == 0) {
            return &p->anchors[i - 1];
        }
    }

    return NULL;
}


static void
gw_yaml_doc_reset(gw_yaml_parser_t *p)
{
    size_t  i;

    for (i = 0; i < p->depth; i++) {
        cJSON_Delete(p->stack[i].node);
        free(p->stack[i].anchor);
        free(p->stack[i].key);
        free(p->stack[i].index);
    }
    p->depth = 0;

    for (i = 0; i < p->nanchors; i++) {
        free(p->anchors[i].name);
        free(p->anchors[i].raw);
        cJSON_Delete(p->anchors[i].node);
    }
    p->nanchors = 0;
    p->alias_nodes = 0;

    cJSON_Delete(p->root);
    p->root = NULL;
    p->root_empty = 0;
}


/*
 * Puts a finished node where it belongs: the document root, the next
 * item of a sequence, or a key or value of a mapping.  raw is the text of
 * a scalar (NULL for a collection).  Takes ownership of v.
 */
static int
gw_yaml_add(gw_yaml_parser_t *p, cJSON *v, const char *raw, int merge,
    yaml_mark_t mark)
{
    int               rc;
    char             *key;
    gw_yaml_frame_t  *f;

    if (p->depth == 0) {
        cJSON_Delete(p->root);
        p->root = v;
        p->root_mark = mark;
        return GW_OK;
    }

    f = &p->stack[p->depth - 1];

    if (cJSON_IsArray(f->node)) {
        if (!cJSON_AddItemToArray(f->node, v)) {
            cJSON_Delete(v);
            return gw_yaml_oom(p);
        }
        return GW_OK;
    }

    if (f->key == NULL) {
        cJSON_Delete(v);

        if (raw == NULL) {
            return gw_yaml_fail(p, mark, "mapping keys must be scalars");
        }

        f->key = gw_xstrdup(raw);
        f->merge = merge;
        return GW_OK;
    }

    key = f->key;
    f->key = NULL;

    if (f->merge) {
        rc = gw_yaml_merge(p, f, v, mark);
        cJSON_Delete(v);

    } else {
        /* a key written twice, or over a merged key: the last one wins */
        rc = gw_yaml_key_set(p, f, key, v, 1);
    }

    free(key);

    return rc;
}


static int
gw_yaml_on_scalar(gw_yaml_parser_t *p, yaml_event_t *ev)
{
    int          merge;
    cJSON       *v;
    const char  *s, *anchor;

    s = (const char *) ev->data.scalar.value;
    anchor = (const char *) ev->data.scalar.anchor;

    v = gw_yaml_scalar(p, ev);
    if (v == NULL) {
        return p->failed ? GW_ERR : gw_yaml_oom(p);
    }

    if (anchor != NULL && gw_yaml_anchor_add(p, anchor, v, s) != GW_OK) {
        cJSON_Delete(v);
        return GW_ERR;
    }

    merge = (ev->data.scalar.tag == NULL
             && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE
             && strcmp(s, "<<") == 0);

    if (p->depth == 0) {
        p->root_empty = (ev->data.scalar.length == 0
                         && ev->data.scalar.tag == NULL
                         && anchor == NULL
                         && ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
    }

    return gw_yaml_add(p, v, s, merge, ev->start_mark);
}


static int
gw_yaml_on_alias(gw_yaml_parser_t *p, yaml_event_t *ev)
{
    cJSON             *v;
    const char        *name;
    gw_yaml_anchor_t  *a;

    name = (const char *) ev->data.alias.anchor;

    a = gw_yaml_anchor_find(p, name);
    if (a == NULL) {
        return gw_yaml_fail(p, ev->start_mark, "unknown anchor '%s' "
                            "referenced", name);
    }

    if (p->depth + a->depth > GW_YAML_MAX_DEPTH) {
        return gw_yaml_fail(p, ev->start_mark, "document nesting is too "
                            "deep (more than %d levels)", GW_YAML_MAX_DEPTH);
    }

    p->alias_nodes += a->nodes;
    if (p->alias_nodes > GW_YAML_MAX_ALIAS_NODES) {
        return gw_yaml_fail(p, ev->start_mark, "document contains excessive "
                            "aliasing");
    }

    v = cJSON_Duplicate(a->node, 1);
    if (v == NULL) {
        return gw_yaml_oom(p);
    }

    return gw_yaml_add(p, v, a->raw, 0, ev->start_mark);
}


static int
gw_yaml_on_start(gw_yaml_parser_t *p, yaml_event_t *ev)
{
    cJSON            *node;
    yaml_char_t      *anchor;
    gw_yaml_frame_t  *f;

    if (p->depth > 0) {
        f = &p->stack[p->depth - 1];
        if (cJSON_IsObject(f->node) && f->key == NULL) {
            return gw_yaml_fail(p, ev->start_mark, "mapping keys must be "
                                "scalars");
        }
    }

    if (p->depth + 1 > GW_YAML_MAX_DEPTH) {
        return gw_yaml_fail(p, ev->start_mark, "document nesting is too "
                            "deep (more than %d levels)", GW_YAML_MAX_DEPTH);
    }

    if (ev->type == YAML_MAPPING_START_EVENT) {
        node = cJSON_CreateObject();
        anchor = ev->data.mapping_start.anchor;
    } else {
        node = cJSON_CreateArray();
        anchor = ev->data.sequence_start.anchor;
    }

    if (node == NULL) {
        return gw_yaml_oom(p);
    }

    if (p->depth == p->stack_cap) {
        p->stack_cap = p->stack_cap ? p->stack_cap * 2 : 16;
        p->stack = gw_xrealloc(p->stack,
                               p->stack_cap * sizeof(gw_yaml_frame_t));
    }

    f = &p->stack[p->depth++];
    f->node = node;
    f->anchor = anchor ? gw_xstrdup((const char *) anchor) : NULL;
    f->key = NULL;
    f->merge = 0;
    f->mark = ev->start_mark;
    f->nkeys = 0;
    f->index = NULL;
    f->index_cap = 0;

    return GW_OK;
}


static int
gw_yaml_on_end(gw_yaml_parser_t *p)
{
    int               rc;
    gw_yaml_frame_t   f;

    f = p->stack[--p->depth];

    rc = GW_OK;

    if (f.anchor != NULL) {
        rc = gw_yaml_anchor_add(p, f.anchor, f.node, NULL);
    }

    free(f.anchor);
    free(f.key);      /* NULL unless the mapping was cut short */
    free(f.index);

    if (rc != GW_OK) {
        cJSON_Delete(f.node);
        return rc;
    }

    return gw_yaml_add(p, f.node, NULL, 0, f.mark);
}


static int
gw_yaml_on_doc_end(gw_yaml_parser_t *p)
{
    cJSON  *doc;

    if (p->root == NULL || p->root_empty) {
        gw_yaml_doc_reset(p);
        return GW_OK;
    }

    if (!cJSON_IsObject(p->root)) {
        return gw_yaml_fail(p, p->root_mark, "document is not a mapping");
    }

    doc = p->root;
    p->root = NULL;

    if (p->on_doc != NULL) {
        p->on_doc(p->ctx, doc, p->file,
                  p->chunk_line + (int) p->doc_mark.line + 1);
    } else {
        cJSON_Delete(doc);
    }

    gw_yaml_doc_reset(p);

    return GW_OK;
}


static int
gw_yaml_on_event(gw_yaml_parser_t *p, yaml_event_t *ev)
{
    switch (ev->type) {

    case YAML_DOCUMENT_START_EVENT:
        gw_yaml_doc_reset(p);
        p->doc_mark = ev->start_mark;
        return GW_OK;

    case YAML_DOCUMENT_END_EVENT:
        return gw_yaml_on_doc_end(p);

    case YAML_SCALAR_EVENT:
        return gw_yaml_on_scalar(p, ev);

    case YAML_ALIAS_EVENT:
        return gw_yaml_on_alias(p, ev);

    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return gw_yaml_on_start(p, ev);

    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return gw_yaml_on_end(p);

    default:
        return GW_OK;
    }
}


/* A libyaml error: its message and where it happened. */
static void
gw_yaml_syntax_error(gw_yaml_parser_t *p, yaml_parser_t *parser)
{
    size_t        i;
    yaml_mark_t   mark;
    const char   *problem;

    if (parser->error == YAML_MEMORY_ERROR) {
        gw_yaml_oom(p);
        return;
    }

    problem = parser->problem ? parser->problem : "invalid YAML";
    mark = parser->problem_mark;

    if (parser->error == YAML_READER_ERROR) {
        /* only a byte offset: count lines up to it */
        memset(&mark, 0, sizeof(mark));
        for (i = 0; i < parser->problem_offset && i < p->chunk_len; i++) {
            if (p->chunk[i] == '\n') {
                mark.line++;
                mark.column = 0;
            } else {
                mark.column++;
            }
        }
    }

    if (parser->context != NULL) {
        gw_yaml_fail(p, mark, "%s (%s at line %d, column %d)", problem,
                     parser->context,
                     p->chunk_line + (int) parser->context_mark.line + 1,
                     (int) parser->context_mark.column + 1);
        return;
    }

    gw_yaml_fail(p, mark, "%s", problem);
}


static void
gw_yaml_parse_chunk(gw_yaml_parser_t *p)
{
    int            rc, done;
    yaml_event_t   event;
    yaml_parser_t  parser;

    if (!yaml_parser_initialize(&parser)) {
        gw_yaml_oom(p);
        return;
    }

    yaml_parser_set_input_string(&parser, (const unsigned char *) p->chunk,
                                 p->chunk_len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

    p->failed = 0;
    done = 0;

    while (!done) {
        if (!yaml_parser_parse(&parser, &event)) {
            gw_yaml_syntax_error(p, &parser);
            break;
        }

        done = (event.type == YAML_STREAM_END_EVENT);
        rc = gw_yaml_on_event(p, &event);
        yaml_event_delete(&event);

        if (rc != GW_OK) {
            break;
        }
    }

    if (p->failed && !p->hard) {
        p->nerrors++;
        if (p->on_err != NULL) {
            p->on_err(p->ctx, p->file,
                      p->chunk_line + (int) p->err_mark.line + 1,
                      (int) p->err_mark.column + 1, p->problem);
        }
    }

    gw_yaml_doc_reset(p);
    yaml_parser_delete(&parser);
}


/* "---" or "..." alone on its line or followed by a space or a tab */
static int
gw_yaml_is_marker(const char *s, const char *eol, char c)
{
    if (eol - s < 3 || s[0] != c || s[1] != c || s[2] != c) {
        return 0;
    }

    return eol - s == 3 || s[3] == ' ' || s[3] == '\t';
}


/* a line that holds a node: not blank, not a comment, not a directive */
static int
gw_yaml_is_content(const char *s, const char *eol)
{
    if (s < eol && *s == '%') {
        return 0;
    }

    while (s < eol && (*s == ' ' || *s == '\t' || *s == '\r')) {
        s++;
    }

    return s < eol && *s != '#';
}


int
gw_yaml_parse(const char *file, const char *data, size_t len,
    gw_yaml_doc_pt on_doc, gw_yaml_err_pt on_err, void *ctx)
{
    int                line, chunk_line, seen;
    const char        *s, *end, *eol, *next, *chunk;
    gw_yaml_parser_t   p;

    memset(&p, 0, sizeof(p));
    p.file = file;
    p.on_doc = on_doc;
    p.on_err = on_err;
    p.ctx = ctx;

    s = data;
    end = data + len;

    /* a UTF-8 byte order mark */
    if (len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
        s += 3;
    }

    chunk = s;
    chunk_line = 0;
    seen = 0;          /* the chunk has a `---` or content */

    for (line = 0; s < end && !p.hard; line++, s = next) {

        /* a line ends at LF, CRLF or a lone CR, as libyaml counts them */
        for (eol = s; eol < end && *eol != '\n' && *eol != '\r'; eol++) {
            /* void */
        }

        next = eol;
        if (next < end) {
            next += (*next == '\r' && next + 1 < end && next[1] == '\n')
                    ? 2 : 1;
        }

        if (gw_yaml_is_marker(s, eol, '-')) {
            if (seen) {
                p.chunk = chunk;
                p.chunk_len = (size_t) (s - chunk);
                p.chunk_line = chunk_line;
                gw_yaml_parse_chunk(&p);

                chunk = s;
                chunk_line = line;
            }
            seen = 1;

        } else if (gw_yaml_is_marker(s, eol, '.')) {
            p.chunk = chunk;
            p.chunk_len = (size_t) (next - chunk);
            p.chunk_line = chunk_line;
            gw_yaml_parse_chunk(&p);

            chunk = next;
            chunk_line = line + 1;
            seen = 0;

        } else if (gw_yaml_is_content(s, eol)) {
            seen = 1;
        }
    }

    if (chunk < end && !p.hard) {
        p.chunk = chunk;
        p.chunk_len = (size_t) (end - chunk);
        p.chunk_line = chunk_line;
        gw_yaml_parse_chunk(&p);
    }

    free(p.stack);
    free(p.anchors);

    if (p.hard) {
        gw_log(GW_LOG_ERROR, "cannot parse YAML", "file", file ? file : "",
               "error", "out of memory", NULL);
        return GW_ERR;
    }

    return p.nerrors;
}
