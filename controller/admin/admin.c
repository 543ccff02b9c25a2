/*
 * ngx-gateway: the admin endpoint, a non-blocking HTTP/1.1 server.
 *
 * Each client goes through three states: reading the request head,
 * writing the response, then a lingering close: our side is shut down
 * and whatever the client still sends is read and dropped until it
 * closes, so that unread input (an oversized request) does not make the
 * kernel reset the connection before the client has read our answer.
 */

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "admin/admin.h"
#include "core/gw_log.h"

#define GW_ADMIN_LINGER_MS        1000
#define GW_ADMIN_ACCEPT_PAUSE_MS  1000


typedef enum {
    GW_ADMIN_FREE = 0,
    GW_ADMIN_READ,
    GW_ADMIN_WRITE,
    GW_ADMIN_LINGER
} gw_admin_state_e;


typedef struct {
    int                fd;
    gw_admin_state_e   state;
    long long          deadline;
    size_t             nin;
    char               in[GW_ADMIN_REQUEST_MAX];
    gw_buf_t           out;
    size_t             sent;
} gw_admin_conn_t;


struct gw_admin_s {
    int                   fd;
    int                   port;
    gw_admin_handler_pt   handler;
    void                 *data;
    long                  timeout_ms;
    size_t                max_conns;
    size_t                nconns;
    long long             accept_after;     /* paused when out of fds */
    gw_admin_conn_t       conns[GW_ADMIN_MAX_CONNS];
};


/* "host:port", "[ipv6]:port", ":port" into host and port */
static int
gw_admin_parse_address(const char *address, char *host, size_t host_len,
    char *port, size_t port_len, gw_err_t *err)
{
    size_t       n;
    const char  *start, *end, *colon, *p;

    if (address[0] == '[') {
        end = strchr(address, ']');
        if (end == NULL || end == address + 1 || end[1] != ':') {
            goto invalid;
        }
        start = address + 1;
        colon = end + 1;

    } else {
        colon = strrchr(address, ':');
        if (colon == NULL
            || memchr(address, ':', (size_t) (colon - address)) != NULL)
        {
            goto invalid;
        }
        start = address;
        end = colon;
    }

    n = (size_t) (end - start);
    if (n >= host_len) {
        goto invalid;
    }

    memcpy(host, start, n);
    host[n] = '\0';

    if (n == 0) {
        snprintf(host, host_len, "0.0.0.0");
    }

    for (p = colon + 1; *p >= '0' && *p <= '9'; p++) {
        /* void */
    }

    n = (size_t) (p - colon - 1);
    if (*p != '\0' || n == 0 || n > 5 || atol(colon + 1) > 65535
        || n >= port_len)
    {
        goto invalid;
    }

    memcpy(port, colon + 1, n + 1);

    return GW_OK;

invalid:

    gw_err_set(err, "invalid admin address \"%s\": expected host:port, "
               "[ipv6]:port or :port", address);
    return GW_ERR;
}


static int
gw_admin_listen(gw_admin_t *a, const char *address, gw_err_t *err)
{
    int                       rc, on;
    char                      host[256], port[8];
    socklen_t                 len;
    struct addrinfo           hints, *res;
    struct sockaddr_storage   ss;

    if (gw_admin_parse_address(address, host, sizeof(host), port,
                               sizeof(port), err) != GW_OK)
    {
        return GW_ERR;
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;

    res = NULL;
    rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        gw_err_set(err, "admin address \"%s\": %s", address,
                   gai_strerror(rc));
        return GW_ERR;
    }

    rc = GW_ERR;

    a->fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                   0);
    if (a->fd < 0) {
        gw_err_set(err, "admin socket: %s", strerror(errno));
        goto out;
    }

    on = 1;
    setsockopt(a->fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));

    if (bind(a->fd, res->ai_addr, res->ai_addrlen) != 0) {
        gw_err_set(err, "admin address \"%s\": bind(): %s", address,
                   strerror(errno));
        goto out;
    }

    if (listen(a->fd, SOMAXCONN) != 0) {
        gw_err_set(err, "admin address \"%s\": listen(): %s", address,
                   strerror(errno));
        goto out;
    }

    len = sizeof(ss);
    if (getsockname(a->fd, (struct sockaddr *) &ss, &len) != 0) {
        gw_err_set(err, "admin getsockname(): %s", strerror(errno));
        goto out;
    }

    a->port = ntohs(ss.ss_family == AF_INET6
                    ? ((struct sockaddr_in6 *) &ss)->sin6_port
                    : ((struct sockaddr_in *) &ss)->sin_port);
    rc = GW_OK;

