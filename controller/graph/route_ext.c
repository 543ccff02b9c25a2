/*
 * ngx-gateway: HTTPRoute rules[].timeouts, .retry, .sessionPersistence
 * and the protocol a rule speaks to its backends (Service port
 * appProtocol), checked against the spec and against what nginx can
 * carry.  A rule that does not pass is dropped with the reason
 * (PartiallyInvalid, or Accepted=False when no rule is left).
 */

#include <string.h>
#include <strings.h>

#include "api/rule_ext.h"
#include "graph/graph.h"

#define GW_PROTO_H2C  "kubernetes.io/h2c"
#define GW_PROTO_WS   "kubernetes.io/ws"

/*
 * The response codes nginx's proxy_next_upstream (and grpc_next_upstream)
 * can retry on.
 */
static const int  gw_retry_codes[] = { 403, 404, 429, 500, 502, 503, 504 };


const char *
gw_backend_app_protocol_check(gw_graph_t *g, const gw_svc_port_t *port)
{
    const char  *ap;

    ap = port->app_protocol;

    /*
     * No appProtocol, HTTP/1.1 ("http"), HTTPS (TLS to the backend, with
     * a BackendTLSPolicy), HTTP/2 cleartext and WebSocket over either.
     */
    if (ap == NULL || ap[0] == '\0'
        || strcasecmp(ap, "http") == 0 || strcasecmp(ap, "https") == 0
        || strcmp(ap, GW_PROTO_H2C) == 0 || strcmp(ap, GW_PROTO_WS) == 0
        || strcmp(ap, "kubernetes.io/wss") == 0)
    {
        return NULL;
    }

    return gw_arena_printf(g->arena, "appProtocol %.128s of Service port %d "
                           "is not supported for HTTPRoutes (supported: "
                           "none, http, https, kubernetes.io/h2c, "
                           "kubernetes.io/ws, kubernetes.io/wss)", ap,
                           port->port);
}


static int
gw_retry_code_ok(int code)
{
    size_t  i;

    for (i = 0; i < gw_countof(gw_retry_codes); i++) {
        if (gw_retry_codes[i] == code) {
            return 1;
        }
    }

    return 0;
}


/*
 * The protocol of the rule's usable backends: NULL (HTTP/1.1), h2c or ws;
 * *why says when they mix HTTP/2 with HTTP/1.1 (one location passes with
 * either grpc_pass or proxy_pass, not both).
 */
static const char *
gw_rule_protocol(gw_graph_t *g, const gw_grule_t *rule, const char **why)
{
    size_t                i;
    int                   h2c, other, ws;
    const char           *ap;
    const gw_gbackend_t  *b;

    h2c = 0;
    other = 0;
    ws = 0;

    for (i = 0; i < rule->nbackends; i++) {
        b = &rule->backends[i];
        if (!b->valid || b->svc_port == NULL) {
            continue;
        }

        ap = b->svc_port->app_protocol;
        if (ap != NULL && strcmp(ap, GW_PROTO_H2C) == 0) {
            h2c = 1;
        } else {
            other = 1;
            if (ap != NULL && (strcmp(ap, GW_PROTO_WS) == 0
                               || strcmp(ap, "kubernetes.io/wss") == 0))
            {
                ws = 1;
            }
        }
    }

    if (h2c && other) {
        *why = gw_arena_printf(g->arena, "backendRefs mix appProtocol %s "
                               "with HTTP/1.1 backends: not supported",
                               GW_PROTO_H2C);
        return NULL;
    }

    if (h2c) {
        return GW_PROTO_H2C;
    }

    return ws ? GW_PROTO_WS : NULL;
}


/*
 * 1 when c may be in a session cookie's name: an HTTP token character
 * (RFC 9110) but '$', '#' and '\'', which are nginx syntax.
 */
static int
gw_session_cookie_char(int c)
{
    return c != '\0'
           && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
               || (c >= '0' && c <= '9') || strchr("!%&*+-.^_`|~", c) != NULL);
}


