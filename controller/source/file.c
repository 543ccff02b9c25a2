/*
 * ngx-gateway: the standalone source, manifests from files (see file.h).
 *
 * Everything a scan produces except the JSON itself (entries, paths, the
 * document array) lives in one arena per scan, released when the next
 * scan has taken what it keeps, so memory does not grow across scans.
 *
 * The inotify watcher is in file_watch.c.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/gw_arena.h"
#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "source/file_int.h"
#include "source/yaml.h"


typedef struct {
    const char        *path;
    gw_ptrs_t          docs;        /* gw_doc_t * */
} gw_file_entry_t;


typedef struct {
    dev_t              dev;
    ino_t              ino;
} gw_file_dir_id_t;


typedef struct {
    gw_arena_t        *arena;       /* the new scan's */
    gw_arena_t         tmp;         /* freed at the end of the scan */
    gw_ptrs_t          paths;       /* char *, in arena */
    gw_ptrs_t          files;       /* gw_file_entry_t *, in arena */
    gw_ptrs_t          bad_dirs;    /* unreadable directories, in tmp */
    gw_ptrs_t          visited;     /* gw_file_dir_id_t *, in tmp */
    gw_file_entry_t   *entry;       /* the file being parsed */
    size_t             nerrors;
} gw_file_scan_t;


static int
gw_file_has_suffix(const char *name, const char *suffix)
{
    size_t  n, m;

    n = strlen(name);
    m = strlen(suffix);

    return n >= m && strcmp(name + n - m, suffix) == 0;
}


/* hidden entries and editor leftovers */
int
gw_file_ignored(const char *name)
{
    return name[0] == '.'
           || gw_file_has_suffix(name, "~")
           || gw_file_has_suffix(name, ".swp")
           || gw_file_has_suffix(name, ".swx");
}


int
gw_file_is_manifest(const char *name)
{
    return !gw_file_ignored(name)
           && (gw_file_has_suffix(name, ".yaml")
               || gw_file_has_suffix(name, ".yml"));
}


static int
gw_file_cmp_paths(const void *a, const void *b)
{
    return strcmp(*(char * const *) a, *(char * const *) b);
}


static int
gw_file_cmp_entries(const void *a, const void *b)
{
    const gw_file_entry_t  *x, *y;

    x = *(gw_file_entry_t * const *) a;
    y = *(gw_file_entry_t * const *) b;

    return strcmp(x->path, y->path);
}


/* the entry for path in a list sorted by path */
static gw_file_entry_t *
gw_file_entry_find(gw_ptrs_t *files, const char *path)
{
    int                c;
    size_t             lo, hi, mid;
    gw_file_entry_t   *e;

    lo = 0;
    hi = files->n;

    while (lo < hi) {
        mid = lo + (hi - lo) / 2;
        e = files->items[mid];

        c = strcmp(path, e->path);
        if (c == 0) {
            return e;
        }

        if (c < 0) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }

    return NULL;
}


/* Reads a whole file; on failure returns GW_ERR with errno set. */
static int
gw_file_read(const char *path, gw_buf_t *b)
{
    int      fd, rc, saved;
    char     chunk[65536];
    ssize_t  n;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        return GW_ERR;
    }

    rc = GW_OK;

    for ( ;; ) {
        n = read(fd, chunk, sizeof(chunk));

        if (n == 0) {
            break;
        }

        if (n == -1) {
            if (errno == EINTR) {
                continue;
            }
            rc = GW_ERR;
            break;
        }

        gw_buf_append(b, chunk, (size_t) n);
    }

    saved = errno;
    close(fd);
    errno = saved;

    return rc;
}


static void
gw_file_log_unreadable(const char *path, int errnum)
{
    gw_log(GW_LOG_ERROR, "cannot read manifest", "file", path,
           "error", strerror(errnum), NULL);
}


/*
 * Collects the manifests under dir.  Only the root failing to open is an
 * error; anything below is logged, counted, and remembered so that the
 * files it held keep their last documents.
 */
