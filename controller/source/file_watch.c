/*
 * ngx-gateway: the standalone source's inotify watcher (see file.h):
 * every directory of the tree is watched, new ones as they appear; for a
 * single file, its directory.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "core/gw_log.h"
#include "source/file_int.h"


#define GW_FILE_WATCH_MASK  (IN_CREATE | IN_DELETE | IN_MODIFY               \
                             | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO  \
                             | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF     \
                             | IN_ONLYDIR)

#define GW_FILE_DIR_EVENTS  (IN_CREATE | IN_DELETE | IN_MOVED_FROM           \
                             | IN_MOVED_TO | IN_ATTRIB)

/*
 * A ConfigMap mounted as a volume is updated by swapping this symlink;
 * the file names (symlinks through it) do not change.
 */
#define GW_FILE_CONFIGMAP_DATA  "..data"


static gw_file_watch_t *
gw_file_watch_find(gw_file_source_t *s, int wd)
{
    size_t  i;

    for (i = 0; i < s->nwatches; i++) {
        if (s->watches[i].wd == wd) {
            return &s->watches[i];
        }
    }

    return NULL;
}


void
gw_file_watch_forget(gw_file_source_t *s, gw_file_watch_t *w)
{
    free(w->path);
    *w = s->watches[--s->nwatches];
}


/*
 * Watches dir and, unless only is set, every directory below it.
 * Returns GW_ERR (errno set) only if dir itself cannot be watched.
 */
static int
gw_file_watch_add(gw_file_source_t *s, const char *dir, int only)
{
    int               wd;
    DIR              *d;
    char             *path;
    struct stat       st;
    struct dirent    *de;
    gw_file_watch_t  *w;

    wd = inotify_add_watch(s->fd, dir, GW_FILE_WATCH_MASK);
    if (wd == -1) {
        return GW_ERR;
    }

    /* a directory seen before (symbolic links): already done */

    if (gw_file_watch_find(s, wd) != NULL) {
        return GW_OK;
    }

    if (s->nwatches == s->watches_cap) {
        s->watches_cap = s->watches_cap ? s->watches_cap * 2 : 16;
        s->watches = gw_xrealloc(s->watches,
                                 s->watches_cap * sizeof(gw_file_watch_t));
    }

    w = &s->watches[s->nwatches++];
    w->wd = wd;
    w->path = gw_xstrdup(dir);

    if (only) {
        return GW_OK;
    }

    d = opendir(dir);
    if (d == NULL) {
        return GW_OK;
    }

    for ( ;; ) {
        de = readdir(d);
        if (de == NULL) {
            break;
        }

        if (gw_file_ignored(de->d_name)) {
            continue;
        }

        if (asprintf(&path, "%s/%s", dir, de->d_name) == -1) {
            break;
        }

        if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)
            && gw_file_watch_add(s, path, 0) != GW_OK)
        {
            gw_log(GW_LOG_WARN, "cannot watch directory", "path", path,
                   "error", strerror(errno), NULL);
        }

        free(path);
    }

    closedir(d);

    return GW_OK;
}


int
gw_file_source_watch(gw_file_source_t *s, gw_err_t *err)
{
    char         *slash, *dir;
    struct stat   st;

    if (s->fd != -1) {
        return GW_OK;
    }

    if (stat(s->path, &st) == -1) {
        gw_err_set(err, "cannot watch %s: %s", s->path, strerror(errno));
        return GW_ERR;
    }

    s->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (s->fd == -1) {
        gw_err_set(err, "inotify_init1() failed: %s", strerror(errno));
        return GW_ERR;
    }

    s->single = !S_ISDIR(st.st_mode);

    if (!s->single) {
        if (gw_file_watch_add(s, s->path, 0) != GW_OK) {
            gw_err_set(err, "cannot watch %s: %s", s->path, strerror(errno));
            goto failed;
        }

        return GW_OK;
    }

    /* a single file: watch its directory, pick its events */

    slash = strrchr(s->path, '/');
    if (slash == NULL) {
        dir = gw_xstrdup(".");
        s->base = gw_xstrdup(s->path);

    } else {
        dir = gw_xstrdup(s->path);
        dir[(slash == s->path) ? 1 : slash - s->path] = '\0';
        s->base = gw_xstrdup(slash + 1);
    }

    if (gw_file_watch_add(s, dir, 1) != GW_OK) {
        gw_err_set(err, "cannot watch %s: %s", dir, strerror(errno));
        free(dir);
        goto failed;
    }

    free(dir);

    return GW_OK;

failed:

    close(s->fd);
    s->fd = -1;

    while (s->nwatches > 0) {
        gw_file_watch_forget(s, &s->watches[0]);
    }

    free(s->base);
    s->base = NULL;

    return GW_ERR;
}


