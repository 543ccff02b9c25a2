/*
 * Unit tests: the informers' parts that need no API server
 * (controller/kube/informer_cache.c): the object cache and relist
 * reconciliation, watch event parsing, retry backoff; and the client's
 * line splitting and requests (controller/kube/client.c) against a tiny
 * HTTP server forked by the test.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "kube/informer_int.h"
#include "kube/kube_int.h"


/* Line splitting -------------------------------------------------------- */


typedef struct {
    char    lines[16][128];
    int     n;
    int     stop_after;      /* stop once this many were seen, 0: never */
} lines_t;


static int
on_line(void *data, const char *line, size_t len)
{
    lines_t  *l = data;

    assert_true(l->n < 16);
    assert_true(len < sizeof(l->lines[0]));
    memcpy(l->lines[l->n], line, len);
    l->lines[l->n][len] = '\0';
    l->n++;

    return l->stop_after != 0 && l->n >= l->stop_after ? GW_ERR : GW_OK;
}


static void
test_lines_across_chunks(void **state)
{
    lines_t          l;
    gw_kube_lines_t  lb;

    (void) state;

    memset(&l, 0, sizeof(l));
    gw_kube_lines_init(&lb, 1024);

    assert_int_equal(gw_kube_lines_feed(&lb, "{\"a\":", 5, on_line, &l),
                     GW_OK);
    assert_int_equal(l.n, 0);
    assert_int_equal(gw_kube_lines_feed(&lb, "1}\n{\"b\"", 7, on_line, &l),
                     GW_OK);
    assert_int_equal(l.n, 1);
    assert_int_equal(gw_kube_lines_feed(&lb, ":2}\r\n\n\n{\"c\":3}\n{\"d", 18,
                                        on_line, &l),
                     GW_OK);
    assert_int_equal(l.n, 3);
    assert_int_equal(gw_kube_lines_finish(&lb, on_line, &l), GW_OK);

    assert_int_equal(l.n, 4);
    assert_string_equal(l.lines[0], "{\"a\":1}");
    assert_string_equal(l.lines[1], "{\"b\":2}");
    assert_string_equal(l.lines[2], "{\"c\":3}");
    assert_string_equal(l.lines[3], "{\"d");

    gw_kube_lines_release(&lb);
}


static void
test_lines_byte_by_byte(void **state)
{
    size_t           i;
    lines_t          l;
    const char      *text = "one\ntwo\r\nthree\n";
    gw_kube_lines_t  lb;

    (void) state;

    memset(&l, 0, sizeof(l));
    gw_kube_lines_init(&lb, 1024);

    for (i = 0; i < strlen(text); i++) {
        assert_int_equal(gw_kube_lines_feed(&lb, text + i, 1, on_line, &l),
                         GW_OK);
    }
    assert_int_equal(gw_kube_lines_finish(&lb, on_line, &l), GW_OK);

    assert_int_equal(l.n, 3);
    assert_string_equal(l.lines[0], "one");
    assert_string_equal(l.lines[1], "two");
    assert_string_equal(l.lines[2], "three");

    gw_kube_lines_release(&lb);
}


static void
test_lines_stop_and_limit(void **state)
{
    lines_t          l;
    gw_kube_lines_t  lb;

    (void) state;

    /* a callback that stops: the rest of the chunk is not delivered */
    memset(&l, 0, sizeof(l));
    l.stop_after = 1;
    gw_kube_lines_init(&lb, 1024);
    assert_int_equal(gw_kube_lines_feed(&lb, "a\nb\nc\n", 6, on_line, &l),
                     GW_ERR);
    assert_int_equal(l.n, 1);
    gw_kube_lines_release(&lb);

    /* a line longer than the limit, whole or in pieces */
    memset(&l, 0, sizeof(l));
    gw_kube_lines_init(&lb, 4);
    assert_int_equal(gw_kube_lines_feed(&lb, "abcd\n", 5, on_line, &l),
                     GW_OK);
    assert_int_equal(gw_kube_lines_feed(&lb, "abcde\n", 6, on_line, &l),
                     GW_ERR);
    gw_kube_lines_release(&lb);

    gw_kube_lines_init(&lb, 4);
    assert_int_equal(gw_kube_lines_feed(&lb, "abc", 3, on_line, &l), GW_OK);
    assert_int_equal(gw_kube_lines_feed(&lb, "de", 2, on_line, &l), GW_ERR);
    gw_kube_lines_release(&lb);
    assert_int_equal(l.n, 1);
}


