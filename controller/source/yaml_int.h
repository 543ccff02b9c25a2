/*
 * ngx-gateway: YAML -> cJSON, internal interface shared by yaml.c (the
 * document builder), yaml_scalar.c and yaml_map.c.
 */

#ifndef GW_SOURCE_YAML_INT_H
#define GW_SOURCE_YAML_INT_H

#include <yaml.h>

#include "source/yaml.h"


#define GW_YAML_PROBLEM_LEN      512


typedef struct {
    char              *name;
    cJSON             *node;      /* a private copy */
    char              *raw;       /* scalar text (for use as a key) */
    size_t             nodes;     /* nodes in the subtree */
    size_t             depth;     /* collections nested in the subtree */
} gw_yaml_anchor_t;


typedef struct {
    cJSON             *node;      /* object or array */
    char              *anchor;
    char              *key;       /* mapping: key waiting for its value */
    int                merge;     /* mapping: that key is `<<` */
    yaml_mark_t        mark;      /* where the collection starts */
    size_t             nkeys;     /* mapping: keys so far */
    cJSON            **index;     /* mapping: open addressing, or NULL */
    size_t             index_cap; /* a power of two */
} gw_yaml_frame_t;


typedef struct {
    const char        *file;
    gw_yaml_doc_pt     on_doc;
    gw_yaml_err_pt     on_err;
    void              *ctx;
    int                nerrors;
    int                hard;       /* out of memory */

    /* the chunk being parsed */
    const char        *chunk;
    size_t             chunk_len;
    int                chunk_line;  /* 0-based line of its first byte */

    /* the document being built */
    gw_yaml_frame_t   *stack;
    size_t             depth;
    size_t             stack_cap;
    gw_yaml_anchor_t  *anchors;
    size_t             nanchors;
    size_t             anchors_cap;
    size_t             alias_nodes;
    cJSON             *root;
    int                root_empty;
    yaml_mark_t        root_mark;
    yaml_mark_t        doc_mark;

    /* what went wrong with the current document */
    int                failed;
    yaml_mark_t        err_mark;
    char               problem[GW_YAML_PROBLEM_LEN];
} gw_yaml_parser_t;


/* yaml.c: the document fails with a problem at mark; returns GW_ERR. */

int gw_yaml_fail(gw_yaml_parser_t *p, yaml_mark_t mark, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int gw_yaml_oom(gw_yaml_parser_t *p);


/*
 * yaml_scalar.c: the node for a scalar event, typed by its tag or, for a
 * plain scalar, as go-yaml v2 resolves it.  NULL if out of memory, or if
 * the value does not fit its tag (then the document has failed).
 */

cJSON *gw_yaml_scalar(gw_yaml_parser_t *p, yaml_event_t *ev);


/* yaml_map.c: mapping keys and merge keys (`<<`). */

int gw_yaml_key_set(gw_yaml_parser_t *p, gw_yaml_frame_t *f, const char *key,
    cJSON *v, int replace);
int gw_yaml_merge(gw_yaml_parser_t *p, gw_yaml_frame_t *f, cJSON *src,
    yaml_mark_t mark);


#endif /* GW_SOURCE_YAML_INT_H */
