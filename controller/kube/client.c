/*
 * ngx-gateway: asynchronous requests to the API server over one
 * curl_multi handle (see kube.h).
 *
 * libcurl forbids adding or removing handles while it runs a callback of
 * its own (the write callback that feeds watch lines), so a request
 * started or cancelled from a line callback is only recorded there, and
 * carried out when curl_multi_perform() has returned (gw_kube_settle()).
 * Requests started or cancelled from a done callback take effect at once:
 * those run outside libcurl.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>

#include "core/gw_log.h"
#include "kube/kube.h"
#include "kube/kube_int.h"

#ifndef GW_VERSION
#define GW_VERSION  "dev"
#endif

#define GW_KUBE_TIMEOUT_MS     10000
#define GW_KUBE_CONNECT_MS     10000
#define GW_KUBE_LINE_MAX       (64 * 1024 * 1024)
#define GW_KUBE_BODY_MAX       (1024 * 1024 * 1024)


typedef struct gw_kube_xfer_s  gw_kube_xfer_t;

struct gw_kube_xfer_s {
    gw_kube_t           *k;
    gw_kube_xfer_t      *next;
    CURL                *easy;
    struct curl_slist   *headers;
    unsigned long        id;
    gw_buf_t             body;
    gw_kube_lines_t      lines;
    gw_kube_line_pt      line;
    gw_kube_done_pt      done;
    void                *data;
    long                 retry_after;
    const char          *failure;      /* our own reason to abort */
    unsigned             added:1;      /* in the multi handle */
    unsigned             cancelled:1;
    unsigned             stream:1;
    unsigned             checked:1;    /* stream: status looked at */
    unsigned             buffering:1;  /* stream: not 2xx, keep the body */
    unsigned             finishing:1;  /* its last line is being read */
    char                 errbuf[CURL_ERROR_SIZE];
};


struct gw_kube_s {
    CURLM               *multi;
    gw_kube_config_t     cfg;          /* our own copy */
    char                *auth;         /* "Authorization: Bearer ..." */
    struct timespec      token_mtime;
    off_t                token_size;
    unsigned long        next_id;
    gw_kube_xfer_t      *xfers;
    int                  in_curl;      /* inside curl_multi_perform() */
};


void
gw_kube_lines_init(gw_kube_lines_t *lb, size_t max)
{
    gw_buf_init(&lb->partial);
    lb->max = max;
}


void
gw_kube_lines_release(gw_kube_lines_t *lb)
{
    gw_buf_free(&lb->partial);
}


static int
gw_kube_lines_emit(const char *p, size_t n, gw_kube_lines_pt line,
    void *data)
{
    if (n > 0 && p[n - 1] == '\r') {
        n--;
    }

    if (n == 0) {
        return GW_OK;
    }

    return line(data, p, n);
}


int
gw_kube_lines_feed(gw_kube_lines_t *lb, const char *p, size_t n,
    gw_kube_lines_pt line, void *data)
{
    int          rc;
    size_t       len;
    const char  *nl, *end;

    end = p + n;

    while (p < end) {
        nl = memchr(p, '\n', (size_t) (end - p));

        if (nl == NULL) {
            if (lb->partial.len + (size_t) (end - p) > lb->max) {
                return GW_ERR;
            }

            gw_buf_append(&lb->partial, p, (size_t) (end - p));
            return GW_OK;
        }

        len = (size_t) (nl - p);

        if (lb->partial.len > 0) {
            if (lb->partial.len + len > lb->max) {
                return GW_ERR;
            }

            gw_buf_append(&lb->partial, p, len);
            rc = gw_kube_lines_emit(lb->partial.data, lb->partial.len, line,
                                    data);
            gw_buf_reset(&lb->partial);

        } else {
            if (len > lb->max) {
                return GW_ERR;
            }

            rc = gw_kube_lines_emit(p, len, line, data);
        }

        if (rc != GW_OK) {
            return GW_ERR;
        }

        p = nl + 1;
    }

    return GW_OK;
}


