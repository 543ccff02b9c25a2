/*
 * A fake asynchronous Kubernetes client for unit tests: gw_kube_request()
 * records the request; the test answers it with fake_answer(), which
 * calls done as gw_kube_perform() would.  gw_kube_now_ms() is fake_now.
 */

#ifndef FAKE_KUBE_H
#define FAKE_KUBE_H

#include <stdlib.h>
#include <string.h>

#include "kube/kube.h"

typedef struct {
    char             *method;
    char             *path;
    char             *content_type;
    char             *body;
    gw_kube_done_pt   done;
    void             *data;
} fake_req_t;

static fake_req_t  fake_reqs[64];
static int         fake_n;
static long long   fake_now = 1000000;

int
gw_kube_request(gw_kube_t *k, const char *method, const char *path,
    const char *content_type, const char *body, size_t len, long timeout_ms,
    gw_kube_done_pt done, void *data, gw_err_t *err)
{
    fake_req_t  *r;

    (void) k;
    (void) timeout_ms;
    (void) err;

    r = &fake_reqs[fake_n++];
    r->method = strdup(method);
    r->path = strdup(path);
    r->content_type = content_type ? strdup(content_type) : NULL;
    r->body = body ? strndup(body, len) : NULL;
    r->done = done;
    r->data = data;

    return GW_OK;
}

long long
gw_kube_now_ms(void)
{
    return fake_now;
}

/* Answers the i-th outstanding request (0: the oldest) and forgets it. */
static void
fake_answer(int i, long status, const char *body)
{
    fake_req_t          r;
    gw_kube_response_t  resp;

    r = fake_reqs[i];
    memmove(&fake_reqs[i], &fake_reqs[i + 1],
            (fake_n - i - 1) * sizeof(fake_req_t));
    fake_n--;

    memset(&resp, 0, sizeof(resp));
    resp.status = status;
    resp.body = body ? body : "";
    resp.len = strlen(resp.body);
    resp.error = status == 0 ? "connection refused" : NULL;

    r.done(r.data, &resp);

    free(r.method);
    free(r.path);
    free(r.content_type);
    free(r.body);
}

#endif