out:

    freeaddrinfo(res);
    return rc;
}


gw_admin_t *
gw_admin_open(const char *address, gw_admin_handler_pt handler, void *data,
    gw_err_t *err)
{
    size_t       i;
    gw_admin_t  *a;

    a = gw_xcalloc(1, sizeof(gw_admin_t));
    a->fd = -1;
    a->handler = handler;
    a->data = data;
    a->timeout_ms = GW_ADMIN_TIMEOUT_MS;
    a->max_conns = GW_ADMIN_MAX_CONNS;

    for (i = 0; i < GW_ADMIN_MAX_CONNS; i++) {
        a->conns[i].fd = -1;
        gw_buf_init(&a->conns[i].out);
    }

    if (gw_admin_listen(a, address, err) != GW_OK) {
        gw_admin_free(a);
        return NULL;
    }

    return a;
}


static void
gw_admin_drop(gw_admin_t *a, gw_admin_conn_t *c)
{
    close(c->fd);
    c->fd = -1;
    c->state = GW_ADMIN_FREE;
    gw_buf_free(&c->out);
    a->nconns--;
}


void
gw_admin_free(gw_admin_t *a)
{
    size_t  i;

    if (a == NULL) {
        return;
    }

    for (i = 0; i < GW_ADMIN_MAX_CONNS; i++) {
        if (a->conns[i].fd != -1) {
            gw_admin_drop(a, &a->conns[i]);
        }
    }

    if (a->fd != -1) {
        close(a->fd);
    }

    free(a);
}


void
gw_admin_set_limits(gw_admin_t *a, long timeout_ms, size_t max_conns)
{
    if (timeout_ms > 0) {
        a->timeout_ms = timeout_ms;
    }

    if (max_conns > 0) {
        a->max_conns = max_conns < GW_ADMIN_MAX_CONNS
                       ? max_conns : GW_ADMIN_MAX_CONNS;
    }
}


int
gw_admin_port(const gw_admin_t *a)
{
    return a->port;
}


size_t
gw_admin_nconns(const gw_admin_t *a)
{
    return a->nconns;
}


/*
 * The client that has waited longest without sending a whole request,
 * NULL when every client is being answered.
 */
static gw_admin_conn_t *
gw_admin_idlest(gw_admin_t *a)
{
    size_t            i;
    gw_admin_conn_t  *c, *idlest;

    idlest = NULL;

    for (i = 0; i < GW_ADMIN_MAX_CONNS; i++) {
        c = &a->conns[i];
        if (c->state == GW_ADMIN_READ
            && (idlest == NULL || c->deadline < idlest->deadline))
        {
            idlest = c;
        }
    }

    return idlest;
}


/* The descriptors to wait on, with POLLIN/POLLOUT: for both loops. */
static size_t
gw_admin_fds(gw_admin_t *a, int *fds, short *events, size_t max)
{
    size_t            i, n;
    gw_admin_conn_t  *c;

    n = 0;

    /* when full, a new client can still take an idle one's slot */
    if (n < max && (long long) gw_now_ms() >= a->accept_after
        && (a->nconns < a->max_conns || gw_admin_idlest(a) != NULL))
    {
        fds[n] = a->fd;
        events[n++] = POLLIN;
    }

    for (i = 0; i < GW_ADMIN_MAX_CONNS && n < max; i++) {
        c = &a->conns[i];
        if (c->state != GW_ADMIN_FREE) {
            fds[n] = c->fd;
            events[n++] = (c->state == GW_ADMIN_WRITE) ? POLLOUT : POLLIN;
        }
    }

    return n;
}


size_t
gw_admin_pollfds(gw_admin_t *a, struct pollfd *fds, size_t max)
{
    int     fd[GW_ADMIN_MAX_FDS];
    short   ev[GW_ADMIN_MAX_FDS];
    size_t  i, n;

    n = gw_admin_fds(a, fd, ev, max < GW_ADMIN_MAX_FDS
                                ? max : GW_ADMIN_MAX_FDS);

    for (i = 0; i < n; i++) {
        fds[i].fd = fd[i];
        fds[i].events = ev[i];
        fds[i].revents = 0;
    }

    return n;
}


size_t
gw_admin_waitfds(gw_admin_t *a, struct curl_waitfd *fds, size_t max)
{
    int     fd[GW_ADMIN_MAX_FDS];
    short   ev[GW_ADMIN_MAX_FDS];
    size_t  i, n;

    n = gw_admin_fds(a, fd, ev, max < GW_ADMIN_MAX_FDS
                                ? max : GW_ADMIN_MAX_FDS);

    for (i = 0; i < n; i++) {
        fds[i].fd = fd[i];
        fds[i].events = (ev[i] & POLLOUT) ? CURL_WAIT_POLLOUT
                                          : CURL_WAIT_POLLIN;
        fds[i].revents = 0;
    }

    return n;
}


