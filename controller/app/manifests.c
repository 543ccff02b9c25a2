/*
 * ngx-gateway: manifests (from the file source) into a store.
 */

#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "app/app.h"
#include "core/gw_log.h"
#include "core/gw_map.h"


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


/*
 * The API server stamps creationTimestamp when an object is created, and
 * route and Gateway precedence depend on it.  Manifests on disk rarely
 * carry one: an object gets the time it was first seen (with microseconds,
 * so objects added one after another keep their order), kept across
 * rescans while the object stays; one that disappears and comes back is
 * a new object, as in the API server.  Two generations of the table: the
 * previous scan's, and the one a scan fills; the previous one is released
 * after the scan, so the table holds only the objects present.
 */
typedef struct {
    int          init;
    gw_arena_t   arena;
    gw_map_t     born;               /* "kind/ns/name" -> timestamp */
} gw_stamps_t;

static gw_stamps_t  gw_stamps[2];
static int          gw_stamps_cur;   /* index of the last scan's table */
static long long    gw_stamps_last;  /* the last stamp, microseconds */


static void
gw_stamps_reset(gw_stamps_t *t)
{
    if (t->init) {
        gw_arena_release(&t->arena);
    }

    gw_arena_init(&t->arena);
    gw_map_init(&t->born, &t->arena);
    t->init = 1;
}


static void
gw_manifests_stamp(cJSON *json, const char *kind, gw_stamps_t *prev,
    gw_stamps_t *next)
{
    long long         us;
    char              key[1024], ts[64];
    const char       *t;
    cJSON            *meta;
    struct tm         tm;
    struct timeval    tv;

    meta = cJSON_GetObjectItemCaseSensitive(json, "metadata");
    if (!cJSON_IsObject(meta)
        || cJSON_GetObjectItemCaseSensitive(meta, "creationTimestamp")
           != NULL)
    {
        return;
    }

    snprintf(key, sizeof(key), "%s/%s/%s", kind,
             gw_json_str(meta, "namespace"), gw_json_str(meta, "name"));

    t = gw_map_get(&next->born, key);
    if (t == NULL) {
        t = prev->init ? gw_map_get(&prev->born, key) : NULL;
    }

    if (t == NULL) {
        /* strictly increasing: first-seen order is the file order */
        gettimeofday(&tv, NULL);
        us = (long long) tv.tv_sec * 1000000 + tv.tv_usec;
        if (us <= gw_stamps_last) {
            us = gw_stamps_last + 1;
        }
        gw_stamps_last = us;
        tv.tv_sec = (time_t) (us / 1000000);
        tv.tv_usec = (suseconds_t) (us % 1000000);
        gmtime_r(&tv.tv_sec, &tm);
        snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
                 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                 tm.tm_min, tm.tm_sec, (long) tv.tv_usec);
        t = ts;
    }

    if (gw_map_get(&next->born, key) == NULL) {
        t = gw_arena_strdup(&next->arena, t);
        gw_map_put(&next->born, gw_arena_strdup(&next->arena, key),
                   (void *) t);
    }

    cJSON_AddStringToObject(meta, "creationTimestamp", t);
}


void
gw_manifests_release(void)
{
    int  i;

    for (i = 0; i < 2; i++) {
        if (gw_stamps[i].init) {
            gw_arena_release(&gw_stamps[i].arena);
            gw_stamps[i].init = 0;
        }
    }
}


int
gw_manifests_load(gw_file_source_t *src, gw_store_t *store, size_t *nerrors,
    gw_err_t *err)
{
    int              replaced;
    size_t           i, n, nbad;
    char             origin[4096], line[32];
    cJSON           *json;
    gw_err_t         e;
    gw_obj_t        *obj;
    gw_kind_e        kind;
    const char      *av, *k;
    const gw_doc_t  *docs;
    gw_stamps_t     *prev, *next;

    if (gw_file_source_scan(src, &docs, &n, &nbad, err) != GW_OK) {
        return GW_ERR;
    }

    prev = &gw_stamps[gw_stamps_cur];
    next = &gw_stamps[1 - gw_stamps_cur];
    gw_stamps_reset(next);

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

        json = cJSON_Duplicate(docs[i].json, 1);
        gw_manifests_stamp(json, k, prev, next);

        if (gw_obj_decode(json, origin, &obj, &e) != GW_OK) {
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

    /* the previous scan's stamps: only those still present were kept */
    if (prev->init) {
        gw_arena_release(&prev->arena);
        prev->init = 0;
    }
    gw_stamps_cur = 1 - gw_stamps_cur;

    *nerrors = nbad;

    return GW_OK;
}
