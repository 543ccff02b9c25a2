/*
 * ngx-gateway: core definitions shared by every stage.
 *
 * Error convention: functions return GW_OK or GW_ERR; the detail goes into
 * a caller-supplied gw_err_t.
 */

#ifndef GW_CORE_H
#define GW_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>

#define GW_OK    0
#define GW_ERR  -1

#define GW_ERR_MSG_LEN  1024

typedef struct {
    char    msg[GW_ERR_MSG_LEN];
} gw_err_t;

void gw_err_set(gw_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define gw_countof(a)  (sizeof(a) / sizeof((a)[0]))

/* A string with a length; data is NUL-terminated too when it came from us. */
typedef struct {
    const char  *data;
    size_t       len;
} gw_str_t;

#define gw_str_lit(s)  { s, sizeof(s) - 1 }

void *gw_xmalloc(size_t n);
void *gw_xcalloc(size_t nmemb, size_t size);
void *gw_xrealloc(void *p, size_t n);
char *gw_xstrdup(const char *s);

int gw_streq(const char *a, const char *b);   /* NULL-safe */

void gw_sleep_ms(long ms);

/* Milliseconds (with fractions) since an arbitrary start: CLOCK_MONOTONIC. */
double gw_now_ms(void);

#endif /* GW_CORE_H */