static int
gw_file_walk(gw_file_scan_t *sc, const char *dir, int root, gw_err_t *err)
{
    DIR               *d;
    char              *path;
    size_t             i;
    struct stat        st;
    struct dirent     *de;
    gw_file_dir_id_t  *id;

    d = opendir(dir);
    if (d == NULL) {
        if (root) {
            gw_err_set(err, "cannot read %s: %s", dir, strerror(errno));
            return GW_ERR;
        }

        if (errno != ENOENT) {
            gw_file_log_unreadable(dir, errno);
            gw_ptrs_push(&sc->tmp, &sc->bad_dirs,
                         gw_arena_strdup(&sc->tmp, dir));
            sc->nerrors++;
        }

        return GW_OK;
    }

    /* a directory reached twice through symbolic links is read once */

    if (fstat(dirfd(d), &st) == 0) {
        for (i = 0; i < sc->visited.n; i++) {
            id = sc->visited.items[i];
            if (id->dev == st.st_dev && id->ino == st.st_ino) {
                closedir(d);
                return GW_OK;
            }
        }

        id = gw_arena_alloc(&sc->tmp, sizeof(gw_file_dir_id_t));
        id->dev = st.st_dev;
        id->ino = st.st_ino;
        gw_ptrs_push(&sc->tmp, &sc->visited, id);
    }

    for ( ;; ) {
        errno = 0;
        de = readdir(d);
        if (de == NULL) {
            break;
        }

        if (gw_file_ignored(de->d_name)) {
            continue;
        }

        path = gw_arena_printf(sc->arena, "%s/%s", dir, de->d_name);

        if (stat(path, &st) == -1) {
            /* a dangling symbolic link or a race is not an error */
            if (errno != ENOENT && gw_file_is_manifest(de->d_name)) {
                gw_file_log_unreadable(path, errno);
                gw_ptrs_push(&sc->tmp, &sc->bad_dirs, path);
                sc->nerrors++;
            }
            continue;
        }

        if (S_ISDIR(st.st_mode)) {
            gw_file_walk(sc, path, 0, err);

        } else if (S_ISREG(st.st_mode) && gw_file_is_manifest(de->d_name)) {
            gw_ptrs_push(sc->arena, &sc->paths, path);
        }
    }

    if (errno != 0) {
        gw_file_log_unreadable(dir, errno);
        gw_ptrs_push(&sc->tmp, &sc->bad_dirs, gw_arena_strdup(&sc->tmp, dir));
        sc->nerrors++;
    }

    closedir(d);

    return GW_OK;
}


static void
gw_file_on_doc(void *ctx, cJSON *json, const char *file, int line)
{
    gw_doc_t        *doc;
    gw_file_scan_t  *sc;

    (void) file;

    sc = ctx;

    doc = gw_arena_alloc(sc->arena, sizeof(gw_doc_t));
    doc->json = json;
    doc->file = sc->entry->path;
    doc->line = line;

    gw_ptrs_push(sc->arena, &sc->entry->docs, doc);
}


static void
gw_file_on_err(void *ctx, const char *file, int line, int column,
    const char *problem)
{
    char  l[16], c[16];

    (void) ctx;

    snprintf(l, sizeof(l), "%d", line);
    snprintf(c, sizeof(c), "%d", column);

    gw_log(GW_LOG_ERROR, "malformed manifest", "file", file, "line", l,
           "column", c, "error", problem, NULL);
}


static const char *
gw_file_field(const cJSON *json, const char *parent, const char *name)
{
    const cJSON  *v;

    v = json;
    if (parent != NULL) {
        v = cJSON_GetObjectItemCaseSensitive(v, parent);
    }

    v = cJSON_GetObjectItemCaseSensitive(v, name);

    return cJSON_IsString(v) ? v->valuestring : "";
}


/* API group, kind, namespace and name: what a newer version replaces */
static char *
gw_file_identity(gw_arena_t *a, const cJSON *json)
{
    size_t       glen;
    const char  *api, *slash;

    api = gw_file_field(json, NULL, "apiVersion");
    slash = strchr(api, '/');
    glen = slash ? (size_t) (slash - api) : 0;

    return gw_arena_printf(a, "%.*s\n%s\n%s\n%s", (int) glen, api,
                           gw_file_field(json, NULL, "kind"),
                           gw_file_field(json, "metadata", "namespace"),
                           gw_file_field(json, "metadata", "name"));
}


