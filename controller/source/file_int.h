/*
 * ngx-gateway: the standalone source, internal interface shared by file.c
 * (scanning) and file_watch.c (the inotify watcher).
 */

#ifndef GW_SOURCE_FILE_INT_H
#define GW_SOURCE_FILE_INT_H

#include "core/gw_arena.h"
#include "source/file.h"


typedef struct {
    int                wd;
    char              *path;
} gw_file_watch_t;


struct gw_file_source_s {
    char              *path;

    /* the last scan */
    gw_arena_t         arena;
    gw_ptrs_t          files;       /* gw_file_entry_t *, sorted by path */
    gw_doc_t          *docs;
    size_t             ndocs;

    /* inotify */
    int                fd;
    int                single;      /* path is a file: watch its directory */
    char              *base;        /* then: its name */
    gw_file_watch_t   *watches;
    size_t             nwatches;
    size_t             watches_cap;
};


/* file.c: which names a scan reads */

int gw_file_ignored(const char *name);
int gw_file_is_manifest(const char *name);

/* whether path is dir or below it */
int gw_file_under(const char *path, const char *dir);


/* file_watch.c */

void gw_file_watch_forget(gw_file_source_t *s, gw_file_watch_t *w);


#endif /* GW_SOURCE_FILE_INT_H */