int
gw_kube_lines_finish(gw_kube_lines_t *lb, gw_kube_lines_pt line,
    void *data)
{
    int  rc;

    rc = gw_kube_lines_emit(lb->partial.data, lb->partial.len, line, data);
    gw_buf_reset(&lb->partial);

    return rc;
}


long long
gw_kube_now_ms(void)
{
    return (long long) gw_now_ms();
}


static char *
gw_kube_dup(const char *s)
{
    return s != NULL ? gw_xstrdup(s) : NULL;
}


static void
gw_kube_set_auth(gw_kube_t *k, const char *token)
{
    size_t    n;
    gw_buf_t  b;

    if (k->auth != NULL) {
        memset(k->auth, 0, strlen(k->auth));
        free(k->auth);
        k->auth = NULL;
    }

    n = strlen(token);
    while (n > 0 && (token[n - 1] == '\n' || token[n - 1] == '\r'
                     || token[n - 1] == ' ' || token[n - 1] == '\t'))
    {
        n--;
    }

    if (n == 0) {
        return;
    }

    gw_buf_init(&b);
    gw_buf_printf(&b, "Authorization: Bearer %.*s", (int) n, token);
    k->auth = gw_buf_detach(&b);
}


/*
 * Reads the token file again when it changed (the kubelet rotates
 * projected service account tokens).  A file that cannot be read keeps
 * the previous token.
 */
static void
gw_kube_refresh_token(gw_kube_t *k)
{
    gw_err_t      err;
    gw_buf_t      b;
    struct stat   st;

    if (k->cfg.token_file == NULL) {
        return;
    }

    if (stat(k->cfg.token_file, &st) != 0) {
        if (k->auth == NULL) {
            gw_log(GW_LOG_WARN, "service account token missing", "file",
                   k->cfg.token_file, NULL);
        }
        return;
    }

    if (k->auth != NULL
        && st.st_mtim.tv_sec == k->token_mtime.tv_sec
        && st.st_mtim.tv_nsec == k->token_mtime.tv_nsec
        && st.st_size == k->token_size)
    {
        return;
    }

    gw_buf_init(&b);

    if (gw_kube_read_file(k->cfg.token_file, &b, &err) != GW_OK) {
        gw_log(GW_LOG_WARN, "reading the token failed", "error", err.msg,
               NULL);

    } else {
        gw_kube_set_auth(k, b.data);
        k->token_mtime = st.st_mtim;
        k->token_size = st.st_size;
        gw_log(GW_LOG_DEBUG, "token read", "file", k->cfg.token_file, NULL);
        memset(b.data, 0, b.len);
    }

    gw_buf_free(&b);
}


gw_kube_t *
gw_kube_new(const gw_kube_config_t *cfg, gw_err_t *err)
{
    gw_kube_t  *k;

    if (cfg->server == NULL) {
        gw_err_set(err, "no API server address");
        return NULL;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        gw_err_set(err, "libcurl initialisation failed");
        return NULL;
    }

    k = gw_xcalloc(1, sizeof(gw_kube_t));

    k->multi = curl_multi_init();
    if (k->multi == NULL) {
        gw_err_set(err, "curl_multi_init() failed");
        free(k);
        return NULL;
    }

    k->cfg.server = gw_kube_dup(cfg->server);
    k->cfg.token = gw_kube_dup(cfg->token);
    k->cfg.token_file = gw_kube_dup(cfg->token_file);
    k->cfg.ca_file = gw_kube_dup(cfg->ca_file);
    k->cfg.ca_data = gw_kube_dup(cfg->ca_data);
    k->cfg.cert_data = gw_kube_dup(cfg->cert_data);
    k->cfg.key_data = gw_kube_dup(cfg->key_data);
    k->cfg.cert_file = gw_kube_dup(cfg->cert_file);
    k->cfg.key_file = gw_kube_dup(cfg->key_file);
    k->cfg.namespace = gw_kube_dup(cfg->namespace);
    k->cfg.insecure = cfg->insecure;

    if (k->cfg.token != NULL) {
        gw_kube_set_auth(k, k->cfg.token);
    }

    k->next_id = 1;

    return k;
}