int
gw_file_source_fd(gw_file_source_t *s)
{
    return s->fd;
}


/* A directory moved away: its watches would report under a stale path. */
static void
gw_file_watch_drop(gw_file_source_t *s, const char *dir)
{
    size_t  i;

    for (i = 0; i < s->nwatches; /* void */) {
        if (gw_file_under(s->watches[i].path, dir)) {
            inotify_rm_watch(s->fd, s->watches[i].wd);
            gw_file_watch_forget(s, &s->watches[i]);
            continue;
        }

        i++;
    }
}


/* Whether one event matters; keeps the set of watches up to date. */
static int
gw_file_event(gw_file_source_t *s, struct inotify_event *ev)
{
    int               dir, relevant;
    char             *path;
    struct stat       st;
    gw_file_watch_t  *w;

    if (ev->mask & IN_Q_OVERFLOW) {
        return 1;
    }

    w = gw_file_watch_find(s, ev->wd);
    if (w == NULL) {
        return 0;
    }

    if (ev->mask & IN_IGNORED) {
        gw_file_watch_forget(s, w);
        return 0;
    }

    if (ev->len == 0 || ev->name[0] == '\0') {
        /* the watched directory itself */
        return (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)) != 0;
    }

    if (strcmp(ev->name, GW_FILE_CONFIGMAP_DATA) == 0) {
        return 1;
    }

    if (s->single) {
        return strcmp(ev->name, s->base) == 0;
    }

    if (gw_file_ignored(ev->name)) {
        return 0;
    }

    if (gw_file_is_manifest(ev->name) && !(ev->mask & IN_ISDIR)) {
        return 1;
    }

    if (!(ev->mask & GW_FILE_DIR_EVENTS)) {
        return 0;
    }

    /* a directory, or a symbolic link to one, came or went */

    if (asprintf(&path, "%s/%s", w->path, ev->name) == -1) {
        return 1;
    }

    dir = (ev->mask & IN_ISDIR) != 0;
    relevant = dir;

    if (ev->mask & (IN_CREATE | IN_MOVED_TO)) {
        if (!dir && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            relevant = 1;
            dir = 1;
        }

        if (dir && gw_file_watch_add(s, path, 0) != GW_OK) {
            gw_log(GW_LOG_WARN, "cannot watch directory", "path", path,
                   "error", strerror(errno), NULL);
        }

    } else if (dir && (ev->mask & IN_MOVED_FROM)) {
        gw_file_watch_drop(s, path);
    }

    free(path);

    return relevant;
}


int
gw_file_source_changed(gw_file_source_t *s)
{
    int                    changed;
    char                  *p;
    ssize_t                n;
    struct inotify_event  *ev;
    char                   buf[16384]
                           __attribute__((aligned(__alignof__(
                               struct inotify_event))));

    if (s->fd == -1) {
        return 0;
    }

    changed = 0;

    for ( ;; ) {
        n = read(s->fd, buf, sizeof(buf));

        if (n == -1 && errno == EINTR) {
            continue;
        }

        if (n <= 0) {
            break;
        }

        for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
            ev = (struct inotify_event *) p;

            if (gw_file_event(s, ev)) {
                changed = 1;
            }
        }
    }

    return changed;
}
