/*
 * ngx-gateway: the certificate files of HTTPS listeners below
 * STATE_DIR/secrets/ (runtime internal; see secrets.c).
 */

#ifndef GW_SECRETS_H
#define GW_SECRETS_H

#include "core/gw_buf.h"
#include "dataplane/dataplane.h"

/*
 * Writes every file of certs (gw_dp_cert_t *) that is not there yet,
 * atomically, mode 0600, in a directory of mode 0700.
 */
int gw_secrets_write(const char *state_dir, const gw_ptrs_t *certs,
    gw_err_t *err);

/* The file names of certs as "\nA\nB\n" ("\n" for none), for prune. */
void gw_secrets_names(const gw_ptrs_t *certs, gw_buf_t *out);

/* Removes every file of the directory whose name is not in keep. */
void gw_secrets_prune(const char *state_dir, const char *keep);

#endif /* GW_SECRETS_H */