static void
gw_kube_xfer_free(gw_kube_xfer_t *x)
{
    if (x->added) {
        curl_multi_remove_handle(x->k->multi, x->easy);
    }

    curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    gw_buf_free(&x->body);
    gw_kube_lines_release(&x->lines);
    free(x);
}


static void
gw_kube_unlink(gw_kube_t *k, gw_kube_xfer_t *x)
{
    gw_kube_xfer_t  **pp;

    for (pp = &k->xfers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == x) {
            *pp = x->next;
            x->next = NULL;
            return;
        }
    }
}


void
gw_kube_free(gw_kube_t *k)
{
    gw_kube_xfer_t  *x, *next;

    if (k == NULL) {
        return;
    }

    for (x = k->xfers; x != NULL; x = next) {
        next = x->next;
        gw_kube_xfer_free(x);
    }

    curl_multi_cleanup(k->multi);

    if (k->auth != NULL) {
        memset(k->auth, 0, strlen(k->auth));
        free(k->auth);
    }

    gw_kube_config_release(&k->cfg);
    free(k);
}


static size_t
gw_kube_on_header(char *p, size_t size, size_t nmemb, void *ud)
{
    size_t           n;
    char             value[32];
    gw_kube_xfer_t  *x = ud;

    n = size * nmemb;

    if (n > 12 && strncasecmp(p, "Retry-After:", 12) == 0) {
        snprintf(value, sizeof(value), "%.*s",
                 (int) (n - 12 < sizeof(value) - 1 ? n - 12
                                                   : sizeof(value) - 1),
                 p + 12);
        x->retry_after = strtol(value, NULL, 10);
        if (x->retry_after < 0) {
            x->retry_after = 0;
        }
    }

    return n;
}


static int
gw_kube_on_line(void *data, const char *line, size_t len)
{
    gw_kube_xfer_t  *x = data;

    x->line(x->data, line, len);

    return x->cancelled ? GW_ERR : GW_OK;
}


static size_t
gw_kube_on_write(char *p, size_t size, size_t nmemb, void *ud)
{
    long             code;
    size_t           n;
    gw_kube_xfer_t  *x = ud;

    n = size * nmemb;

    if (x->cancelled) {
        return 0;
    }

    if (x->stream && !x->checked) {
        x->checked = 1;
        code = 0;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);
        x->buffering = code < 200 || code > 299;
    }

    if (!x->stream || x->buffering) {
        if (x->body.len + n > GW_KUBE_BODY_MAX) {
            x->failure = "response body too large";
            return 0;
        }

        gw_buf_append(&x->body, p, n);
        return n;
    }

    if (gw_kube_lines_feed(&x->lines, p, n, gw_kube_on_line, x) != GW_OK) {
        if (!x->cancelled) {
            x->failure = "stream line too long";
        }
        return 0;
    }

    return n;
}


