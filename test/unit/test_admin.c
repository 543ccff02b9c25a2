/*
 * Unit tests: the admin endpoint (controller/admin/admin.c and
 * endpoints.c).
 *
 * The server listens on 127.0.0.1 on a port the kernel picks; the test is
 * its client, with real sockets, and drives it as the controller's loop
 * does: poll() on the descriptors gw_admin_pollfds() gives, for at most
 * gw_admin_timeout_ms(), then gw_admin_process().  A wrong set of
 * descriptors shows as no progress until the convergence deadline.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "admin/admin.h"
#include "admin/endpoints.h"
#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "metrics/metrics.h"


#define WAIT_MS  5000         /* for a response that must come */


typedef struct {
    gw_admin_t         *admin;
    gw_metrics_t       *metrics;
    gw_admin_health_t   health;
} fx_t;


typedef struct {
    int        fd;
    int        done;          /* the server closed its side */
    gw_buf_t   in;
} client_t;


static long long
now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}


static int
setup(void **state)
{
    fx_t         *fx;
    gw_err_t      err;
    gw_metric_t  *m;

    fx = calloc(1, sizeof(fx_t));
    assert_non_null(fx);

    fx->metrics = gw_metrics_new();
    m = gw_metrics_counter(fx->metrics, "ngx_gateway_reloads_total",
                           "Reloads.", NULL, &err);
    assert_non_null(m);
    gw_metric_counter_add(m, 2, NULL);

    fx->health.metrics = fx->metrics;
    snprintf(fx->health.reason, sizeof(fx->health.reason),
             "no configuration is live yet");

    fx->admin = gw_admin_open("127.0.0.1:0", gw_admin_endpoints,
                              &fx->health, &err);
    if (fx->admin == NULL) {
        fail_msg("open: %s", err.msg);
    }
    assert_true(gw_admin_port(fx->admin) > 0);

    *state = fx;

    return 0;
}


static int
teardown(void **state)
{
    fx_t  *fx;

    fx = *state;
    gw_admin_free(fx->admin);
    gw_metrics_free(fx->metrics);
    free(fx);

    return 0;
}


static void
client_open(client_t *c, int port)
{
    struct sockaddr_in  sin;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t) port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(c->fd >= 0);
    /* the kernel completes the handshake before the server accepts */
    assert_int_equal(connect(c->fd, (struct sockaddr *) &sin, sizeof(sin)),
                     0);
    assert_int_equal(fcntl(c->fd, F_SETFL, O_NONBLOCK), 0);

    c->done = 0;
    gw_buf_init(&c->in);
}


static void
client_send(client_t *c, const char *data, size_t len)
{
    assert_int_equal(send(c->fd, data, len, MSG_NOSIGNAL), (ssize_t) len);
}


static void
client_close(client_t *c)
{
    close(c->fd);
    gw_buf_free(&c->in);
}


/* Reads what has arrived; done when the server has closed. */
static void
client_read(client_t *c)
{
    char     buf[4096];
    ssize_t  n;

    while (!c->done) {
        n = recv(c->fd, buf, sizeof(buf), 0);

        if (n > 0) {
            gw_buf_append(&c->in, buf, (size_t) n);
        } else if (n == 0) {
            c->done = 1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        } else {
            fail_msg("recv: %s", strerror(errno));
        }
    }
}


/*
 * One turn of the controller's loop.  Waking up because the cap passed,
 * not because of an event or a deadline of the server, means the server
 * waited on the wrong descriptors.
 */
static void
loop_once(gw_admin_t *a)
{
    int            t, rc;
    size_t         n;
    struct pollfd  fds[GW_ADMIN_MAX_FDS];

    n = gw_admin_pollfds(a, fds, GW_ADMIN_MAX_FDS);
    t = gw_admin_timeout_ms(a);

    rc = poll(fds, n, (t < 0 || t > WAIT_MS) ? WAIT_MS : t);
    assert_true(rc >= 0);
    if (rc == 0 && (t < 0 || t > WAIT_MS)) {
        fail_msg("the loop waited %d ms for nothing", WAIT_MS);
    }

    gw_admin_process(a);
}


