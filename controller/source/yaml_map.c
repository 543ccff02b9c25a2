/*
 * ngx-gateway: YAML mappings while building a document: setting keys
 * (large mappings get a hash index of their keys) and merge keys (`<<`).
 */

#include <stdlib.h>
#include <string.h>

#include "source/yaml_int.h"


/* A mapping with this many keys gets a hash index of them. */
#define GW_YAML_INDEX_MIN        32


static size_t
gw_yaml_hash(const char *s)
{
    size_t  h;

    /* FNV-1a */

    h = 2166136261u;
    while (*s) {
        h = (h ^ (unsigned char) *s++) * 16777619u;
    }

    return h;
}


/*
 * The item for key in the mapping of f, or NULL.  With an index, *slot
 * is where the key is or would go.  Without one, a linear search: most
 * mappings are small.
 */
static cJSON *
gw_yaml_key_find(gw_yaml_frame_t *f, const char *key, size_t *slot)
{
    size_t  i, mask;

    if (f->index == NULL) {
        return cJSON_GetObjectItemCaseSensitive(f->node, key);
    }

    mask = f->index_cap - 1;

    for (i = gw_yaml_hash(key) & mask; f->index[i] != NULL;
         i = (i + 1) & mask)
    {
        if (strcmp(f->index[i]->string, key) == 0) {
            break;
        }
    }

    *slot = i;

    return f->index[i];
}


/* Records the item just appended to the mapping of f. */
static void
gw_yaml_key_added(gw_yaml_frame_t *f, cJSON *item)
{
    size_t   mask, slot;
    cJSON   *c;

    f->nkeys++;

    if (f->index == NULL && f->nkeys < GW_YAML_INDEX_MIN) {
        return;
    }

    if (f->index != NULL && f->nkeys * 2 <= f->index_cap) {
        gw_yaml_key_find(f, item->string, &slot);
        f->index[slot] = item;
        return;
    }

    /* (re)build, an eighth full */

    free(f->index);
    f->index_cap = f->index_cap ? f->index_cap * 4 : GW_YAML_INDEX_MIN * 4;
    f->index = gw_xcalloc(f->index_cap, sizeof(cJSON *));
    mask = f->index_cap - 1;

    for (c = f->node->child; c != NULL; c = c->next) {
        for (slot = gw_yaml_hash(c->string) & mask; f->index[slot] != NULL;
             slot = (slot + 1) & mask)
        {
            /* void */
        }
        f->index[slot] = c;
    }
}


/*
 * Sets key in the mapping of f; a key already there is replaced only if
 * replace is set.  Takes ownership of v.
 */
int
gw_yaml_key_set(gw_yaml_parser_t *p, gw_yaml_frame_t *f, const char *key,
    cJSON *v, int replace)
{
    size_t  slot;

    slot = 0;

    if (gw_yaml_key_find(f, key, &slot) != NULL) {
        if (!replace) {
            cJSON_Delete(v);
            return GW_OK;
        }

        if (!cJSON_ReplaceItemInObjectCaseSensitive(f->node, key, v)) {
            cJSON_Delete(v);
            return gw_yaml_oom(p);
        }

        if (f->index != NULL) {
            f->index[slot] = v;
        }

        return GW_OK;
    }

    if (!cJSON_AddItemToObject(f->node, key, v)) {
        cJSON_Delete(v);
        return gw_yaml_oom(p);
    }

    gw_yaml_key_added(f, v);

    return GW_OK;
}


static int
gw_yaml_merge_map(gw_yaml_parser_t *p, gw_yaml_frame_t *f, cJSON *src)
{
    cJSON  *item;

    /* keys already there win: written keys and earlier merges */

    while (src->child != NULL) {
        item = cJSON_DetachItemViaPointer(src, src->child);

        if (gw_yaml_key_set(p, f, item->string, item, 0) != GW_OK) {
            return GW_ERR;
        }
    }

    return GW_OK;
}


int
gw_yaml_merge(gw_yaml_parser_t *p, gw_yaml_frame_t *f, cJSON *src,
    yaml_mark_t mark)
{
    cJSON  *item;

    if (cJSON_IsObject(src)) {
        return gw_yaml_merge_map(p, f, src);
    }

    if (!cJSON_IsArray(src)) {
        goto invalid;
    }

    for (item = src->child; item != NULL; item = item->next) {
        if (!cJSON_IsObject(item)) {
            goto invalid;
        }
    }

    for (item = src->child; item != NULL; item = item->next) {
        if (gw_yaml_merge_map(p, f, item) != GW_OK) {
            return GW_ERR;
        }
    }

    return GW_OK;

invalid:

    return gw_yaml_fail(p, mark, "map merge requires a mapping or a "
                        "sequence of mappings as the value");
}