static gw_kube_xfer_t *
gw_kube_xfer_new(gw_kube_t *k, const char *method, const char *path,
    const char *content_type, const char *body, size_t len, long timeout_ms,
    gw_err_t *err)
{
    CURL            *e;
    gw_buf_t         b;
    gw_kube_xfer_t  *x;
    struct curl_blob  blob;

    x = gw_xcalloc(1, sizeof(gw_kube_xfer_t));
    x->k = k;
    gw_buf_init(&x->body);
    gw_kube_lines_init(&x->lines, GW_KUBE_LINE_MAX);

    e = curl_easy_init();
    if (e == NULL) {
        gw_err_set(err, "curl_easy_init() failed");
        free(x);
        return NULL;
    }

    x->easy = e;
    x->id = k->next_id++;

    gw_buf_init(&b);
    gw_buf_printf(&b, "%s%s", k->cfg.server, path);
    curl_easy_setopt(e, CURLOPT_URL, b.data);
    gw_buf_free(&b);

    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "ngx-gateway/" GW_VERSION);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, gw_kube_on_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, gw_kube_on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) GW_KUBE_CONNECT_MS);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                     timeout_ms > 0 ? timeout_ms : (long) GW_KUBE_TIMEOUT_MS);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");

    /* TLS: the cluster's CA, a client certificate, or no checks at all */
    if (k->cfg.insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);

    } else if (k->cfg.ca_data != NULL) {
        blob.data = k->cfg.ca_data;
        blob.len = strlen(k->cfg.ca_data);
        blob.flags = CURL_BLOB_COPY;
        curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);

    } else if (k->cfg.ca_file != NULL) {
        curl_easy_setopt(e, CURLOPT_CAINFO, k->cfg.ca_file);
    }

    if (k->cfg.cert_data != NULL) {
        blob.data = k->cfg.cert_data;
        blob.len = strlen(k->cfg.cert_data);
        blob.flags = CURL_BLOB_COPY;
        curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &blob);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");

    } else if (k->cfg.cert_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLCERT, k->cfg.cert_file);
        curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }

    if (k->cfg.key_data != NULL) {
        blob.data = k->cfg.key_data;
        blob.len = strlen(k->cfg.key_data);
        blob.flags = CURL_BLOB_COPY;
        curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &blob);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");

    } else if (k->cfg.key_file != NULL) {
        curl_easy_setopt(e, CURLOPT_SSLKEY, k->cfg.key_file);
        curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
    }

    x->headers = curl_slist_append(x->headers, "Accept: application/json");
    x->headers = curl_slist_append(x->headers, "Expect:");

    gw_kube_refresh_token(k);
    if (k->auth != NULL) {
        x->headers = curl_slist_append(x->headers, k->auth);
    }

    if (content_type != NULL) {
        gw_buf_init(&b);
        gw_buf_printf(&b, "Content-Type: %s", content_type);
        x->headers = curl_slist_append(x->headers, b.data);
        gw_buf_free(&b);
    }

    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);

    if (body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t) len);
        curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, body);
    }

    if (strcmp(method, "GET") != 0) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    }

    return x;
}


/* Hands the transfer to libcurl, unless libcurl is running a callback. */
static int
gw_kube_start(gw_kube_t *k, gw_kube_xfer_t *x, gw_err_t *err)
{
    CURLMcode  rc;

    if (!k->in_curl) {
        rc = curl_multi_add_handle(k->multi, x->easy);
        if (rc != CURLM_OK) {
            gw_err_set(err, "curl_multi_add_handle(): %s",
                       curl_multi_strerror(rc));
            gw_kube_xfer_free(x);
            return GW_ERR;
        }

        x->added = 1;
    }

    x->next = k->xfers;
    k->xfers = x;

    return GW_OK;
}


int
gw_kube_request(gw_kube_t *k, const char *method, const char *path,
    const char *content_type, const char *body, size_t len, long timeout_ms,
    gw_kube_done_pt done, void *data, gw_err_t *err)
{
    gw_kube_xfer_t  *x;

    x = gw_kube_xfer_new(k, method, path, content_type, body, len,
                         timeout_ms, err);
    if (x == NULL) {
        return GW_ERR;
    }

    x->done = done;
    x->data = data;

    return gw_kube_start(k, x, err);
}


int
gw_kube_stream(gw_kube_t *k, const char *path, long timeout_ms,
    gw_kube_line_pt line, gw_kube_done_pt done, void *data,
    unsigned long *id, gw_err_t *err)
{
    gw_kube_xfer_t  *x;

    /* watches are quiet for minutes: only an overall deadline */
    x = gw_kube_xfer_new(k, "GET", path, NULL, NULL, 0, timeout_ms, err);
    if (x == NULL) {
        return GW_ERR;
    }

    if (timeout_ms <= 0) {
        curl_easy_setopt(x->easy, CURLOPT_TIMEOUT_MS, 0L);
    }

    x->stream = 1;
    x->line = line;
    x->done = done;
    x->data = data;

    if (id != NULL) {
        *id = x->id;
    }

    return gw_kube_start(k, x, err);
}


