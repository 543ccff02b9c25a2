/*
 * ngx-gateway: decoding HTTPRoute rules[].timeouts, .retry and
 * .sessionPersistence with the checks of the v1.6.1 CRD (patterns,
 * ranges, enums and its CEL rules).
 */

#include <string.h>

#include "api/decode.h"
#include "api/rule_ext.h"

/* The CRD's Duration pattern: ^([0-9]{1,5}(h|m|s|ms)){1,4}$ */
#define GW_DURATION_DIGITS  5
#define GW_DURATION_GROUPS  4

#define GW_SESSION_NAME_MAX  128
#define GW_RETRY_CODES_MAX   64


int
gw_duration_parse(const char *s, int64_t *ms)
{
    int64_t      total, n, unit;
    size_t       groups, digits;
    const char  *p;

    total = 0;
    groups = 0;
    p = s;

    while (*p != '\0') {
        n = 0;
        digits = 0;

        while (*p >= '0' && *p <= '9') {
            n = n * 10 + (*p++ - '0');
            digits++;
        }

        if (digits == 0 || digits > GW_DURATION_DIGITS) {
            return GW_ERR;
        }

        if (p[0] == 'm' && p[1] == 's') {
            unit = 1;
            p += 2;
        } else if (*p == 'h') {
            unit = 3600 * 1000;
            p++;
        } else if (*p == 'm') {
            unit = 60 * 1000;
            p++;
        } else if (*p == 's') {
            unit = 1000;
            p++;
        } else {
            return GW_ERR;
        }

        total += n * unit;
        groups++;

        if (groups > GW_DURATION_GROUPS) {
            return GW_ERR;
        }
    }

    if (groups == 0) {
        return GW_ERR;
    }

    *ms = total;

    return GW_OK;
}


/* An optional Duration field: GW_DURATION_UNSET when absent. */
static int
gw_dec_duration(gw_dec_t *d, const cJSON *obj, const char *key,
    const char *path, int64_t *out)
{
    const char  *s;

    *out = GW_DURATION_UNSET;

    if (gw_dec_str(d, obj, key, path, NULL, &s) != GW_OK) {
        return GW_ERR;
    }

    if (s == NULL) {
        return GW_OK;
    }

    if (gw_duration_parse(s, out) != GW_OK) {
        gw_err_set(d->err, "%s.%s: Invalid value: \"%.64s\": should match "
                   "'^([0-9]{1,5}(h|m|s|ms)){1,4}$'", path, key, s);
        return GW_ERR;
    }

    return GW_OK;
}


static int
gw_decode_timeouts(gw_dec_t *d, const cJSON *rule, const char *p,
    gw_rule_ext_t *out)
{
    const char   *q;
    const cJSON  *t;

    out->request_ms = GW_DURATION_UNSET;
    out->backend_ms = GW_DURATION_UNSET;

    if (gw_dec_object(d, rule, "timeouts", p, &t) != GW_OK) {
        return GW_ERR;
    }

    if (t == NULL) {
        return GW_OK;
    }

    q = gw_dec_path(d, p, "timeouts", -1);

    if (gw_dec_duration(d, t, "request", q, &out->request_ms) != GW_OK
        || gw_dec_duration(d, t, "backendRequest", q, &out->backend_ms)
           != GW_OK)
    {
        return GW_ERR;
    }

    /* CEL: backendRequest <= request unless request is 0s (disabled) */
    if (out->request_ms > 0 && out->backend_ms > out->request_ms) {
        gw_err_set(d->err, "%s: Invalid value: backendRequest timeout "
                   "cannot be longer than request timeout", q);
        return GW_ERR;
    }

    return GW_OK;
}


static int
gw_decode_retry(gw_dec_t *d, const cJSON *rule, const char *p,
    gw_rule_ext_t *out)
{
    size_t        i, j;
    const char   *q;
    const cJSON  *r, *codes, *it;

    out->attempts = -1;
    out->backoff_ms = GW_DURATION_UNSET;

    if (gw_dec_object(d, rule, "retry", p, &r) != GW_OK) {
        return GW_ERR;
    }

    if (r == NULL) {
        return GW_OK;
    }

    out->retry = 1;
    q = gw_dec_path(d, p, "retry", -1);

    if (gw_dec_int(d, r, "attempts", q, 1, 1000000, -1, &out->attempts)
            != GW_OK
        || gw_dec_duration(d, r, "backoff", q, &out->backoff_ms) != GW_OK
        || gw_dec_array(d, r, "codes", q, GW_RETRY_CODES_MAX, &codes,
                        &out->ncodes) != GW_OK)
    {
        return GW_ERR;
    }

    out->codes = gw_arena_alloc(d->arena, (out->ncodes + 1) * sizeof(int));

    i = 0;
    cJSON_ArrayForEach(it, codes) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 400
            || it->valuedouble > 599
            || it->valuedouble != (double) (int) it->valuedouble)
        {
            gw_err_set(d->err, "%s.codes[%zu]: Invalid value: must be an "
                       "integer between 400 and 599", q, i);
            return GW_ERR;
        }

        out->codes[i] = (int) it->valuedouble;

        /* x-kubernetes-list-type: set */
        for (j = 0; j < i; j++) {
            if (out->codes[j] == out->codes[i]) {
                gw_err_set(d->err, "%s.codes[%zu]: Duplicate value: %d", q,
                           i, out->codes[i]);
                return GW_ERR;
            }
        }
        i++;
    }

    return GW_OK;
}


