/*
 * ngx-gateway: allocation wrappers and error helpers.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gw_core.h"


void
gw_err_set(gw_err_t *err, const char *fmt, ...)
{
    va_list  ap;

    if (err == NULL) {
        return;
    }

    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
}


static void
gw_oom(size_t n)
{
    fprintf(stderr, "ngx-gateway: out of memory allocating %zu bytes\n", n);
    abort();
}


void *
gw_xmalloc(size_t n)
{
    void  *p;

    p = malloc(n ? n : 1);
    if (p == NULL) {
        gw_oom(n);
    }

    return p;
}


void *
gw_xcalloc(size_t nmemb, size_t size)
{
    void  *p;

    p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (p == NULL) {
        gw_oom(nmemb * size);
    }

    return p;
}


void *
gw_xrealloc(void *p, size_t n)
{
    void  *q;

    q = realloc(p, n ? n : 1);
    if (q == NULL) {
        gw_oom(n);
    }

    return q;
}


char *
gw_xstrdup(const char *s)
{
    size_t   n;
    char    *p;

    n = strlen(s);
    p = gw_xmalloc(n + 1);
    memcpy(p, s, n + 1);

    return p;
}


int
gw_streq(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }

    return strcmp(a, b) == 0;
}


void
gw_sleep_ms(long ms)
{
    struct timespec  ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}


double
gw_now_ms(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);

    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}