/* Watch events -------------------------------------------------------- */


static void
test_watch_event_parse(void **state)
{
    gw_err_t     err;
    gw_wev_t     ev;
    const char  *line;

    (void) state;

    line = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Service\","
           "\"metadata\":{\"name\":\"web\",\"namespace\":\"app\","
           "\"resourceVersion\":\"42\"}}}";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line), &err), GW_OK);
    assert_int_equal(ev.type, GW_WEV_ADDED);
    assert_string_equal(ev.rv, "42");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(ev.object,
                                                                 "kind")),
                        "Service");
    gw_wev_release(&ev);

    line = "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\","
           "\"metadata\":{\"resourceVersion\":\"99\"}}}";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line), &err), GW_OK);
    assert_int_equal(ev.type, GW_WEV_BOOKMARK);
    assert_string_equal(ev.rv, "99");
    gw_wev_release(&ev);

    line = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
           "\"status\":\"Failure\",\"reason\":\"Expired\",\"code\":410,"
           "\"message\":\"too old resource version: 1 (5)\"}}";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line), &err), GW_OK);
    assert_int_equal(ev.type, GW_WEV_ERROR);
    assert_int_equal(ev.code, 410);
    assert_null(ev.rv);
    gw_wev_release(&ev);

    line = "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"x\"}}}"
           "trailing";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line) - 8, &err), GW_OK);
    assert_int_equal(ev.type, GW_WEV_DELETED);
    gw_wev_release(&ev);

    line = "{\"type\":\"ADDED\",\"obj";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line), &err), GW_ERR);
    assert_null(ev.object);

    line = "{\"type\":\"RENAMED\",\"object\":{}}";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line), &err), GW_ERR);
    assert_non_null(strstr(err.msg, "RENAMED"));

    line = "{\"type\":\"ADDED\"}";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line), &err), GW_ERR);

    line = "{\"type\":\"ADDED\",\"object\":\"text\"}";
    assert_int_equal(gw_wev_parse(&ev, line, strlen(line), &err), GW_ERR);
}


/* The cache and relist reconciliation --------------------------------- */


static cJSON *
obj(const char *ns, const char *name, const char *rv)
{
    char    text[256];
    cJSON  *o;

    if (ns != NULL) {
        snprintf(text, sizeof(text), "{\"metadata\":{\"namespace\":\"%s\","
                 "\"name\":\"%s\",\"resourceVersion\":\"%s\"}}", ns, name,
                 rv);
    } else {
        snprintf(text, sizeof(text), "{\"metadata\":{\"name\":\"%s\","
                 "\"resourceVersion\":\"%s\"}}", name, rv);
    }

    o = cJSON_Parse(text);
    assert_non_null(o);

    return o;
}


typedef struct {
    char    names[16][64];
    int     n;
} gone_t;


static void
on_gone(void *data, const cJSON *o)
{
    gone_t  *g = data;

    assert_true(g->n < 16);
    snprintf(g->names[g->n++], sizeof(g->names[0]), "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(
                 cJSON_GetObjectItem(o, "metadata"), "name")));
}


static const char *
cached_rv(const gw_kcache_t *c, const char *ns, const char *name)
{
    const cJSON  *o;

    o = gw_kcache_get(c, ns, name);

    return o == NULL ? NULL
           : cJSON_GetStringValue(cJSON_GetObjectItem(
                 cJSON_GetObjectItem(o, "metadata"), "resourceVersion"));
}