/* Turns the loop until the server has answered and closed. */
static void
client_wait(gw_admin_t *a, client_t *c)
{
    long long  deadline;

    deadline = now_ms() + WAIT_MS;

    for ( ;; ) {
        client_read(c);
        if (c->done) {
            return;
        }

        if (now_ms() > deadline) {
            fail_msg("no complete response within %d ms, got \"%s\"",
                     WAIT_MS, c->in.data ? c->in.data : "");
        }

        loop_once(a);
    }
}


/* The whole response to one raw request of len bytes. */
static void
exchange_n(fx_t *fx, const char *request, size_t len, gw_buf_t *response)
{
    client_t  c;

    client_open(&c, gw_admin_port(fx->admin));
    client_send(&c, request, len);
    client_wait(fx->admin, &c);

    gw_buf_init(response);
    gw_buf_append(response, c.in.data ? c.in.data : "", c.in.len);
    client_close(&c);
}


static void
exchange(fx_t *fx, const char *request, gw_buf_t *response)
{
    exchange_n(fx, request, strlen(request), response);
}


/* The value of a header of a response ("" when absent). */
static const char *
header(const gw_buf_t *r, const char *name, char *value, size_t size)
{
    size_t       n;
    const char  *p, *end;

    value[0] = '\0';
    n = strlen(name);
    end = strstr(r->data, "\r\n\r\n");
    assert_non_null(end);

    for (p = strstr(r->data, "\r\n"); p != NULL && p < end;
         p = strstr(p + 2, "\r\n"))
    {
        if (strncasecmp(p + 2, name, n) == 0 && p[2 + n] == ':') {
            snprintf(value, size, "%.*s",
                     (int) strcspn(p + 4 + n, "\r"), p + 4 + n);
            break;
        }
    }

    return value;
}


static const char *
body(const gw_buf_t *r)
{
    const char  *p;

    p = strstr(r->data, "\r\n\r\n");
    assert_non_null(p);

    return p + 4;
}


static void
assert_status(const gw_buf_t *r, const char *status_line)
{
    size_t  n;

    n = strlen(status_line);
    if (r->len < n + 2 || strncmp(r->data, status_line, n) != 0
        || strncmp(r->data + n, "\r\n", 2) != 0)
    {
        fail_msg("expected \"%s\", got \"%.60s\"", status_line,
                 r->data ? r->data : "");
    }
}


static void
test_healthz(void **state)
{
    fx_t      *fx;
    char       v[128];
    gw_buf_t   r;

    fx = *state;

    exchange(fx, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", &r);

    assert_status(&r, "HTTP/1.1 200 OK");
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
                        "text/plain; charset=utf-8");
    assert_string_equal(header(&r, "Content-Length", v, sizeof(v)), "3");
    assert_string_equal(header(&r, "Connection", v, sizeof(v)), "close");
    assert_true(strlen(header(&r, "Date", v, sizeof(v))) > 0);
    assert_string_equal(body(&r), "ok\n");

    gw_buf_free(&r);
}


static void
test_readyz(void **state)
{
    fx_t      *fx;
    gw_buf_t   r;

    fx = *state;

    exchange(fx, "GET /readyz HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 503 Service Unavailable");
    assert_string_equal(body(&r), "not ready: no configuration is live yet\n");
    gw_buf_free(&r);

    fx->health.ready = 1;

    exchange(fx, "GET /readyz HTTP/1.0\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 200 OK");
    assert_string_equal(body(&r), "ok\n");
    gw_buf_free(&r);
}


