/*
 * ngx-gateway: manifests (from the file source) into a store.
 */

#include <stdio.h>
#include <string.h>

#include "app/app.h"
#include "core/gw_log.h"


/* Each unsupported kind is reported once per process. */
static int
gw_kind_warned(const char *api_version, const char *kind)
{
    static char    seen[64][128];
    static size_t  nseen;
    char           key[128];
    size_t         i;

    snprintf(key, sizeof(key), "%s/%s", api_version, kind);

    for (i = 0; i < nseen; i++) {
        if (strcmp(seen[i], key) == 0) {
            return 1;
        }
    }

    if (nseen < 64) {
        strcpy(seen[nseen++], key);
    }

    return 0;
}


static const char *
gw_json_str(const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}


int
gw_manifests_load(gw_file_source_t *src, gw_store_t *store, size_t *nerrors,
    gw_err_t *err)
{
    int              replaced;
    size_t           i, n, nbad;
    char             origin[4096], line[32];
    gw_err_t         e;
    gw_obj_t        *obj;
    gw_kind_e        kind;
    const char      *av, *k;
    const gw_doc_t  *docs;

    if (gw_file_source_scan(src, &docs, &n, &nbad, err) != GW_OK) {
        return GW_ERR;
    }

    for (i = 0; i < n; i++) {
        av = gw_json_str(docs[i].json, "apiVersion");
        k = gw_json_str(docs[i].json, "kind");
        snprintf(line, sizeof(line), "%d", docs[i].line);

        if (gw_kind_lookup(av, k, &kind) != GW_OK) {
            if (!gw_kind_warned(av, k)) {
                gw_log(GW_LOG_WARN, "skipping a kind this controller does "
                       "not read", "apiVersion", av, "kind", k,
                       "file", docs[i].file, "line", line, NULL);
            }
            continue;
        }

        snprintf(origin, sizeof(origin), "%s:%d", docs[i].file,
                 docs[i].line);

        if (gw_obj_decode(cJSON_Duplicate(docs[i].json, 1), origin, &obj, &e)
            != GW_OK)
        {
            gw_log(GW_LOG_ERROR, "invalid object", "kind", k, "file",
                   docs[i].file, "line", line, "error", e.msg, NULL);
            nbad++;
            continue;
        }

        gw_store_put(store, obj, &replaced);
        if (replaced) {
            gw_log(GW_LOG_WARN, "object defined twice: the later one wins",
                   "kind", k, "ns", obj->meta.namespace, "name",
                   obj->meta.name, "file", docs[i].file, "line", line, NULL);
        }
    }

    *nerrors = nbad;

    return GW_OK;
}
