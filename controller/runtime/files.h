/*
 * ngx-gateway: files: atomic writes (temp file, fsync, rename), reads,
 * directories.
 */

#ifndef GW_FILES_H
#define GW_FILES_H

#include "core/gw_core.h"

int gw_file_write_atomic(const char *path, const char *data, size_t len,
    int mode, gw_err_t *err);

/* Reads a whole file; the caller frees *data.  GW_ERR if unreadable. */
int gw_file_read(const char *path, char **data, size_t *len, gw_err_t *err);

/* mkdir -p */
int gw_mkdir_p(const char *path, int mode, gw_err_t *err);

#endif /* GW_FILES_H */