void
gw_kube_cancel(gw_kube_t *k, unsigned long id)
{
    gw_kube_xfer_t  *x;

    for (x = k->xfers; x != NULL; x = x->next) {
        if (x->id == id && !x->cancelled) {
            break;
        }
    }

    if (x == NULL) {
        return;
    }

    x->cancelled = 1;

    if (!k->in_curl && !x->finishing) {
        gw_kube_unlink(k, x);
        gw_kube_xfer_free(x);
    }
}


/* Carries out what callbacks inside libcurl asked for. */
static void
gw_kube_settle(gw_kube_t *k)
{
    CURLMcode         rc;
    gw_kube_xfer_t  **pp, *x;

    pp = &k->xfers;

    while (*pp != NULL) {
        x = *pp;

        if (x->cancelled) {
            *pp = x->next;
            gw_kube_xfer_free(x);
            continue;
        }

        if (!x->added) {
            rc = curl_multi_add_handle(k->multi, x->easy);
            if (rc == CURLM_OK) {
                x->added = 1;

            } else {
                /* reported as a failed transfer on the next turn */
                gw_log(GW_LOG_ERROR, "starting a request failed", "error",
                       curl_multi_strerror(rc), NULL);
                x->failure = "could not start the request";
            }
        }

        pp = &x->next;
    }
}


static void
gw_kube_finish(gw_kube_t *k, gw_kube_xfer_t *x, CURLcode result)
{
    long                code;
    gw_kube_response_t  r;

    if (result == CURLE_OK && x->stream && !x->buffering && !x->cancelled) {
        x->finishing = 1;
        gw_kube_lines_finish(&x->lines, gw_kube_on_line, x);
    }

    gw_kube_unlink(k, x);

    code = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &code);

    memset(&r, 0, sizeof(r));
    r.retry_after = x->retry_after;

    if (result != CURLE_OK || x->failure != NULL) {
        r.status = 0;
        r.error = x->failure != NULL ? x->failure
                  : x->errbuf[0] != '\0' ? x->errbuf
                  : curl_easy_strerror(result);

    } else {
        r.status = code;
        r.body = x->body.data != NULL ? x->body.data : "";
        r.len = x->body.len;
    }

    if (x->done != NULL && !x->cancelled) {
        x->done(x->data, &r);
    }

    gw_kube_xfer_free(x);
}


void
gw_kube_perform(gw_kube_t *k)
{
    int              running, left;
    CURL            *easy;
    CURLMsg         *msg;
    void            *priv;
    CURLcode         result;
    gw_kube_xfer_t  *x;

    /*
     * Requests that could not be handed to libcurl fail here; a done
     * callback may start or cancel others, so look from the start again.
     */
    x = k->xfers;
    while (x != NULL) {
        if (!x->added && x->failure != NULL) {
            gw_kube_finish(k, x, CURLE_FAILED_INIT);
            x = k->xfers;
            continue;
        }
        x = x->next;
    }

    k->in_curl = 1;
    curl_multi_perform(k->multi, &running);
    k->in_curl = 0;

    gw_kube_settle(k);

    for ( ;; ) {
        msg = curl_multi_info_read(k->multi, &left);
        if (msg == NULL) {
            break;
        }

        if (msg->msg != CURLMSG_DONE) {
            continue;
        }

        easy = msg->easy_handle;
        result = msg->data.result;

        priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);

        if (priv != NULL) {
            gw_kube_finish(k, priv, result);
        }
    }
}


int
gw_kube_wait(gw_kube_t *k, struct curl_waitfd *extra, unsigned n,
    int timeout_ms)
{
    int        numfds;
    CURLMcode  rc;

    rc = curl_multi_poll(k->multi, extra, n, timeout_ms, &numfds);
    if (rc != CURLM_OK) {
        gw_log(GW_LOG_ERROR, "curl_multi_poll() failed", "error",
               curl_multi_strerror(rc), NULL);
        return GW_ERR;
    }

    return GW_OK;
}