static void
gw_file_move_doc(gw_file_scan_t *sc, gw_file_entry_t *to, gw_doc_t *from)
{
    gw_doc_t  *doc;

    doc = gw_arena_alloc(sc->arena, sizeof(gw_doc_t));
    doc->json = from->json;
    doc->file = to->path;
    doc->line = from->line;
    from->json = NULL;

    gw_ptrs_push(sc->arena, &to->docs, doc);
}


/*
 * The last-good rule: keep the previous documents of a broken file whose
 * identity no good document of its new version has.
 */
static void
gw_file_keep_last_good(gw_file_scan_t *sc, gw_file_entry_t *e,
    gw_file_entry_t *old, int all)
{
    char        *id, kept[32];
    size_t       i, j, n;
    gw_doc_t    *doc;
    gw_ptrs_t    ids;

    memset(&ids, 0, sizeof(ids));

    for (i = 0; i < e->docs.n; i++) {
        doc = e->docs.items[i];
        gw_ptrs_push(&sc->tmp, &ids, gw_file_identity(&sc->tmp, doc->json));
    }

    n = 0;

    for (i = 0; i < old->docs.n; i++) {
        doc = old->docs.items[i];

        if (!all) {
            id = gw_file_identity(&sc->tmp, doc->json);
            for (j = 0; j < ids.n; j++) {
                if (strcmp(id, ids.items[j]) == 0) {
                    break;
                }
            }

            if (j < ids.n) {
                continue;
            }
        }

        gw_file_move_doc(sc, e, doc);
        n++;
    }

    if (n > 0) {
        snprintf(kept, sizeof(kept), "%zu", n);
        gw_log(GW_LOG_WARN, "keeping last good documents", "file", e->path,
               "documents", kept, NULL);
    }
}


static void
gw_file_load(gw_file_scan_t *sc, gw_ptrs_t *old, const char *path)
{
    int               rc;
    gw_buf_t          b;
    gw_file_entry_t  *e, *last;

    gw_buf_init(&b);

    e = gw_arena_alloc(sc->arena, sizeof(gw_file_entry_t));
    e->path = path;
    last = gw_file_entry_find(old, path);

    if (gw_file_read(path, &b) != GW_OK) {
        if (errno == ENOENT) {
            /* deleted since the directory was listed */
            goto out;
        }

        gw_file_log_unreadable(path, errno);
        sc->nerrors++;

        if (last != NULL) {
            gw_file_keep_last_good(sc, e, last, 1);
        }

        gw_ptrs_push(sc->arena, &sc->files, e);
        goto out;
    }

    sc->entry = e;
    rc = gw_yaml_parse(path, b.data ? b.data : "", b.len, gw_file_on_doc,
                       gw_file_on_err, sc);
    sc->entry = NULL;

    sc->nerrors += (rc == GW_ERR) ? 1 : (size_t) rc;

    if (rc != 0 && last != NULL) {
        gw_file_keep_last_good(sc, e, last, rc == GW_ERR);
    }

    gw_ptrs_push(sc->arena, &sc->files, e);

out:

    gw_buf_free(&b);
}


int
gw_file_under(const char *path, const char *dir)
{
    size_t  n;

    n = strlen(dir);

    return strncmp(path, dir, n) == 0 && (path[n] == '\0' || path[n] == '/');
}


/* Files under an unreadable directory keep their last documents. */
static void
gw_file_keep_unlisted(gw_file_scan_t *sc, gw_ptrs_t *old)
{
    size_t            i, j, n;
    gw_ptrs_t         listed;
    gw_file_entry_t  *o, *e;

    n = sc->files.n;
    memset(&listed, 0, sizeof(listed));

    for (i = 0; i < old->n; i++) {
        o = old->items[i];

        for (j = 0; j < sc->bad_dirs.n; j++) {
            if (gw_file_under(o->path, sc->bad_dirs.items[j])) {
                break;
            }
        }

        if (j == sc->bad_dirs.n) {
            continue;
        }

        /* listed after all (the first n entries are sorted)? */

        listed.items = sc->files.items;
        listed.n = n;

        if (gw_file_entry_find(&listed, o->path) != NULL) {
            continue;
        }

        e = gw_arena_alloc(sc->arena, sizeof(gw_file_entry_t));
        e->path = gw_arena_strdup(sc->arena, o->path);
        gw_file_keep_last_good(sc, e, o, 1);
        gw_ptrs_push(sc->arena, &sc->files, e);
    }

    if (sc->files.n > n) {
        qsort(sc->files.items, sc->files.n, sizeof(void *),
              gw_file_cmp_entries);
    }
}