static void
test_metrics(void **state)
{
    fx_t      *fx;
    char       v[128];
    gw_buf_t   r;

    fx = *state;

    exchange(fx, "GET /metrics?x=1 HTTP/1.1\r\nAccept: */*\r\n\r\n", &r);

    assert_status(&r, "HTTP/1.1 200 OK");
    assert_string_equal(header(&r, "Content-Type", v, sizeof(v)),
                        "text/plain; version=0.0.4; charset=utf-8");
    assert_string_equal(body(&r),
                        "# HELP ngx_gateway_reloads_total Reloads.\n"
                        "# TYPE ngx_gateway_reloads_total counter\n"
                        "ngx_gateway_reloads_total 2\n");
    snprintf(v, sizeof(v), "%zu", strlen(body(&r)));
    assert_string_equal(header(&r, "Content-Length", v + 64, 64), v);

    gw_buf_free(&r);
}


static void
test_head(void **state)
{
    fx_t      *fx;
    char       v[128];
    gw_buf_t   r;

    fx = *state;

    /* the length of the GET body, and no body */
    exchange(fx, "HEAD /healthz HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 200 OK");
    assert_string_equal(header(&r, "Content-Length", v, sizeof(v)), "3");
    assert_string_equal(body(&r), "");
    gw_buf_free(&r);

    exchange(fx, "HEAD /nope HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 404 Not Found");
    assert_string_equal(body(&r), "");
    gw_buf_free(&r);
}


static void
test_not_found(void **state)
{
    fx_t      *fx;
    gw_buf_t   r;

    fx = *state;

    exchange(fx, "GET / HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 404 Not Found");
    assert_string_equal(body(&r), "Not Found\n");
    gw_buf_free(&r);

    exchange(fx, "GET /healthz/ HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 404 Not Found");
    gw_buf_free(&r);

    /* no registry, no /metrics */
    fx->health.metrics = NULL;
    exchange(fx, "GET /metrics HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 404 Not Found");
    gw_buf_free(&r);
}


