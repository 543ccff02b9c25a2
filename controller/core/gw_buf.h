/*
 * A growable byte buffer; always NUL-terminated.
 */

#ifndef GW_BUF_H
#define GW_BUF_H

#include "gw_core.h"

typedef struct {
    char    *data;
    size_t   len;
    size_t   cap;
} gw_buf_t;

void gw_buf_init(gw_buf_t *b);
void gw_buf_free(gw_buf_t *b);
void gw_buf_reset(gw_buf_t *b);
void gw_buf_append(gw_buf_t *b, const char *s, size_t n);
void gw_buf_puts(gw_buf_t *b, const char *s);
void gw_buf_putc(gw_buf_t *b, char c);
void gw_buf_printf(gw_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void gw_buf_vprintf(gw_buf_t *b, const char *fmt, va_list ap);

/* Takes the data out of the buffer; the caller frees it. */
char *gw_buf_detach(gw_buf_t *b);

#endif /* GW_BUF_H */
