/*
 * ngx-gateway: structured logging (logfmt or JSON), one line per event.
 */

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/time.h>

#include "gw_buf.h"
#include "gw_log.h"


static gw_log_level_e   gw_log_min = GW_LOG_INFO;
static gw_log_format_e  gw_log_fmt = GW_LOG_LOGFMT;

static const char *gw_log_names[] = { "debug", "info", "warn", "error" };


void
gw_log_setup(gw_log_level_e level, gw_log_format_e format)
{
    gw_log_min = level;
    gw_log_fmt = format;
}


int
gw_log_parse_level(const char *s, gw_log_level_e *level)
{
    size_t  i;

    for (i = 0; i < gw_countof(gw_log_names); i++) {
        if (strcmp(s, gw_log_names[i]) == 0) {
            *level = (gw_log_level_e) i;
            return GW_OK;
        }
    }

    return GW_ERR;
}


/*
 * v in double quotes, with the quote, backslash, newline and tab escaped
 * and other control characters as hex escapes (JSON's u form when json,
 * else logfmt's x form).
 */
static void
gw_log_quoted(gw_buf_t *b, const char *v, int json)
{
    const char  *p;

    gw_buf_putc(b, '"');
    for (p = v; *p; p++) {
        switch (*p) {
        case '"':  gw_buf_puts(b, "\\\""); break;
        case '\\': gw_buf_puts(b, "\\\\"); break;
        case '\n': gw_buf_puts(b, "\\n"); break;
        case '\t': gw_buf_puts(b, "\\t"); break;
        default:
            if ((unsigned char) *p >= ' ') {
                gw_buf_putc(b, *p);
            } else if (json) {
                gw_buf_printf(b, "\\u%04x", (unsigned char) *p);
            } else {
                gw_buf_printf(b, "\\x%02x", (unsigned char) *p);
            }
        }
    }
    gw_buf_putc(b, '"');
}


static void
gw_log_logfmt_value(gw_buf_t *b, const char *v)
{
    const char  *p;
    int          quote;

    quote = (*v == '\0');
    for (p = v; *p; p++) {
        if (*p <= ' ' || *p == '"' || *p == '=' || *p == '\\') {
            quote = 1;
            break;
        }
    }

    if (!quote) {
        gw_buf_puts(b, v);
        return;
    }

    gw_log_quoted(b, v, 0);
}


static void
gw_log_field(gw_buf_t *b, const char *key, const char *value, int first)
{
    if (gw_log_fmt == GW_LOG_JSON) {
        if (!first) {
            gw_buf_putc(b, ',');
        }
        gw_log_quoted(b, key, 1);
        gw_buf_putc(b, ':');
        gw_log_quoted(b, value, 1);
        return;
    }

    if (!first) {
        gw_buf_putc(b, ' ');
    }
    gw_buf_puts(b, key);
    gw_buf_putc(b, '=');
    gw_log_logfmt_value(b, value);
}


void
gw_log(gw_log_level_e level, const char *msg, ...)
{
    char             ts[64];
    const char      *key, *value;
    va_list          ap;
    gw_buf_t         b;
    struct tm        tm;
    struct timeval   tv;

    if (level < gw_log_min) {
        return;
    }

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000));

    gw_buf_init(&b);

    if (gw_log_fmt == GW_LOG_JSON) {
        gw_buf_putc(&b, '{');
    }

    gw_log_field(&b, "ts", ts, 1);
    gw_log_field(&b, "level", gw_log_names[level], 0);
    gw_log_field(&b, "msg", msg, 0);

    va_start(ap, msg);
    for ( ;; ) {
        key = va_arg(ap, const char *);
        if (key == NULL) {
            break;
        }
        value = va_arg(ap, const char *);
        gw_log_field(&b, key, value ? value : "", 0);
    }
    va_end(ap);

    if (gw_log_fmt == GW_LOG_JSON) {
        gw_buf_putc(&b, '}');
    }

    gw_buf_putc(&b, '\n');
    fwrite(b.data, 1, b.len, stderr);
    fflush(stderr);

    gw_buf_free(&b);
}


const char *
gw_log_int(long long v)
{
    static char      ring[16][32];
    static unsigned  next;
    char            *p;

    p = ring[next++ % gw_countof(ring)];
    snprintf(p, sizeof(ring[0]), "%lld", v);

    return p;
}