/* 1 when c may be in a session header's name (nginx reads only these). */
static int
gw_session_header_char(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
           || (c >= '0' && c <= '9') || c == '-';
}


/*
 * Why nginx cannot carry session persistence s (at path, for messages),
 * or NULL (dataplane/session.c says how it does).  nginx keeps no
 * session state, so the timeouts it cannot put in the cookie are refused
 * rather than ignored.
 */
static const char *
gw_session_check(gw_graph_t *g, const gw_session_t *s, const char *path)
{
    const char  *p, *what;

    if (s->name != NULL) {
        if (s->name[0] == '\0') {
            return gw_arena_printf(g->arena, "%s.sessionPersistence."
                                   "sessionName: Invalid value: \"\": "
                                   "must not be empty", path);
        }

        for (p = s->name; *p; p++) {
            if (s->type == GW_SESSION_COOKIE
                ? !gw_session_cookie_char((unsigned char) *p)
                : !gw_session_header_char((unsigned char) *p))
            {
                what = (s->type == GW_SESSION_COOKIE)
                       ? "a cookie name: letters, digits and "
                         "! % & * + - . ^ _ ` | ~"
                       : "a header name: letters, digits and '-'";

                /* the name is not echoed: it may be anything */
                return gw_arena_printf(g->arena, "%s.sessionPersistence."
                                       "sessionName: Invalid value: the "
                                       "character at offset %zu cannot be "
                                       "in %s", path,
                                       (size_t) (p - s->name), what);
            }
        }
    }

    if (s->idle_ms != GW_DURATION_UNSET) {
        return gw_arena_printf(g->arena, "%s.sessionPersistence.idleTimeout:"
                               " not supported: nginx keeps no session "
                               "state", path);
    }

    if (s->absolute_ms != GW_DURATION_UNSET && !s->permanent) {
        return gw_arena_printf(g->arena, "%s.sessionPersistence."
                               "absoluteTimeout: supported only with type "
                               "Cookie and cookieConfig.lifetimeType "
                               "Permanent (the cookie's Max-Age): nginx "
                               "keeps no session state", path);
    }

    return NULL;
}


/*
 * Why nginx cannot carry the rule's extension fields (decoded in
 * api/decode_rule_ext.c, with the CRD's message when they did not
 * decode), or NULL.
 */
static const char *
gw_rule_ext_check(gw_graph_t *g, gw_grule_t *rule)
{
    size_t                i;
    const char           *why, *path;
    const gw_rule_ext_t  *ext;

    ext = rule->spec->ext;
    if (ext->error != NULL) {
        return ext->error;
    }

    path = gw_arena_printf(g->arena, "spec.rules[%zu]", rule->index);

    for (i = 0; i < ext->ncodes; i++) {
        if (!gw_retry_code_ok(ext->codes[i])) {
            return gw_arena_printf(g->arena, "retry code %d: nginx retries "
                                   "only on 403, 404, 429, 500, 502, 503 "
                                   "and 504", ext->codes[i]);
        }
    }

    if (ext->session != NULL) {
        why = gw_session_check(g, ext->session, path);
        if (why != NULL) {
            return why;
        }
    }

    why = NULL;
    rule->protocol = gw_rule_protocol(g, rule, &why);
    if (why != NULL) {
        return why;
    }

    rule->ext = ext;

    return NULL;
}


void
gw_route_ext_rules(gw_graph_t *g, gw_groute_t *r)
{
    size_t       i;
    gw_grule_t  *rule;

    for (i = 0; i < r->nrules; i++) {
        rule = &r->rules[i];
        if (!rule->valid) {
            continue;
        }

        rule->invalid_reason = gw_rule_ext_check(g, rule);
        if (rule->invalid_reason != NULL) {
            rule->valid = 0;
            r->nvalid_rules--;
            gw_route_drop_rule(g, r, rule);
        }
    }
}