/* Deletes the JSON documents that no newer scan took over. */
static void
gw_file_release(gw_ptrs_t *files)
{
    size_t            i, j;
    gw_doc_t         *doc;
    gw_file_entry_t  *e;

    for (i = 0; i < files->n; i++) {
        e = files->items[i];

        for (j = 0; j < e->docs.n; j++) {
            doc = e->docs.items[j];
            cJSON_Delete(doc->json);
            doc->json = NULL;
        }
    }
}


gw_file_source_t *
gw_file_source_new(const char *path, gw_err_t *err)
{
    size_t             len;
    struct stat        st;
    gw_file_source_t  *s;

    if (stat(path, &st) == -1) {
        gw_err_set(err, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }

    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        gw_err_set(err, "%s is neither a file nor a directory", path);
        return NULL;
    }

    s = gw_xcalloc(1, sizeof(gw_file_source_t));
    s->path = gw_xstrdup(path);
    s->fd = -1;
    gw_arena_init(&s->arena);

    /* "dir/" and "dir" name the same files */

    len = strlen(s->path);
    while (len > 1 && s->path[len - 1] == '/') {
        s->path[--len] = '\0';
    }

    return s;
}


int
gw_file_source_scan(gw_file_source_t *s, const gw_doc_t **docs, size_t *n,
    size_t *nerrors, gw_err_t *err)
{
    int               rc;
    size_t            i, j, total;
    gw_doc_t         *flat;
    gw_arena_t        arena;
    struct stat       st;
    gw_file_scan_t    sc;
    gw_file_entry_t  *e;

    gw_arena_init(&arena);
    memset(&sc, 0, sizeof(sc));
    sc.arena = &arena;
    gw_arena_init(&sc.tmp);

    rc = GW_ERR;

    if (stat(s->path, &st) == -1) {
        gw_err_set(err, "cannot read %s: %s", s->path, strerror(errno));
        goto out;
    }

    if (S_ISDIR(st.st_mode)) {
        if (gw_file_walk(&sc, s->path, 1, err) != GW_OK) {
            goto out;
        }

    } else {
        /* named explicitly: read whatever its name */
        gw_ptrs_push(&arena, &sc.paths, gw_arena_strdup(&arena, s->path));
    }

    gw_ptrs_sort(&sc.paths, gw_file_cmp_paths);

    for (i = 0; i < sc.paths.n; i++) {
        gw_file_load(&sc, &s->files, sc.paths.items[i]);
    }

    if (sc.bad_dirs.n > 0) {
        gw_file_keep_unlisted(&sc, &s->files);
    }

    total = 0;
    for (i = 0; i < sc.files.n; i++) {
        e = sc.files.items[i];
        total += e->docs.n;
    }

    flat = gw_arena_alloc(&arena, total * sizeof(gw_doc_t));
    total = 0;

    for (i = 0; i < sc.files.n; i++) {
        e = sc.files.items[i];
        for (j = 0; j < e->docs.n; j++) {
            flat[total++] = *(gw_doc_t *) e->docs.items[j];
        }
    }

    /* retire the last scan: what it still owns was not carried over */

    gw_file_release(&s->files);
    gw_arena_release(&s->arena);

    s->arena = arena;
    s->files = sc.files;
    s->docs = flat;
    s->ndocs = total;

    *docs = s->docs;
    *n = s->ndocs;
    *nerrors = sc.nerrors;

    rc = GW_OK;

out:

    gw_arena_release(&sc.tmp);

    if (rc != GW_OK) {
        gw_arena_release(&arena);
    }

    return rc;
}


void
gw_file_source_free(gw_file_source_t *s)
{
    if (s == NULL) {
        return;
    }

    gw_file_release(&s->files);
    gw_arena_release(&s->arena);

    if (s->fd != -1) {
        close(s->fd);
    }

    while (s->nwatches > 0) {
        gw_file_watch_forget(s, &s->watches[0]);
    }

    free(s->watches);
    free(s->base);
    free(s->path);
    free(s);
}