int
gw_admin_timeout_ms(const gw_admin_t *a)
{
    size_t     i;
    long long  now, next;

    now = (long long) gw_now_ms();
    next = -1;

    if (a->accept_after > now) {
        next = a->accept_after;
    }

    for (i = 0; i < GW_ADMIN_MAX_CONNS; i++) {
        if (a->conns[i].state != GW_ADMIN_FREE
            && (next == -1 || a->conns[i].deadline < next))
        {
            next = a->conns[i].deadline;
        }
    }

    if (next == -1) {
        return -1;
    }

    return next > now ? (int) (next - now) : 0;
}


static const char *
gw_admin_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Unknown";
    }
}


/* The whole response into c->out; the body only when send_body. */
static void
gw_admin_respond(gw_admin_conn_t *c, gw_admin_reply_t *reply, int send_body)
{
    char        date[64];
    time_t      now;
    struct tm   tm;

    now = time(NULL);
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);

    gw_buf_reset(&c->out);
    gw_buf_printf(&c->out,
                  "HTTP/1.1 %d %s\r\n"
                  "Date: %s\r\n"
                  "Content-Type: %s\r\n"
                  "Content-Length: %zu\r\n"
                  "%s"
                  "Connection: close\r\n"
                  "\r\n",
                  reply->status, gw_admin_reason(reply->status), date,
                  reply->content_type ? reply->content_type : GW_ADMIN_TEXT,
                  reply->body.len,
                  reply->status == 405 ? "Allow: GET, HEAD\r\n" : "");

    if (send_body) {
        gw_buf_append(&c->out, reply->body.data ? reply->body.data : "",
                      reply->body.len);
    }

    c->sent = 0;
    c->state = GW_ADMIN_WRITE;
}


static void
gw_admin_respond_error(gw_admin_conn_t *c, int status, int send_body)
{
    gw_admin_reply_t  reply;

    reply.status = status;
    reply.content_type = GW_ADMIN_TEXT;
    gw_buf_init(&reply.body);
    gw_buf_printf(&reply.body, "%s\n", gw_admin_reason(status));

    gw_admin_respond(c, &reply, send_body);

    gw_buf_free(&reply.body);
}


static int
gw_admin_is_tchar(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')
           || (ch >= '0' && ch <= '9')
           || (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}


/*
 * The request line, "METHOD /path?query HTTP/1.x", is all we look at;
 * the headers are read (up to the limit) and ignored.
 */
static void
gw_admin_request(gw_admin_t *a, gw_admin_conn_t *c)
{
    int                head;
    char              *line, *method, *target, *version, *p;
    gw_admin_reply_t   reply;

    line = c->in;
    line[strcspn(line, "\r\n")] = '\0';

    method = line;
    for (p = method; gw_admin_is_tchar(*p); p++) {
        /* void */
    }

    if (p == method || *p != ' ') {
        gw_admin_respond_error(c, 400, 1);
        return;
    }

    *p++ = '\0';
    target = p;
    p = strchr(target, ' ');
    if (p == NULL || target[0] != '/') {
        gw_admin_respond_error(c, 400, 1);
        return;
    }

    *p++ = '\0';
    version = p;
    if (strncmp(version, "HTTP/1.", 7) != 0
        || version[7] < '0' || version[7] > '9' || version[8] != '\0')
    {
        gw_admin_respond_error(c, 400, 1);
        return;
    }

    head = (strcmp(method, "HEAD") == 0);
    if (!head && strcmp(method, "GET") != 0) {
        gw_admin_respond_error(c, 405, 1);
        return;
    }

    target[strcspn(target, "?#")] = '\0';

    reply.status = 0;
    reply.content_type = GW_ADMIN_TEXT;
    gw_buf_init(&reply.body);

    a->handler(a->data, target, &reply);

    if (reply.status == 0) {
        gw_admin_respond_error(c, 404, !head);
    } else {
        gw_admin_respond(c, &reply, !head);
    }

    gw_buf_free(&reply.body);
}


/* 1 when the request head is complete: an empty line ends it */
static int
gw_admin_head_done(const gw_admin_conn_t *c)
{
    return memmem(c->in, c->nin, "\r\n\r\n", 4) != NULL
           || memmem(c->in, c->nin, "\n\n", 2) != NULL;
}


/* Reads until the head is complete, the limit is reached or no more. */
static void
gw_admin_read(gw_admin_t *a, gw_admin_conn_t *c)
{
    ssize_t  n;

    for ( ;; ) {
        /* one byte is kept for the NUL the parser needs */
        if (c->nin == sizeof(c->in) - 1) {
            gw_admin_respond_error(c, 431, 1);
            return;
        }

        n = recv(c->fd, c->in + c->nin, sizeof(c->in) - 1 - c->nin, 0);

        if (n > 0) {
            c->nin += (size_t) n;
            c->in[c->nin] = '\0';
            if (gw_admin_head_done(c)) {
                gw_admin_request(a, c);
                return;
            }
            continue;
        }

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }

        /* closed before a whole request, or an error */
        gw_admin_drop(a, c);
        return;
    }
}