static int
gw_decode_session(gw_dec_t *d, const cJSON *rule, const char *p,
    gw_rule_ext_t *out)
{
    const char    *q, *type, *lifetime;
    const cJSON   *sp, *cc;
    gw_session_t  *s;

    if (gw_dec_object(d, rule, "sessionPersistence", p, &sp) != GW_OK) {
        return GW_ERR;
    }

    if (sp == NULL) {
        return GW_OK;
    }

    q = gw_dec_path(d, p, "sessionPersistence", -1);
    s = gw_arena_alloc(d->arena, sizeof(gw_session_t));
    s->idle_ms = GW_DURATION_UNSET;

    if (gw_dec_str(d, sp, "type", q, "Cookie", &type) != GW_OK
        || gw_dec_str(d, sp, "sessionName", q, NULL, &s->name) != GW_OK
        || gw_dec_duration(d, sp, "absoluteTimeout", q, &s->absolute_ms)
           != GW_OK
        || gw_dec_duration(d, sp, "idleTimeout", q, &s->idle_ms) != GW_OK
        || gw_dec_object(d, sp, "cookieConfig", q, &cc) != GW_OK)
    {
        return GW_ERR;
    }

    if (strcmp(type, "Cookie") == 0) {
        s->type = GW_SESSION_COOKIE;
    } else if (strcmp(type, "Header") == 0) {
        s->type = GW_SESSION_HEADER;
    } else {
        gw_err_set(d->err, "%s.type: Unsupported value: \"%.64s\": "
                   "supported values: \"Cookie\", \"Header\"", q, type);
        return GW_ERR;
    }

    if (s->name != NULL && strlen(s->name) > GW_SESSION_NAME_MAX) {
        gw_err_set(d->err, "%s.sessionName: Too long: may not be more than "
                   "%d bytes", q, GW_SESSION_NAME_MAX);
        return GW_ERR;
    }

    if (cc != NULL) {
        if (s->type != GW_SESSION_COOKIE) {
            gw_err_set(d->err, "%s: Invalid value: cookieConfig can only "
                       "be set with type Cookie", q);
            return GW_ERR;
        }

        if (gw_dec_str(d, cc, "lifetimeType", q, "Session", &lifetime)
            != GW_OK)
        {
            return GW_ERR;
        }

        if (strcmp(lifetime, "Permanent") == 0) {
            s->permanent = 1;
        } else if (strcmp(lifetime, "Session") != 0) {
            gw_err_set(d->err, "%s.cookieConfig.lifetimeType: Unsupported "
                       "value: \"%.64s\": supported values: \"Permanent\", "
                       "\"Session\"", q, lifetime);
            return GW_ERR;
        }
    }

    if (s->permanent && s->absolute_ms == GW_DURATION_UNSET) {
        gw_err_set(d->err, "%s: Invalid value: AbsoluteTimeout must be "
                   "specified when cookie lifetimeType is Permanent", q);
        return GW_ERR;
    }

    out->session = s;

    return GW_OK;
}


int
gw_rule_ext_decode(gw_arena_t *a, const cJSON *rule_json, const char *path,
    gw_rule_ext_t *out, gw_err_t *err)
{
    gw_dec_t  d;

    memset(out, 0, sizeof(gw_rule_ext_t));
    d.arena = a;
    d.err = err;

    if (gw_decode_timeouts(&d, rule_json, path, out) != GW_OK
        || gw_decode_retry(&d, rule_json, path, out) != GW_OK
        || gw_decode_session(&d, rule_json, path, out) != GW_OK)
    {
        memset(out, 0, sizeof(gw_rule_ext_t));
        out->error = gw_arena_strdup(a, err->msg);
        return GW_ERR;
    }

    return GW_OK;
}
