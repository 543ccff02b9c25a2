/*
 * ngx-gateway: the HTTPRoute rule fields about how a request reaches its
 * backends: timeouts (standard), retry and sessionPersistence
 * (experimental), decoded from the rule's JSON with the CRD's checks.
 *
 * They are decoded with the route (api/decode_route.c), but a value the
 * CRD refuses does not refuse the route: it is kept in error, and the graph
 * (graph/route_ext.c) drops only that rule, with the message.
 */

#ifndef GW_API_RULE_EXT_H
#define GW_API_RULE_EXT_H

#include <stdint.h>

#include "api/api.h"

/* A duration field that is absent. */
#define GW_DURATION_UNSET  (-1)

typedef enum {
    GW_SESSION_COOKIE = 0,
    GW_SESSION_HEADER
} gw_session_type_e;

typedef struct {
    gw_session_type_e   type;
    const char         *name;          /* sessionName, NULL when absent */
    int64_t             absolute_ms;   /* GW_DURATION_UNSET when absent */
    int64_t             idle_ms;
    int                 permanent;     /* cookieConfig.lifetimeType */
} gw_session_t;

struct gw_rule_ext_s {
    const char    *error;              /* why the CRD refuses a field, or
                                          NULL; when set, nothing else is */
    int64_t        request_ms;         /* timeouts.request; 0: disabled */
    int64_t        backend_ms;         /* timeouts.backendRequest */
    int            retry;              /* a retry block is given */
    int            attempts;           /* -1 when absent */
    int           *codes;              /* 400..599 */
    size_t         ncodes;
    int64_t        backoff_ms;
    gw_session_t  *session;            /* NULL when absent */
};

/*
 * A Gateway API Duration ("1h30m", "500ms", "0s": at most four groups of
 * 1 to 5 digits and h, m, s or ms) in milliseconds; GW_ERR when s is not
 * one.
 */
int gw_duration_parse(const char *s, int64_t *ms);

/*
 * The extension fields of rule_json (spec.rules[i] of an HTTPRoute, NULL
 * for the defaulted rule; path names it in messages) into out, allocated
 * from a.  GW_ERR with err set (the field and why) when the CRD would
 * refuse a value; out then holds only that message, in out->error.
 */
int gw_rule_ext_decode(gw_arena_t *a, const cJSON *rule_json,
    const char *path, gw_rule_ext_t *out, gw_err_t *err);

#endif /* GW_API_RULE_EXT_H */