static void
gw_admin_write(gw_admin_t *a, gw_admin_conn_t *c, long long now)
{
    ssize_t  n;

    while (c->sent < c->out.len) {
        n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent,
                 MSG_NOSIGNAL);

        if (n > 0) {
            c->sent += (size_t) n;
            continue;
        }

        if (n < 0 && errno == EINTR) {
            continue;
        }

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }

        gw_admin_drop(a, c);
        return;
    }

    gw_buf_free(&c->out);
    shutdown(c->fd, SHUT_WR);
    c->state = GW_ADMIN_LINGER;

    if (c->deadline > now + GW_ADMIN_LINGER_MS) {
        c->deadline = now + GW_ADMIN_LINGER_MS;
    }
}


/* Reads and drops what the client still sends, until it closes. */
static void
gw_admin_linger(gw_admin_t *a, gw_admin_conn_t *c)
{
    char     buf[4096];
    ssize_t  n;

    for ( ;; ) {
        n = recv(c->fd, buf, sizeof(buf), 0);

        if (n > 0 || (n < 0 && errno == EINTR)) {
            continue;
        }

        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return;
        }

        gw_admin_drop(a, c);
        return;
    }
}


/* Moves a client on as far as it can go without waiting. */
static void
gw_admin_run(gw_admin_t *a, gw_admin_conn_t *c, long long now)
{
    if (c->state == GW_ADMIN_READ) {
        gw_admin_read(a, c);
    }

    if (c->state == GW_ADMIN_WRITE) {
        gw_admin_write(a, c, now);
    }

    if (c->state == GW_ADMIN_LINGER) {
        gw_admin_linger(a, c);
    }
}


/*
 * Accepts what is waiting.  When every slot is taken, a new client takes
 * the slot of the idlest one, so that idle connections cannot keep the
 * health checks out; a new client's request is read at once, as it
 * usually comes with the connection.
 */
static void
gw_admin_accept(gw_admin_t *a, long long now)
{
    int               fd;
    size_t            i;
    gw_admin_conn_t  *c, *idlest;

    while (now >= a->accept_after) {
        idlest = NULL;

        if (a->nconns >= a->max_conns) {
            idlest = gw_admin_idlest(a);
            if (idlest == NULL) {
                return;
            }
        }

        fd = accept4(a->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) {
                continue;
            }

            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS
                || errno == ENOMEM)
            {
                gw_log(GW_LOG_WARN, "admin: accept() failed, pausing",
                       "error", strerror(errno), NULL);
                a->accept_after = now + GW_ADMIN_ACCEPT_PAUSE_MS;
            }

            return;
        }

        if (idlest != NULL) {
            gw_log(GW_LOG_DEBUG, "admin: idle client dropped for a new one",
                   NULL);
            gw_admin_drop(a, idlest);
        }

        /* nconns < max_conns: there is a free slot */
        for (i = 0; a->conns[i].state != GW_ADMIN_FREE; i++) {
            /* void */
        }

        c = &a->conns[i];
        c->fd = fd;
        c->state = GW_ADMIN_READ;
        c->deadline = now + a->timeout_ms;
        c->nin = 0;
        c->sent = 0;
        a->nconns++;

        gw_admin_run(a, c, now);
    }
}


void
gw_admin_process(gw_admin_t *a)
{
    size_t            i;
    long long         now;
    gw_admin_conn_t  *c;

    now = (long long) gw_now_ms();

    gw_admin_accept(a, now);

    for (i = 0; i < GW_ADMIN_MAX_CONNS; i++) {
        c = &a->conns[i];

        gw_admin_run(a, c, now);

        if (c->state != GW_ADMIN_FREE && now >= c->deadline) {
            gw_log(GW_LOG_DEBUG, "admin: client dropped after the timeout",
                   NULL);
            gw_admin_drop(a, c);
        }
    }
}
