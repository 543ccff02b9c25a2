/*
 * The standalone source: Kubernetes manifests from a file or a directory
 * tree of *.yaml / *.yml files, watched with inotify.
 *
 * Each scan reads everything again and returns the documents as the JSON
 * the Kubernetes API would return (see yaml.h).  Nothing is lost while a
 * user edits: when a file has a malformed document, the documents it had
 * in the previous scan stay, unless a good document of the new version
 * has the same identity (API group, kind, namespace, name).  A file that
 * cannot be read keeps all its previous documents; a file that is gone
 * contributes nothing.
 */

#ifndef GW_SOURCE_FILE_H
#define GW_SOURCE_FILE_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"


typedef struct {
    cJSON       *json;
    const char  *file;     /* the path it came from */
    int          line;     /* 1-based line where the document starts */
} gw_doc_t;

typedef struct gw_file_source_s  gw_file_source_t;


/* path: a manifest file or a directory; NULL (err set) if it is neither */
gw_file_source_t *gw_file_source_new(const char *path, gw_err_t *err);

/*
 * Reads every manifest: files in sorted path order, documents in file
 * order (documents kept from the previous scan follow the new ones of
 * their file).  *docs stays valid, owned by the source, until the next
 * scan or free.  *nerrors counts malformed documents and unreadable files
 * or directories; each is logged once per scan.  Hidden entries (".*")
 * and editor files (*~, *.swp, *.swx) are skipped; symbolic links are
 * followed.
 *
 * Returns GW_ERR only if the path itself cannot be read; the outputs are
 * then untouched and the previous documents remain valid.
 */
int gw_file_source_scan(gw_file_source_t *s, const gw_doc_t **docs,
    size_t *n, size_t *nerrors, gw_err_t *err);

/*
 * Starts watching: every directory of the tree (new ones are added as
 * they appear), or for a single file its directory.  Calling it again is
 * a no-op.
 */
int gw_file_source_watch(gw_file_source_t *s, gw_err_t *err);

/* The inotify descriptor to poll() for input, -1 before watch. */
int gw_file_source_fd(gw_file_source_t *s);

/*
 * Drains pending events without blocking.  Returns 1 if a manifest or a
 * directory was created, modified, deleted or moved in or out (or events
 * were lost), so a scan is due; else 0.
 */
int gw_file_source_changed(gw_file_source_t *s);

void gw_file_source_free(gw_file_source_t *s);

#endif /* GW_SOURCE_FILE_H */