static void
test_cache_relist_deletions(void **state)
{
    gone_t       g;
    cJSON       *o, *removed;
    gw_kcache_t  c;

    (void) state;

    gw_kcache_init(&c);

    /* the first list */
    assert_int_equal(gw_kcache_apply(&c, obj("a", "web", "1"), 1),
                     GW_WATCH_ADDED);
    assert_int_equal(gw_kcache_apply(&c, obj("b", "web", "2"), 1),
                     GW_WATCH_ADDED);
    assert_int_equal(gw_kcache_apply(&c, obj(NULL, "web", "3"), 1),
                     GW_WATCH_ADDED);
    assert_int_equal(gw_kcache_apply(&c, obj("a", "api", "4"), 1),
                     GW_WATCH_ADDED);
    assert_int_equal(c.n, 4);

    /* same namespace/name is one object; cluster scope is its own */
    assert_string_equal(cached_rv(&c, "a", "web"), "1");
    assert_string_equal(cached_rv(&c, "b", "web"), "2");
    assert_string_equal(cached_rv(&c, "", "web"), "3");
    assert_string_equal(cached_rv(&c, NULL, "web"), "3");
    assert_null(cached_rv(&c, "c", "web"));

    /* a watch: identical is not a change, a new version is */
    assert_int_equal(gw_kcache_apply(&c, obj("a", "web", "1"), 1),
                     GW_KCACHE_SAME);
    assert_int_equal(gw_kcache_apply(&c, obj("a", "web", "5"), 1),
                     GW_WATCH_MODIFIED);
    assert_string_equal(cached_rv(&c, "a", "web"), "5");

    /* the same resourceVersion under another apiVersion is a change */
    o = obj("a", "web", "5");
    cJSON_AddStringToObject(o, "apiVersion", "v2");
    assert_int_equal(gw_kcache_apply(&c, o, 1), GW_WATCH_MODIFIED);
    o = obj("a", "web", "5");
    assert_int_equal(gw_kcache_apply(&c, o, 1), GW_WATCH_MODIFIED);

    /* without resourceVersions the content decides */
    o = cJSON_Parse("{\"metadata\":{\"name\":\"plain\"},\"x\":1}");
    assert_int_equal(gw_kcache_apply(&c, o, 1), GW_WATCH_ADDED);
    o = cJSON_Parse("{\"metadata\":{\"name\":\"plain\"},\"x\":1}");
    assert_int_equal(gw_kcache_apply(&c, o, 1), GW_KCACHE_SAME);
    o = cJSON_Parse("{\"metadata\":{\"name\":\"plain\"},\"x\":2}");
    assert_int_equal(gw_kcache_apply(&c, o, 1), GW_WATCH_MODIFIED);
    o = obj(NULL, "plain", "1");
    assert_non_null(o);
    removed = gw_kcache_remove(&c, o);
    assert_non_null(removed);
    cJSON_Delete(removed);
    cJSON_Delete(o);

    /* nameless objects are refused */
    o = cJSON_Parse("{\"metadata\":{}}");
    assert_int_equal(gw_kcache_apply(&c, o, 1), GW_ERR);

    /* a relist (mark 2) that no longer has b/web nor the cluster one */
    assert_int_equal(gw_kcache_apply(&c, obj("a", "web", "5"), 2),
                     GW_KCACHE_SAME);
    assert_int_equal(gw_kcache_apply(&c, obj("a", "api", "6"), 2),
                     GW_WATCH_MODIFIED);
    assert_int_equal(gw_kcache_apply(&c, obj("c", "new", "7"), 2),
                     GW_WATCH_ADDED);

    memset(&g, 0, sizeof(g));
    assert_int_equal(gw_kcache_sweep(&c, 2, on_gone, &g), 2);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.names[0], "web");
    assert_string_equal(g.names[1], "web");
    assert_null(gw_kcache_get(&c, "b", "web"));
    assert_null(gw_kcache_get(&c, "", "web"));
    assert_non_null(gw_kcache_get(&c, "a", "web"));
    assert_non_null(gw_kcache_get(&c, "c", "new"));
    assert_int_equal(c.n, 3);

    /* sweeping again with the same mark removes nothing */
    memset(&g, 0, sizeof(g));
    assert_int_equal(gw_kcache_sweep(&c, 2, on_gone, &g), 0);
    assert_int_equal(g.n, 0);

    /* a watch DELETED */
    o = obj("c", "new", "8");
    removed = gw_kcache_remove(&c, o);
    assert_non_null(removed);
    assert_null(gw_kcache_remove(&c, o));
    cJSON_Delete(removed);
    cJSON_Delete(o);
    assert_int_equal(c.n, 2);

    gw_kcache_release(&c);
}


