/*
 * ngx-gateway: typing of YAML scalars as go-yaml v2 does it (YAML 1.1
 * resolution of plain scalars, explicit tags); see yaml.h for the rules.
 */

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "source/yaml_int.h"


typedef enum {
    GW_YAML_STR = 0,
    GW_YAML_NULL,
    GW_YAML_BOOL,
    GW_YAML_INT,
    GW_YAML_FLOAT
} gw_yaml_kind_e;


static const char  *gw_yaml_trues[] = {
    "y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"
};

static const char  *gw_yaml_falses[] = {
    "n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"
};

static const char  *gw_yaml_nulls[] = { "~", "null", "Null", "NULL" };

/* explicit tags that change how a scalar is read */
static const struct {
    const char      *tag;
    const char      *name;
    gw_yaml_kind_e   kind;
} gw_yaml_tags[] = {
    { "tag:yaml.org,2002:int",   "!!int",   GW_YAML_INT },
    { "tag:yaml.org,2002:float", "!!float", GW_YAML_FLOAT },
    { "tag:yaml.org,2002:bool",  "!!bool",  GW_YAML_BOOL },
    { "tag:yaml.org,2002:null",  "!!null",  GW_YAML_NULL }
};


static int
gw_yaml_in(const char *s, const char **list, size_t n)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (strcmp(s, list[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


/*
 * strconv.ParseInt(s, 0, 64) and ParseUint(s, 0, 64) as go-yaml v2 uses
 * them: an optional sign, then 0x / 0o / 0b or a leading 0 for octal.
 * Anything that does not fit 64 bits fails (and may still be a float).
 */
static int
gw_yaml_parse_int(const char *s, double *out)
{
    int          neg, d;
    unsigned     base;
    uint64_t     v;
    const char  *p;

    p = s;
    neg = 0;
    base = 10;
    v = 0;

    if (*p == '+' || *p == '-') {
        neg = (*p == '-');
        p++;
    }

    if (p[0] == '0' && p[1] != '\0') {
        switch (p[1]) {
        case 'x': case 'X': base = 16; p += 2; break;
        case 'o': case 'O': base = 8; p += 2; break;
        case 'b': case 'B': base = 2; p += 2; break;
        default: base = 8; p += 1; break;
        }
    }

    if (*p == '\0') {
        return 0;
    }

    for ( /* void */ ; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            d = *p - '0';
        } else if (*p >= 'a' && *p <= 'f') {
            d = *p - 'a' + 10;
        } else if (*p >= 'A' && *p <= 'F') {
            d = *p - 'A' + 10;
        } else {
            return 0;
        }

        if ((unsigned) d >= base) {
            return 0;
        }

        if (v > (UINT64_MAX - (uint64_t) d) / base) {
            return 0;
        }

        v = v * base + (uint64_t) d;
    }

    if (neg && v > (uint64_t) INT64_MAX + 1) {
        return 0;
    }

    *out = (v == 0) ? 0.0 : (neg ? -(double) v : (double) v);

    return 1;
}


/* go-yaml v2: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static int
gw_yaml_is_float(const char *p)
{
    if (*p == '+' || *p == '-') {
        p++;
    }

    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char) *p)) {
            return 0;
        }
        while (isdigit((unsigned char) *p)) {
            p++;
        }

    } else {
        if (!isdigit((unsigned char) *p)) {
            return 0;
        }
        while (isdigit((unsigned char) *p)) {
            p++;
        }
        if (*p == '.') {
            p++;
            while (isdigit((unsigned char) *p)) {
                p++;
            }
        }
    }

    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        if (!isdigit((unsigned char) *p)) {
            return 0;
        }
        while (isdigit((unsigned char) *p)) {
            p++;
        }
    }

    return *p == '\0';
}


static int
gw_yaml_parse_float(const char *s, double *out)
{
    char    *end;
    double   v;

    if (!gw_yaml_is_float(s)) {
        return 0;
    }

    v = strtod(s, &end);
    if (*end != '\0' || isinf(v) || isnan(v)) {
        return 0;
    }

    *out = v;

    return 1;
}


/* The type a plain scalar resolves to, as go-yaml v2's resolve(). */
static gw_yaml_kind_e
gw_yaml_resolve(const char *s, size_t len, int *b, double *num)
{
    int              ok;
    char            *plain, *q;
    const char      *p;
    gw_yaml_kind_e   kind;

    if (len == 0) {
        return GW_YAML_NULL;
    }

    if (memchr(s, '\0', len) != NULL) {
        return GW_YAML_STR;
    }

    if (gw_yaml_in(s, gw_yaml_trues, gw_countof(gw_yaml_trues))) {
        *b = 1;
        return GW_YAML_BOOL;
    }

    if (gw_yaml_in(s, gw_yaml_falses, gw_countof(gw_yaml_falses))) {
        *b = 0;
        return GW_YAML_BOOL;
    }

    if (gw_yaml_in(s, gw_yaml_nulls, gw_countof(gw_yaml_nulls))) {
        return GW_YAML_NULL;
    }

    if (s[0] == '.') {
        return gw_yaml_parse_float(s, num) ? GW_YAML_FLOAT : GW_YAML_STR;
    }

    if (!isdigit((unsigned char) s[0]) && s[0] != '+' && s[0] != '-') {
        return GW_YAML_STR;
    }

    /* underscores are digit separators */

    plain = gw_xmalloc(len + 1);
    q = plain;
    for (p = s; *p; p++) {
        if (*p != '_') {
            *q++ = *p;
        }
    }
    *q = '\0';

    kind = GW_YAML_STR;

    ok = gw_yaml_parse_int(plain, num);
    if (ok) {
        kind = GW_YAML_INT;

    } else if (gw_yaml_parse_float(plain, num)) {
        kind = GW_YAML_FLOAT;
    }

    free(plain);

    return kind;
}


cJSON *
gw_yaml_scalar(gw_yaml_parser_t *p, yaml_event_t *ev)
{
    int              b;
    size_t           i;
    double           num;
    const char      *s, *tag, *name;
    gw_yaml_kind_e   kind, want;

    s = (const char *) ev->data.scalar.value;
    tag = (const char *) ev->data.scalar.tag;
    want = GW_YAML_STR;
    name = NULL;
    b = 0;
    num = 0;

    if (tag != NULL) {
        for (i = 0; i < gw_countof(gw_yaml_tags); i++) {
            if (strcmp(tag, gw_yaml_tags[i].tag) == 0) {
                want = gw_yaml_tags[i].kind;
                name = gw_yaml_tags[i].name;
                break;
            }
        }

        if (name == NULL) {
            /* !!str, "!", !!binary, !!timestamp, local and unknown tags */
            return cJSON_CreateString(s);
        }

    } else if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE) {
        return cJSON_CreateString(s);
    }

    kind = gw_yaml_resolve(s, ev->data.scalar.length, &b, &num);

    if (name != NULL && kind != want
        && !(want == GW_YAML_FLOAT && kind == GW_YAML_INT))
    {
        gw_yaml_fail(p, ev->start_mark, "cannot decode `%.64s` as a %s", s,
                     name);
        return NULL;
    }

    switch (kind) {
    case GW_YAML_NULL:
        return cJSON_CreateNull();
    case GW_YAML_BOOL:
        return cJSON_CreateBool(b);
    case GW_YAML_INT:
    case GW_YAML_FLOAT:
        return cJSON_CreateNumber(num);
    default:
        return cJSON_CreateString(s);
    }
}
