/*
 * ngx-gateway: the certificate files nginx loads for HTTPS listeners,
 * below STATE_DIR/secrets/ (mode 0700; each file 0600).  Files are named
 * by their content, so writing the files of a candidate configuration
 * never touches those of the live one: they are written before the
 * candidate is tested, and the files no configuration needs are removed
 * once the candidate is live, or once it failed.  Key material is never
 * logged; messages name files only.
 */

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "render/render.h"
#include "runtime/files.h"
#include "runtime/secrets.h"


int
gw_secrets_write(const char *state_dir, const gw_ptrs_t *certs,
    gw_err_t *err)
{
    size_t               i;
    char                 dir[4096], path[4096 + 256];
    struct stat          st;
    const gw_dp_cert_t  *c;

    snprintf(dir, sizeof(dir), "%s/" GW_DIR_SECRETS, state_dir);

    if (gw_mkdir_p(dir, 0700, err) != GW_OK) {
        return GW_ERR;
    }

    if (chmod(dir, 0700) != 0) {
        gw_err_set(err, "chmod %s: %s", dir, strerror(errno));
        return GW_ERR;
    }

    for (i = 0; i < certs->n; i++) {
        c = certs->items[i];
        snprintf(path, sizeof(path), "%s/%s", dir, c->file);

        /* the name is the content: a file that is there is this one */
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)
            && (size_t) st.st_size == c->len)
        {
            continue;
        }

        if (gw_file_write_atomic(path, c->pem, c->len, 0600, err) != GW_OK) {
            return GW_ERR;
        }

        gw_log(GW_LOG_DEBUG, "certificate file written", "secret", c->secret,
               "file", c->file, NULL);
    }

    return GW_OK;
}


void
gw_secrets_names(const gw_ptrs_t *certs, gw_buf_t *out)
{
    size_t               i;
    const gw_dp_cert_t  *c;

    gw_buf_append(out, "\n", 1);

    for (i = 0; certs != NULL && i < certs->n; i++) {
        c = certs->items[i];
        gw_buf_append(out, c->file, strlen(c->file));
        gw_buf_append(out, "\n", 1);
    }
}


void
gw_secrets_prune(const char *state_dir, const char *keep)
{
    DIR            *d;
    char            dir[4096], path[4096 + 256], line[512];
    struct dirent  *e;

    snprintf(dir, sizeof(dir), "%s/" GW_DIR_SECRETS, state_dir);

    d = opendir(dir);
    if (d == NULL) {
        return;
    }

    for (e = readdir(d); e != NULL; e = readdir(d)) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
            continue;
        }

        snprintf(line, sizeof(line), "\n%s\n", e->d_name);
        if (keep != NULL && strstr(keep, line) != NULL) {
            continue;
        }

        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (unlink(path) != 0) {
            gw_log(GW_LOG_WARN, "removing an unused certificate file failed",
                   "file", path, "error", strerror(errno), NULL);
        }
    }

    closedir(d);
}