static void
test_cache_many(void **state)
{
    int          i;
    char         name[32];
    gone_t       g;
    gw_kcache_t  c;

    (void) state;

    /* enough to grow the table several times; a relist keeps the evens */
    gw_kcache_init(&c);
    for (i = 0; i < 5000; i++) {
        snprintf(name, sizeof(name), "r%d", i);
        assert_int_equal(gw_kcache_apply(&c, obj("ns", name, "1"), 1),
                         GW_WATCH_ADDED);
    }
    for (i = 0; i < 5000; i += 2) {
        snprintf(name, sizeof(name), "r%d", i);
        assert_int_equal(gw_kcache_apply(&c, obj("ns", name, "1"), 2),
                         GW_KCACHE_SAME);
    }

    memset(&g, 0, sizeof(g));
    assert_int_equal(gw_kcache_sweep(&c, 2, NULL, &g), 2500);
    assert_int_equal(c.n, 2500);
    assert_non_null(gw_kcache_get(&c, "ns", "r4998"));
    assert_null(gw_kcache_get(&c, "ns", "r4999"));

    gw_kcache_release(&c);
}


/* Backoff ------------------------------------------------------------- */


static void
test_backoff_bounds(void **state)
{
    int           i, run;
    long          d, prev_max;
    unsigned      rnd;
    gw_backoff_t  b;

    (void) state;

    rnd = 12345;

    for (run = 0; run < 200; run++) {
        memset(&b, 0, sizeof(b));
        prev_max = 0;

        for (i = 0; i < 20; i++) {
            rnd = rnd * 1103515245u + 12345u;
            d = gw_backoff_next(&b, 0, rnd);

            assert_true(d >= GW_BACKOFF_MIN_MS);
            assert_true(d <= GW_BACKOFF_MAX_MS);

            if (i == 0) {
                assert_true(d <= 2 * GW_BACKOFF_MIN_MS);
            }
            if (i >= 8) {
                /* at the ceiling, still jittered */
                assert_true(d >= GW_BACKOFF_MAX_MS / 2);
            }
            prev_max = d > prev_max ? d : prev_max;
        }

        assert_true(prev_max >= GW_BACKOFF_MAX_MS / 2);
    }

    /* the extremes of the jitter */
    memset(&b, 0, sizeof(b));
    assert_int_equal(gw_backoff_next(&b, 0, 0), 200);
    memset(&b, 0, sizeof(b));
    assert_int_equal(gw_backoff_next(&b, 0, 200), 400);

    /* Retry-After wins when longer, capped at ten minutes */
    memset(&b, 0, sizeof(b));
    assert_int_equal(gw_backoff_next(&b, 45, 0), 45000);
    assert_int_equal(gw_backoff_next(&b, 100000, 0), 600000);

    /* reset: short again */
    for (i = 0; i < 10; i++) {
        gw_backoff_next(&b, 0, 0);
    }
    gw_backoff_reset(&b);
    assert_true(gw_backoff_next(&b, 0, 77) <= 2 * GW_BACKOFF_MIN_MS);
}


static void
test_status_retry_after(void **state)
{
    const char  *s;

    (void) state;

    s = "{\"kind\":\"Status\",\"code\":429,\"reason\":\"TooManyRequests\","
        "\"details\":{\"retryAfterSeconds\":3}}";
    assert_int_equal(gw_status_retry_after(s, strlen(s)), 3);

    s = "{\"kind\":\"Status\",\"code\":500}";
    assert_int_equal(gw_status_retry_after(s, strlen(s)), 0);
    assert_int_equal(gw_status_retry_after("<html>", 6), 0);
    assert_int_equal(gw_status_retry_after(NULL, 0), 0);
}


/* The client against a forked HTTP server ----------------------------- */


typedef struct {
    pid_t   pid;
    int     port;
} server_t;


/* Errors are ignored: the client may have gone (a cancelled stream). */
static void
server_send(int fd, const char *s)
{
    (void) send(fd, s, strlen(s), MSG_NOSIGNAL);
}


static void
server_reply(int fd, const char *head, const char *body)
{
    char  buf[1024];

    snprintf(buf, sizeof(buf), "%sContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n%s", head, strlen(body), body);
    server_send(fd, buf);
}


static void
server_chunk(int fd, const char *data)
{
    char  buf[512];

    snprintf(buf, sizeof(buf), "%zx\r\n%s\r\n", strlen(data), data);
    server_send(fd, buf);
    usleep(20000);
}


