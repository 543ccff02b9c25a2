/*
 * ngx-gateway: the Kubernetes API client: where the API server is and how
 * to authenticate (kubeconfig or in-cluster), and asynchronous requests
 * over one curl_multi handle, so that watches, status writes, Lease
 * renewals and Events never block the controller's loop.
 *
 * Everything here runs on the controller's one thread.  Callbacks are
 * called from gw_kube_perform() only.
 */

#ifndef GW_KUBE_H
#define GW_KUBE_H

#include <stddef.h>
#include <curl/curl.h>

#include "core/gw_core.h"


/* Where the API server is and how to talk to it. */
typedef struct {
    char   *server;           /* "https://10.0.0.1:443", no trailing '/' */
    char   *token;            /* bearer token, or NULL */
    char   *token_file;       /* re-read when it changes; or NULL */
    char   *ca_file;          /* PEM file, or NULL */
    char   *ca_data;          /* PEM (decoded certificate-authority-data) */
    char   *cert_data;        /* client certificate PEM, or NULL */
    char   *key_data;         /* client key PEM, or NULL */
    char   *cert_file;
    char   *key_file;
    int     insecure;         /* insecure-skip-tls-verify */
    char   *namespace;        /* in-cluster: the pod's namespace; else NULL */
} gw_kube_config_t;

/*
 * Loads the configuration: path when given (--kubeconfig), else
 * $KUBECONFIG, else in-cluster (service account token and CA,
 * KUBERNETES_SERVICE_HOST/PORT).  A kubeconfig uses its current-context.
 * An exec or auth-provider user is refused with a clear message.
 */
int gw_kube_config_load(gw_kube_config_t *cfg, const char *path,
    gw_err_t *err);
void gw_kube_config_release(gw_kube_config_t *cfg);


typedef struct gw_kube_s  gw_kube_t;

gw_kube_t *gw_kube_new(const gw_kube_config_t *cfg, gw_err_t *err);
void gw_kube_free(gw_kube_t *k);


/*
 * The answer to a request.  status is the HTTP status, 0 when no answer
 * came (error then says why: connection refused, timeout, TLS).  body is
 * NUL-terminated, owned by the client, valid during the callback only.
 */
typedef struct {
    long         status;
    const char  *body;
    size_t       len;
    const char  *error;
    long         retry_after;   /* seconds of a Retry-After header, or 0 */
} gw_kube_response_t;

typedef void (*gw_kube_done_pt)(void *data, const gw_kube_response_t *r);

/*
 * Starts a request; done is called once, from gw_kube_perform().
 * path is absolute ("/api/v1/namespaces"), query included.  body and
 * content_type may be NULL.  timeout_ms 0 means the default (10 s).
 */
int gw_kube_request(gw_kube_t *k, const char *method, const char *path,
    const char *content_type, const char *body, size_t len, long timeout_ms,
    gw_kube_done_pt done, void *data, gw_err_t *err);


/*
 * A streaming request (WATCH): line is called for every complete line of
 * the body as it arrives (without the '\n'), then done once when the
 * stream ends for any reason.  Returns an id for gw_kube_cancel().
 * Lines are those of a 2xx answer; any other answer's body (a Status) is
 * given whole to done.
 */
typedef void (*gw_kube_line_pt)(void *data, const char *line, size_t len);

int gw_kube_stream(gw_kube_t *k, const char *path, long timeout_ms,
    gw_kube_line_pt line, gw_kube_done_pt done, void *data,
    unsigned long *id, gw_err_t *err);

/* Ends a stream or request without calling its done callback. */
void gw_kube_cancel(gw_kube_t *k, unsigned long id);


/*
 * The loop: wait until a transfer or one of the caller's descriptors
 * (extra, which curl_multi_poll() fills in with revents) has something,
 * or timeout_ms passes; then gw_kube_perform() moves the transfers on and
 * calls the callbacks of those that finished.
 */
int gw_kube_wait(gw_kube_t *k, struct curl_waitfd *extra, unsigned n,
    int timeout_ms);
void gw_kube_perform(gw_kube_t *k);

/* Milliseconds since an arbitrary start (CLOCK_MONOTONIC). */
long long gw_kube_now_ms(void);

#endif /* GW_KUBE_H */
