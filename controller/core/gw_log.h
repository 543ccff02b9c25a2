/*
 * Structured logging: one line per event, logfmt by default, JSON on
 * request.  Fields are given as alternating key and value strings,
 * terminated by NULL:
 *
 *   gw_log(GW_LOG_INFO, "reloaded", "generation", "3", NULL);
 *
 * Values are quoted as the format needs; keys must be plain words.
 */

#ifndef GW_LOG_H
#define GW_LOG_H

#include "gw_core.h"

typedef enum {
    GW_LOG_DEBUG = 0,
    GW_LOG_INFO,
    GW_LOG_WARN,
    GW_LOG_ERROR
} gw_log_level_e;

typedef enum {
    GW_LOG_LOGFMT = 0,
    GW_LOG_JSON
} gw_log_format_e;

void gw_log_setup(gw_log_level_e level, gw_log_format_e format);
int gw_log_parse_level(const char *s, gw_log_level_e *level);

void gw_log(gw_log_level_e level, const char *msg, ...)
    __attribute__((sentinel));


/* Formats a number for a log field (a small ring of static buffers). */
const char *gw_log_int(long long v);

#endif /* GW_LOG_H */