/* Reads the head and, when it announces one, the body of a request. */
static void
server_read(int fd, char *req, size_t size)
{
    char     *end, *cl;
    size_t    want;
    ssize_t   n, got;

    got = 0;
    req[0] = '\0';
    want = 0;

    for ( ;; ) {
        end = strstr(req, "\r\n\r\n");
        if (end != NULL) {
            cl = strstr(req, "Content-Length: ");
            want = (size_t) (end + 4 - req)
                   + (cl != NULL ? strtoul(cl + 16, NULL, 10) : 0);
            if ((size_t) got >= want) {
                return;
            }
        }

        if ((size_t) got >= size - 1) {
            return;
        }

        n = read(fd, req + got, size - 1 - (size_t) got);
        if (n <= 0) {
            return;
        }
        got += n;
        req[got] = '\0';
    }
}


/* One connection at a time; the answer depends on the path. */
static void
server_run(int ls)
{
    int      fd;
    char     req[8192], body[512], *auth, *end;

    for ( ;; ) {
        fd = accept(ls, NULL, NULL);
        if (fd < 0) {
            _exit(0);
        }

        server_read(fd, req, sizeof(req));

        if (strncmp(req, "GET /watch ", 11) == 0) {
            server_send(fd, "HTTP/1.1 200 OK\r\n"
                        "Content-Type: application/json\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n");
            server_chunk(fd, "{\"type\":\"ADDED\",");
            server_chunk(fd, "\"object\":{}}\n{\"type\":");
            server_chunk(fd, "\"BOOKMARK\"}\n");
            server_chunk(fd, "{\"last\":true}");
            server_send(fd, "0\r\n\r\n");

        } else if (strncmp(req, "GET /gone ", 10) == 0) {
            server_reply(fd, "HTTP/1.1 410 Gone\r\n",
                         "{\"kind\":\"Status\",\"code\":410,"
                         "\"reason\":\"Expired\"}");

        } else if (strncmp(req, "GET /busy ", 10) == 0) {
            server_reply(fd, "HTTP/1.1 429 Too Many Requests\r\n"
                         "Retry-After: 7\r\n", "{}");

        } else if (strncmp(req, "GET /headers ", 13) == 0) {
            /* what the client sent, for the test to check */
            auth = strstr(req, "Authorization: ");
            end = auth != NULL ? strstr(auth, "\r\n") : NULL;
            snprintf(body, sizeof(body), "%.*s|%s|%s",
                     end != NULL ? (int) (end - auth) : 0,
                     auth != NULL ? auth : "",
                     strstr(req, "Accept: application/json") ? "json" : "",
                     strstr(req, "User-Agent: ngx-gateway/") ? "ua" : "");
            server_reply(fd, "HTTP/1.1 200 OK\r\n", body);

        } else if (strncmp(req, "POST /echo ", 11) == 0) {
            end = strstr(req, "\r\n\r\n");
            server_reply(fd, "HTTP/1.1 201 Created\r\n",
                         end != NULL ? end + 4 : "");

        } else {
            server_reply(fd, "HTTP/1.1 404 Not Found\r\n", "{}");
        }

        close(fd);
    }
}


static void
server_start(server_t *s)
{
    int                 ls, one;
    socklen_t           len;
    struct sockaddr_in  sin;

    ls = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(ls >= 0);
    one = 1;
    setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(ls, (struct sockaddr *) &sin, sizeof(sin)), 0);
    assert_int_equal(listen(ls, 16), 0);

    len = sizeof(sin);
    assert_int_equal(getsockname(ls, (struct sockaddr *) &sin, &len), 0);
    s->port = ntohs(sin.sin_port);

    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        server_run(ls);
        _exit(0);
    }

    close(ls);
}


static void
server_stop(server_t *s)
{
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
}


typedef struct {
    gw_kube_t      *k;
    char            lines[8][128];
    int             nlines;
    int             ndone;
    long            status;
    long            retry_after;
    char            body[512];
    char            error[256];
    unsigned long   cancel_id;      /* cancelled by the first line */
    int             chained;        /* a request started from a line */
} call_t;


static void
on_done(void *data, const gw_kube_response_t *r)
{
    call_t  *c = data;

    c->ndone++;
    c->status = r->status;
    c->retry_after = r->retry_after;
    snprintf(c->body, sizeof(c->body), "%.*s", (int) r->len,
             r->body != NULL ? r->body : "");
    snprintf(c->error, sizeof(c->error), "%s", r->error ? r->error : "");
}


static void
on_stream_line(void *data, const char *line, size_t len)
{
    call_t  *c = data;

    assert_true(c->nlines < 8);
    snprintf(c->lines[c->nlines++], sizeof(c->lines[0]), "%.*s", (int) len,
             line);
}


