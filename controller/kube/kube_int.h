/*
 * ngx-gateway: private helpers of the Kubernetes client, shared by its
 * files and the unit tests.
 */

#ifndef GW_KUBE_INT_H
#define GW_KUBE_INT_H

#include "core/gw_buf.h"
#include "kube/kube.h"


/* Reads a whole file (up to 16 MB) into out. */
int gw_kube_read_file(const char *path, gw_buf_t *out, gw_err_t *err);

/* Standard or URL-safe base64, white space skipped, padding optional. */
int gw_kube_base64_decode(const char *in, gw_buf_t *out);


/*
 * Splits a byte stream into lines as chunks arrive.  A line may span any
 * number of chunks; '\n' ends a line, a '\r' before it is dropped, empty
 * lines are skipped.  The callback returns GW_OK to go on, GW_ERR to stop
 * (the rest of the chunk is then dropped).
 */
typedef int (*gw_kube_lines_pt)(void *data, const char *line, size_t len);

typedef struct {
    gw_buf_t     partial;       /* the unfinished line */
    size_t       max;           /* longest line accepted */
} gw_kube_lines_t;

void gw_kube_lines_init(gw_kube_lines_t *lb, size_t max);
void gw_kube_lines_release(gw_kube_lines_t *lb);

/* GW_ERR when a callback stopped or a line is longer than max. */
int gw_kube_lines_feed(gw_kube_lines_t *lb, const char *p, size_t n,
    gw_kube_lines_pt line, void *data);

/* The last line when the stream ended without '\n'. */
int gw_kube_lines_finish(gw_kube_lines_t *lb, gw_kube_lines_pt line,
    void *data);

#endif /* GW_KUBE_INT_H */
