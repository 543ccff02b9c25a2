/*
 * ngx-gateway: file helpers.
 */

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/gw_buf.h"
#include "runtime/files.h"


int
gw_file_write_atomic(const char *path, const char *data, size_t len,
    int mode, gw_err_t *err)
{
    int       fd, rc;
    char      tmp[4096];
    size_t    off;
    ssize_t   n;

    rc = GW_ERR;
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long) getpid());

    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd == -1) {
        gw_err_set(err, "open %s: %s", tmp, strerror(errno));
        return GW_ERR;
    }

    for (off = 0; off < len; off += (size_t) n) {
        n = write(fd, data + off, len - off);
        if (n < 0) {
            if (errno == EINTR) {
                n = 0;
                continue;
            }
            gw_err_set(err, "write %s: %s", tmp, strerror(errno));
            goto out;
        }
    }

    if (fsync(fd) != 0) {
        gw_err_set(err, "fsync %s: %s", tmp, strerror(errno));
        goto out;
    }

    if (close(fd) != 0) {
        fd = -1;
        gw_err_set(err, "close %s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;

    if (rename(tmp, path) != 0) {
        gw_err_set(err, "rename %s: %s", path, strerror(errno));
        goto out;
    }

    rc = GW_OK;

out:

    if (fd != -1) {
        close(fd);
    }

    if (rc != GW_OK) {
        unlink(tmp);
    }

    return rc;
}


int
gw_file_read(const char *path, char **data, size_t *len, gw_err_t *err)
{
    int       fd;
    char      chunk[65536];
    ssize_t   n;
    gw_buf_t  b;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        gw_err_set(err, "open %s: %s", path, strerror(errno));
        return GW_ERR;
    }

    gw_buf_init(&b);

    for ( ;; ) {
        n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            gw_err_set(err, "read %s: %s", path, strerror(errno));
            close(fd);
            gw_buf_free(&b);
            return GW_ERR;
        }
        if (n == 0) {
            break;
        }
        gw_buf_append(&b, chunk, (size_t) n);
    }

    close(fd);

    *len = b.len;
    *data = gw_buf_detach(&b);

    return GW_OK;
}


static int
gw_mkdir_one(const char *path, int mode, gw_err_t *err)
{
    if (mkdir(path, mode) != 0 && errno != EEXIST) {
        gw_err_set(err, "mkdir %s: %s", path, strerror(errno));
        return GW_ERR;
    }

    return GW_OK;
}


int
gw_mkdir_p(const char *path, int mode, gw_err_t *err)
{
    char   buf[4096];
    char  *p;

    if (strlen(path) >= sizeof(buf)) {
        gw_err_set(err, "path too long: %s", path);
        return GW_ERR;
    }

    strcpy(buf, path);

    for (p = buf + 1; *p != '\0'; p++) {
        if (*p != '/') {
            continue;
        }
        *p = '\0';
        if (gw_mkdir_one(buf, mode, err) != GW_OK) {
            return GW_ERR;
        }
        *p = '/';
    }

    return gw_mkdir_one(buf, mode, err);
}