/* Runs the loop until every call has its done (or 10 s pass). */
static void
run_until(gw_kube_t *k, call_t **calls, int n)
{
    int        i, pending;
    long long  deadline;

    deadline = gw_kube_now_ms() + 10000;

    do {
        assert_int_equal(gw_kube_wait(k, NULL, 0, 100), GW_OK);
        gw_kube_perform(k);

        pending = 0;
        for (i = 0; i < n; i++) {
            pending += calls[i]->ndone == 0;
        }
    } while (pending > 0 && gw_kube_now_ms() < deadline);

    assert_int_equal(pending, 0);
}


static gw_kube_t *
client_new(server_t *s, const char *token, const char *token_file)
{
    char              server[64];
    gw_err_t          err;
    gw_kube_t        *k;
    gw_kube_config_t  cfg;

    memset(&cfg, 0, sizeof(cfg));
    snprintf(server, sizeof(server), "http://127.0.0.1:%d", s->port);
    cfg.server = server;
    cfg.token = (char *) token;
    cfg.token_file = (char *) token_file;

    k = gw_kube_new(&cfg, &err);
    assert_non_null(k);

    return k;
}


static void
test_client_requests(void **state)
{
    server_t        s;
    call_t          stream, gone, busy, hdrs, post, missing;
    call_t         *all[6];
    gw_err_t        err;
    gw_kube_t      *k;
    unsigned long   id;

    (void) state;

    server_start(&s);
    k = client_new(&s, "s3cret", NULL);

    memset(&stream, 0, sizeof(call_t));
    memset(&gone, 0, sizeof(call_t));
    memset(&busy, 0, sizeof(call_t));
    memset(&hdrs, 0, sizeof(call_t));
    memset(&post, 0, sizeof(call_t));
    memset(&missing, 0, sizeof(call_t));

    assert_int_equal(gw_kube_stream(k, "/watch", 0, on_stream_line, on_done,
                                    &stream, &id, &err), GW_OK);
    assert_int_equal(gw_kube_request(k, "GET", "/gone", NULL, NULL, 0, 0,
                                     on_done, &gone, &err), GW_OK);
    assert_int_equal(gw_kube_request(k, "GET", "/busy", NULL, NULL, 0, 0,
                                     on_done, &busy, &err), GW_OK);
    assert_int_equal(gw_kube_request(k, "GET", "/headers", NULL, NULL, 0, 0,
                                     on_done, &hdrs, &err), GW_OK);
    assert_int_equal(gw_kube_request(k, "POST", "/echo", "application/json",
                                     "{\"x\":1}", 7, 0, on_done, &post,
                                     &err), GW_OK);
    /* a stream answered with an error: the Status goes to done whole */
    assert_int_equal(gw_kube_stream(k, "/nothing", 0, on_stream_line,
                                    on_done, &missing, &id, &err), GW_OK);

    all[0] = &stream;
    all[1] = &gone;
    all[2] = &busy;
    all[3] = &hdrs;
    all[4] = &post;
    all[5] = &missing;
    run_until(k, all, 6);

    assert_int_equal(stream.ndone, 1);
    assert_int_equal(stream.status, 200);
    assert_int_equal(stream.nlines, 3);
    assert_string_equal(stream.lines[0], "{\"type\":\"ADDED\",\"object\":{}}");
    assert_string_equal(stream.lines[1], "{\"type\":\"BOOKMARK\"}");
    assert_string_equal(stream.lines[2], "{\"last\":true}");

    assert_int_equal(gone.status, 410);
    assert_non_null(strstr(gone.body, "Expired"));

    assert_int_equal(busy.status, 429);
    assert_int_equal(busy.retry_after, 7);

    assert_int_equal(hdrs.status, 200);
    assert_string_equal(hdrs.body, "Authorization: Bearer s3cret|json|ua");

    assert_int_equal(post.status, 201);
    assert_string_equal(post.body, "{\"x\":1}");

    assert_int_equal(missing.status, 404);
    assert_int_equal(missing.nlines, 0);
    assert_string_equal(missing.body, "{}");

    gw_kube_free(k);
    server_stop(&s);
}


