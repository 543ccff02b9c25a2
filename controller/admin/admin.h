/*
 * ngx-gateway: the admin endpoint: a tiny HTTP/1.1 server for health
 * checks and metrics, driven by the controller's one loop and never
 * blocking it.
 *
 * The loop asks for the descriptors to wait on (gw_admin_pollfds() for
 * poll(), gw_admin_waitfds() for curl_multi_poll()), and for how long at
 * most (gw_admin_timeout_ms()); after every wake-up it calls
 * gw_admin_process(), which accepts, reads and writes whatever is ready
 * without waiting, and drops the clients past their deadline.
 *
 * One request per connection (Connection: close); GET and HEAD only
 * (405 otherwise); a request head larger than 8 KiB gets 431, a malformed
 * one 400; a client still connected after the timeout (5 s) is dropped.
 * At most GW_ADMIN_MAX_CONNS clients at a time: when every slot is taken,
 * a new client takes the slot of the one that has waited longest without
 * sending a whole request (so idle connections cannot keep the health
 * checks out); when all are being answered, new ones wait in the kernel's
 * accept queue.
 */

#ifndef GW_ADMIN_H
#define GW_ADMIN_H

#include <poll.h>
#include <curl/curl.h>

#include "core/gw_buf.h"
#include "core/gw_core.h"

#define GW_ADMIN_MAX_CONNS     64
#define GW_ADMIN_MAX_FDS       (1 + GW_ADMIN_MAX_CONNS)
#define GW_ADMIN_REQUEST_MAX   8192
#define GW_ADMIN_TIMEOUT_MS    5000

#define GW_ADMIN_TEXT          "text/plain; charset=utf-8"


typedef struct gw_admin_s  gw_admin_t;

/* What the handler answers; the body is empty, the type GW_ADMIN_TEXT. */
typedef struct {
    int          status;            /* 0 leaves it to the server: 404 */
    const char  *content_type;      /* a static string */
    gw_buf_t     body;
} gw_admin_reply_t;

/*
 * Called for each GET or HEAD with the path of the request target (the
 * query string removed); for HEAD the body is computed and not sent.
 */
typedef void (*gw_admin_handler_pt)(void *data, const char *path,
    gw_admin_reply_t *reply);


/*
 * Listens on address: "host:port", "[ipv6]:port" or ":port" (every IPv4
 * address).  Port 0 picks a free port (see gw_admin_port()).
 */
gw_admin_t *gw_admin_open(const char *address, gw_admin_handler_pt handler,
    void *data, gw_err_t *err);
void gw_admin_free(gw_admin_t *a);

/* Per-client timeout and the number of clients served at once (at most
 * GW_ADMIN_MAX_CONNS); 0 keeps the current value. */
void gw_admin_set_limits(gw_admin_t *a, long timeout_ms, size_t max_conns);

int gw_admin_port(const gw_admin_t *a);
size_t gw_admin_nconns(const gw_admin_t *a);

/*
 * Fills at most max entries (GW_ADMIN_MAX_FDS is always enough) with the
 * descriptors to wait on and the events wanted; returns how many.
 */
size_t gw_admin_pollfds(gw_admin_t *a, struct pollfd *fds, size_t max);
size_t gw_admin_waitfds(gw_admin_t *a, struct curl_waitfd *fds, size_t max);

/* Milliseconds until the next client deadline, -1 when there is none. */
int gw_admin_timeout_ms(const gw_admin_t *a);

void gw_admin_process(gw_admin_t *a);

#endif /* GW_ADMIN_H */
