/*
 * ngx-gateway: growable byte buffer.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gw_buf.h"


void
gw_buf_init(gw_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}


void
gw_buf_free(gw_buf_t *b)
{
    free(b->data);
    gw_buf_init(b);
}


void
gw_buf_reset(gw_buf_t *b)
{
    b->len = 0;
    if (b->data != NULL) {
        b->data[0] = '\0';
    }
}


static void
gw_buf_reserve(gw_buf_t *b, size_t extra)
{
    size_t  need;

    need = b->len + extra + 1;
    if (need <= b->cap) {
        return;
    }

    if (b->cap == 0) {
        b->cap = 256;
    }

    while (b->cap < need) {
        b->cap *= 2;
    }

    b->data = gw_xrealloc(b->data, b->cap);
}


void
gw_buf_append(gw_buf_t *b, const char *s, size_t n)
{
    gw_buf_reserve(b, n);
    if (n > 0) {
        memcpy(b->data + b->len, s, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
}


void
gw_buf_puts(gw_buf_t *b, const char *s)
{
    gw_buf_append(b, s, strlen(s));
}


void
gw_buf_putc(gw_buf_t *b, char c)
{
    gw_buf_append(b, &c, 1);
}


void
gw_buf_vprintf(gw_buf_t *b, const char *fmt, va_list ap)
{
    int      n;
    va_list  ap2;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);

    if (n < 0) {
        return;
    }

    gw_buf_reserve(b, (size_t) n);
    vsnprintf(b->data + b->len, (size_t) n + 1, fmt, ap);
    b->len += (size_t) n;
}


void
gw_buf_printf(gw_buf_t *b, const char *fmt, ...)
{
    va_list  ap;

    va_start(ap, fmt);
    gw_buf_vprintf(b, fmt, ap);
    va_end(ap);
}


char *
gw_buf_detach(gw_buf_t *b)
{
    char  *p;

    if (b->data == NULL) {
        p = gw_xstrdup("");
    } else {
        p = b->data;
    }

    gw_buf_init(b);

    return p;
}