/* The first line cancels its own stream and starts another request. */
static void
on_line_cancel(void *data, const char *line, size_t len)
{
    gw_err_t  err;
    call_t   *c = data;

    on_stream_line(data, line, len);

    if (c->nlines == 1) {
        gw_kube_cancel(c->k, c->cancel_id);
        assert_int_equal(gw_kube_request(c->k, "GET", "/gone", NULL, NULL,
                                         0, 0, on_done, c + 1, &err),
                         GW_OK);
    }
}


static void
test_client_cancel_from_callback(void **state)
{
    server_t   s;
    call_t     c[2];
    call_t    *wait[1];
    gw_err_t   err;
    gw_kube_t *k;

    (void) state;

    server_start(&s);
    k = client_new(&s, NULL, NULL);

    memset(c, 0, sizeof(c));
    c[0].k = k;
    assert_int_equal(gw_kube_stream(k, "/watch", 0, on_line_cancel, on_done,
                                    &c[0], &c[0].cancel_id, &err), GW_OK);

    wait[0] = &c[1];
    run_until(k, wait, 1);

    /* no more lines, and no done, for the cancelled stream */
    assert_int_equal(c[0].nlines, 1);
    assert_int_equal(c[0].ndone, 0);
    assert_int_equal(c[1].status, 410);

    /* cancelling an unknown or finished id is harmless */
    gw_kube_cancel(k, c[0].cancel_id);
    gw_kube_cancel(k, 12345);

    gw_kube_free(k);
    server_stop(&s);
}


static void
test_client_token_rotation(void **state)
{
    char             path[] = "/tmp/gw-kube-token-XXXXXX";
    int              fd;
    FILE            *f;
    server_t         s;
    call_t           c;
    call_t          *all[1];
    gw_err_t         err;
    gw_kube_t       *k;
    struct timespec  times[2];

    (void) state;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "first\n", 6), 6);
    close(fd);

    server_start(&s);
    k = client_new(&s, NULL, path);
    all[0] = &c;

    memset(&c, 0, sizeof(c));
    assert_int_equal(gw_kube_request(k, "GET", "/headers", NULL, NULL, 0, 0,
                                     on_done, &c, &err), GW_OK);
    run_until(k, all, 1);
    assert_string_equal(c.body, "Authorization: Bearer first|json|ua");

    /* the kubelet writes a new token: the next request uses it */
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("second", f);
    fclose(f);
    times[0].tv_sec = times[1].tv_sec = time(NULL) + 10;
    times[0].tv_nsec = times[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);

    memset(&c, 0, sizeof(c));
    assert_int_equal(gw_kube_request(k, "GET", "/headers", NULL, NULL, 0, 0,
                                     on_done, &c, &err), GW_OK);
    run_until(k, all, 1);
    assert_string_equal(c.body, "Authorization: Bearer second|json|ua");

    gw_kube_free(k);
    server_stop(&s);
    unlink(path);
}


static void
test_client_refused(void **state)
{
    call_t            c;
    call_t           *all[1];
    gw_err_t          err;
    gw_kube_t        *k;
    gw_kube_config_t  cfg;

    (void) state;

    /* port 1 on loopback: nobody listens */
    memset(&cfg, 0, sizeof(cfg));
    cfg.server = "http://127.0.0.1:1";
    k = gw_kube_new(&cfg, &err);
    assert_non_null(k);

    memset(&c, 0, sizeof(c));
    assert_int_equal(gw_kube_request(k, "GET", "/api", NULL, NULL, 0, 0,
                                     on_done, &c, &err), GW_OK);
    all[0] = &c;
    run_until(k, all, 1);

    assert_int_equal(c.ndone, 1);
    assert_int_equal(c.status, 0);
    assert_true(c.error[0] != '\0');

    gw_kube_free(k);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lines_across_chunks),
        cmocka_unit_test(test_lines_byte_by_byte),
        cmocka_unit_test(test_lines_stop_and_limit),
        cmocka_unit_test(test_watch_event_parse),
        cmocka_unit_test(test_cache_relist_deletions),
        cmocka_unit_test(test_cache_many),
        cmocka_unit_test(test_backoff_bounds),
        cmocka_unit_test(test_status_retry_after),
        cmocka_unit_test(test_client_requests),
        cmocka_unit_test(test_client_cancel_from_callback),
        cmocka_unit_test(test_client_token_rotation),
        cmocka_unit_test(test_client_refused),
    };

    signal(SIGPIPE, SIG_IGN);

    return cmocka_run_group_tests(tests, NULL, NULL);
}