static void
test_method_not_allowed(void **state)
{
    fx_t      *fx;
    char       v[128];
    gw_buf_t   r;

    fx = *state;

    exchange(fx, "POST /healthz HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
             &r);
    assert_status(&r, "HTTP/1.1 405 Method Not Allowed");
    assert_string_equal(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
    gw_buf_free(&r);

    exchange(fx, "get /healthz HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 405 Method Not Allowed");
    gw_buf_free(&r);
}


static void
test_bad_requests(void **state)
{
    size_t       i;
    fx_t        *fx;
    gw_buf_t     r;
    const char  *bad[] = {
        "HELLO\r\n\r\n",
        "GET healthz HTTP/1.1\r\n\r\n",
        "GET /healthz HTTP/2.0\r\n\r\n",
        "GET /healthz\r\n\r\n",
        "GET  /healthz HTTP/1.1\r\n\r\n",
        "GET /healthz HTTP/1.1 x\r\n\r\n",
        "\r\n\r\n",
        "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    };
    const char   nul[] = "GET\0 /healthz HTTP/1.1\r\n\r\n";

    fx = *state;

    for (i = 0; i < gw_countof(bad); i++) {
        exchange(fx, bad[i], &r);
        assert_status(&r, "HTTP/1.1 400 Bad Request");
        gw_buf_free(&r);
    }

    /* a NUL is no part of a method */
    exchange_n(fx, nul, sizeof(nul) - 1, &r);
    assert_status(&r, "HTTP/1.1 400 Bad Request");
    gw_buf_free(&r);
}


static void
test_request_in_pieces(void **state)
{
    int        i;
    fx_t      *fx;
    client_t   c;

    fx = *state;

    client_open(&c, gw_admin_port(fx->admin));
    client_send(&c, "GET /hea", 8);

    for (i = 0; i < 5; i++) {
        gw_admin_process(fx->admin);
        client_read(&c);
    }
    assert_int_equal(c.in.len, 0);
    assert_int_equal(gw_admin_nconns(fx->admin), 1);

    /* bare LF line ends are accepted too */
    client_send(&c, "lthz HTTP/1.1\nHost: x\n\n", 23);
    client_wait(fx->admin, &c);

    assert_non_null(c.in.data);
    assert_int_equal(strncmp(c.in.data, "HTTP/1.1 200 OK\r\n", 17), 0);

    client_close(&c);
}


static void
test_oversized_request(void **state)
{
    fx_t      *fx;
    char       big[GW_ADMIN_REQUEST_MAX + 4096];
    gw_buf_t   r;
    client_t   c;

    fx = *state;

    memcpy(big, "GET /healthz HTTP/1.1\r\nX-Big: ", 30);
    memset(big + 30, 'a', sizeof(big) - 30);

    /* the head never ends within the limit: 431, and the client still
     * reads the answer although the server has not read all it sent */
    client_open(&c, gw_admin_port(fx->admin));
    client_send(&c, big, sizeof(big));
    client_wait(fx->admin, &c);

    gw_buf_init(&r);
    gw_buf_append(&r, c.in.data ? c.in.data : "", c.in.len);
    assert_status(&r, "HTTP/1.1 431 Request Header Fields Too Large");
    gw_buf_free(&r);
    client_close(&c);

    /* just under the limit is fine */
    memcpy(big + GW_ADMIN_REQUEST_MAX - 1 - 4, "\r\n\r\n", 4);
    big[GW_ADMIN_REQUEST_MAX - 1] = '\0';
    exchange(fx, big, &r);
    assert_status(&r, "HTTP/1.1 200 OK");
    gw_buf_free(&r);
}


static void
test_silent_client_dropped(void **state)
{
    fx_t      *fx;
    client_t   c, d;

    fx = *state;
    gw_admin_set_limits(fx->admin, 200, 0);

    client_open(&c, gw_admin_port(fx->admin));
    client_open(&d, gw_admin_port(fx->admin));
    client_send(&d, "GET /hea", 8);

    /* neither sends a whole request: both are closed, without an answer */
    client_wait(fx->admin, &c);
    client_wait(fx->admin, &d);

    assert_int_equal(c.in.len, 0);
    assert_int_equal(d.in.len, 0);
    assert_int_equal(gw_admin_nconns(fx->admin), 0);
    assert_int_equal(gw_admin_timeout_ms(fx->admin), -1);

    client_close(&c);
    client_close(&d);
}


static void
test_many_connections(void **state)
{
    int        i, left;
    fx_t      *fx;
    client_t   c[40];
    long long  deadline;

    fx = *state;
    gw_admin_set_limits(fx->admin, 0, 8);

    for (i = 0; i < 40; i++) {
        client_open(&c[i], gw_admin_port(fx->admin));
        client_send(&c[i], "GET /healthz HTTP/1.1\r\n\r\n", 25);
    }

    /* all are answered, never more than 8 held at once */
    deadline = now_ms() + WAIT_MS;
    do {
        assert_true(now_ms() < deadline);

        loop_once(fx->admin);
        assert_true(gw_admin_nconns(fx->admin) <= 8);

        left = 0;
        for (i = 0; i < 40; i++) {
            if (!c[i].done) {
                client_read(&c[i]);
                if (c[i].done) {
                    close(c[i].fd);
                } else {
                    left++;
                }
            }
        }
    } while (left > 0);

    for (i = 0; i < 40; i++) {
        assert_non_null(c[i].in.data);
        assert_non_null(strstr(c[i].in.data, "HTTP/1.1 200 OK\r\n"));
        assert_non_null(strstr(c[i].in.data, "\r\n\r\nok\n"));
        gw_buf_free(&c[i].in);
    }
}


static void
test_idle_clients_give_way(void **state)
{
    int        i;
    fx_t      *fx;
    gw_buf_t   r;
    client_t   idle[4];

    fx = *state;
    /* a timeout far longer than the test: only eviction can make room */
    gw_admin_set_limits(fx->admin, 600000, 4);

    for (i = 0; i < 4; i++) {
        client_open(&idle[i], gw_admin_port(fx->admin));
    }
    while (gw_admin_nconns(fx->admin) < 4) {
        loop_once(fx->admin);
    }
    client_send(&idle[3], "GET /hea", 8);

    /* a health check still gets through, in place of the idlest client */
    exchange(fx, "GET /healthz HTTP/1.1\r\n\r\n", &r);
    assert_status(&r, "HTTP/1.1 200 OK");
    gw_buf_free(&r);

    assert_true(gw_admin_nconns(fx->admin) <= 4);

    client_read(&idle[0]);
    assert_true(idle[0].done);
    assert_int_equal(idle[0].in.len, 0);

    for (i = 0; i < 4; i++) {
        client_close(&idle[i]);
    }
}


static void
test_addresses(void **state)
{
    size_t       i;
    gw_err_t     err;
    gw_admin_t  *a;
    const char  *bad[] = {
        "127.0.0.1", "127.0.0.1:", "127.0.0.1:70000", "127.0.0.1:8x",
        "::1:80", "[::1]80", "[]:80", "[::1:80", ":-1", "",
    };

    (void) state;

    for (i = 0; i < gw_countof(bad); i++) {
        a = gw_admin_open(bad[i], gw_admin_endpoints, NULL, &err);
        if (a != NULL) {
            fail_msg("\"%s\" accepted", bad[i]);
        }
        assert_non_null(strstr(err.msg, "invalid admin address"));
    }

    a = gw_admin_open("no-such-host.invalid:0", gw_admin_endpoints, NULL,
                      &err);
    assert_null(a);

    a = gw_admin_open(":0", gw_admin_endpoints, NULL, &err);
    assert_non_null(a);
    assert_true(gw_admin_port(a) > 0);
    gw_admin_free(a);

    a = gw_admin_open("localhost:0", gw_admin_endpoints, NULL, &err);
    assert_non_null(a);
    gw_admin_free(a);
}


static void
test_port_in_use(void **state)
{
    fx_t         *fx;
    char          addr[64];
    gw_err_t      err;

    fx = *state;

    snprintf(addr, sizeof(addr), "127.0.0.1:%d", gw_admin_port(fx->admin));
    assert_null(gw_admin_open(addr, gw_admin_endpoints, NULL, &err));
    assert_non_null(strstr(err.msg, "bind()"));
}


static void
test_ipv6(void **state)
{
    int                  fd;
    gw_err_t             err;
    gw_buf_t             r;
    gw_admin_t          *a;
    client_t             c;
    long long            deadline;
    gw_admin_health_t    h;
    struct sockaddr_in6  sin6;

    (void) state;

    memset(&h, 0, sizeof(h));
    a = gw_admin_open("[::1]:0", gw_admin_endpoints, &h, &err);
    if (a == NULL && strstr(err.msg, "Address family") != NULL) {
        skip();
    }
    if (a == NULL) {
        fail_msg("open: %s", err.msg);
    }

    memset(&sin6, 0, sizeof(sin6));
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons((uint16_t) gw_admin_port(a));
    sin6.sin6_addr = in6addr_loopback;

    fd = socket(AF_INET6, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *) &sin6, sizeof(sin6)),
                     0);
    assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);

    c.fd = fd;
    c.done = 0;
    gw_buf_init(&c.in);
    client_send(&c, "GET /healthz HTTP/1.1\r\n\r\n", 25);

    deadline = now_ms() + WAIT_MS;
    while (!c.done) {
        assert_true(now_ms() < deadline);
        loop_once(a);
        client_read(&c);
    }

    gw_buf_init(&r);
    gw_buf_append(&r, c.in.data ? c.in.data : "", c.in.len);
    assert_status(&r, "HTTP/1.1 200 OK");

    gw_buf_free(&r);
    client_close(&c);
    gw_admin_free(a);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_healthz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readyz, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_method_not_allowed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_in_pieces, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_oversized_request, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_silent_client_dropped, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_many_connections, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_idle_clients_give_way, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_port_in_use, setup, teardown),
        cmocka_unit_test(test_addresses),
        cmocka_unit_test(test_ipv6),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
