/*
 * ngx-gateway: status output: YAML (as kubectl writes it) and a
 * `kubectl describe`-like text, both from the status List.
 *
 * We write YAML ourselves rather than through libyaml's emitter: the
 * documents are small trees of maps, lists and scalars, and kubectl's
 * layout (list items at the key's indentation, "- " style, quotes only
 * when needed) takes less code by hand than by emitter events.
 */

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "status/status.h"


/* YAML */

static int
gw_yaml_needs_quotes(const char *s)
{
    char          *end;
    size_t         i, len;
    static const char  *words[] = {
        "true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"
    };

    len = strlen(s);

    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ') {
        return 1;
    }

    if ((s[0] == '-' || s[0] == '?') && (s[1] == ' ' || s[1] == '\0')) {
        return 1;
    }

    for (i = 0; i < len; i++) {
        if (strchr(":#{}[],&*!|>'\"%@`\\", s[i]) != NULL
            || (unsigned char) s[i] < 0x20 || s[i] == 0x7f)
        {
            return 1;
        }
    }

    for (i = 0; i < gw_countof(words); i++) {
        if (strcasecmp(s, words[i]) == 0) {
            return 1;
        }
    }

    (void) strtod(s, &end);
    if (end != s && *end == '\0') {
        return 1;
    }

    return 0;
}


static void
gw_yaml_string(gw_buf_t *out, const char *s)
{
    const unsigned char  *p;

    if (!gw_yaml_needs_quotes(s)) {
        gw_buf_puts(out, s);
        return;
    }

    gw_buf_putc(out, '"');

    for (p = (const unsigned char *) s; *p != '\0'; p++) {
        switch (*p) {
        case '"':
            gw_buf_puts(out, "\\\"");
            break;
        case '\\':
            gw_buf_puts(out, "\\\\");
            break;
        case '\n':
            gw_buf_puts(out, "\\n");
            break;
        case '\t':
            gw_buf_puts(out, "\\t");
            break;
        case '\r':
            gw_buf_puts(out, "\\r");
            break;
        default:
            if (*p < 0x20 || *p == 0x7f) {
                gw_buf_printf(out, "\\x%02x", *p);
            } else {
                gw_buf_putc(out, (char) *p);
            }
        }
    }

    gw_buf_putc(out, '"');
}


static void
gw_yaml_number(gw_buf_t *out, double d)
{
    if (d != d || d - d != 0) {
        gw_buf_puts(out, "null");       /* NaN or infinite */

    } else if (d > -9007199254740992.0 && d < 9007199254740992.0
               && d == (double) (long long) d)
    {
        gw_buf_printf(out, "%lld", (long long) d);

    } else {
        gw_buf_printf(out, "%.17g", d);
    }
}


static void
gw_yaml_indent(gw_buf_t *out, int indent)
{
    int  i;

    for (i = 0; i < indent; i++) {
        gw_buf_putc(out, ' ');
    }
}


static void gw_yaml_map(gw_buf_t *out, const cJSON *map, int indent,
    int inline_first);
static void gw_yaml_list(gw_buf_t *out, const cJSON *list, int indent);


/* A scalar, or "{}"/"[]" for an empty container. */
static int
gw_yaml_scalar(gw_buf_t *out, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        gw_yaml_string(out, v->valuestring);

    } else if (cJSON_IsNumber(v)) {
        gw_yaml_number(out, v->valuedouble);

    } else if (cJSON_IsTrue(v)) {
        gw_buf_puts(out, "true");

    } else if (cJSON_IsFalse(v)) {
        gw_buf_puts(out, "false");

    } else if (cJSON_IsObject(v) && v->child == NULL) {
        gw_buf_puts(out, "{}");

    } else if (cJSON_IsArray(v) && v->child == NULL) {
        gw_buf_puts(out, "[]");

    } else if (cJSON_IsObject(v) || cJSON_IsArray(v)) {
        return 0;

    } else {
        gw_buf_puts(out, "null");
    }

    return 1;
}


/* The value of a "key:" whose key is written at indent. */
static void
gw_yaml_value(gw_buf_t *out, const cJSON *v, int indent)
{
    gw_buf_putc(out, ':');

    if (cJSON_IsObject(v) && v->child != NULL) {
        gw_buf_putc(out, '\n');
        gw_yaml_map(out, v, indent + 2, 0);

    } else if (cJSON_IsArray(v) && v->child != NULL) {
        gw_buf_putc(out, '\n');
        gw_yaml_list(out, v, indent);

    } else {
        gw_buf_putc(out, ' ');
        (void) gw_yaml_scalar(out, v);
        gw_buf_putc(out, '\n');
    }
}


static void
gw_yaml_map(gw_buf_t *out, const cJSON *map, int indent, int inline_first)
{
    const cJSON  *e;

    cJSON_ArrayForEach(e, map) {
        if (!inline_first) {
            gw_yaml_indent(out, indent);
        }
        inline_first = 0;

        gw_yaml_string(out, e->string ? e->string : "");
        gw_yaml_value(out, e, indent);
    }
}


static void
gw_yaml_list(gw_buf_t *out, const cJSON *list, int indent)
{
    const cJSON  *e;

    cJSON_ArrayForEach(e, list) {
        gw_yaml_indent(out, indent);

        if (cJSON_IsObject(e) && e->child != NULL) {
            gw_buf_puts(out, "- ");
            gw_yaml_map(out, e, indent + 2, 1);

        } else if (cJSON_IsArray(e) && e->child != NULL) {
            gw_buf_puts(out, "-\n");
            gw_yaml_list(out, e, indent + 2);

        } else {
            gw_buf_puts(out, "- ");
            (void) gw_yaml_scalar(out, e);
            gw_buf_putc(out, '\n');
        }
    }
}


void
gw_status_write_yaml(gw_buf_t *out, const cJSON *item)
{
    if (cJSON_IsObject(item) && item->child != NULL) {
        gw_yaml_map(out, item, 0, 0);

    } else if (cJSON_IsArray(item) && item->child != NULL) {
        gw_yaml_list(out, item, 0);

    } else {
        (void) gw_yaml_scalar(out, item);
        gw_buf_putc(out, '\n');
    }
}


/* describe */

static const char *
gw_desc_str(const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : "";
}


/* A number, or "" when absent, as text in buf. */
static const char *
gw_desc_num(char *buf, size_t size, const cJSON *obj, const char *key)
{
    const cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v)) {
        return "";
    }

    snprintf(buf, size, "%lld", (long long) v->valuedouble);

    return buf;
}


/* "Label:" padded to width, then the value. */
static void
gw_desc_field(gw_buf_t *out, int indent, int width, const char *label,
    const char *value)
{
    gw_yaml_indent(out, indent);
    gw_buf_printf(out, "%s:", label);

    if (value == NULL) {
        gw_buf_putc(out, '\n');
        return;
    }

    gw_buf_printf(out, "%*s%s\n", width - (int) strlen(label) - 1, "",
                  value);
}


static void
gw_desc_conds(gw_buf_t *out, const cJSON *conds, int indent)
{
    int           i, w[4];
    char          gen[32];
    const char   *col[5];
    const cJSON  *c;
    static const char  *heads[] = {
        "Type", "Status", "Reason", "Observed Generation", "Message"
    };
    static const char  *rules[] = {
        "----", "------", "------", "-------------------", "-------"
    };

    gw_yaml_indent(out, indent);

    if (cJSON_GetArraySize(conds) == 0) {
        gw_buf_puts(out, "Conditions:  <none>\n");
        return;
    }

    gw_buf_puts(out, "Conditions:\n");

    for (i = 0; i < 4; i++) {
        w[i] = (int) strlen(heads[i]);
    }

    cJSON_ArrayForEach(c, conds) {
        col[0] = gw_desc_str(c, "type");
        col[1] = gw_desc_str(c, "status");
        col[2] = gw_desc_str(c, "reason");
        col[3] = gw_desc_num(gen, sizeof(gen), c, "observedGeneration");

        for (i = 0; i < 4; i++) {
            if ((int) strlen(col[i]) > w[i]) {
                w[i] = (int) strlen(col[i]);
            }
        }
    }

    gw_yaml_indent(out, indent + 2);
    gw_buf_printf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", w[0], heads[0],
                  w[1], heads[1], w[2], heads[2], w[3], heads[3], heads[4]);
    gw_yaml_indent(out, indent + 2);
    gw_buf_printf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", w[0], rules[0],
                  w[1], rules[1], w[2], rules[2], w[3], rules[3], rules[4]);

    cJSON_ArrayForEach(c, conds) {
        col[0] = gw_desc_str(c, "type");
        col[1] = gw_desc_str(c, "status");
        col[2] = gw_desc_str(c, "reason");
        col[3] = gw_desc_num(gen, sizeof(gen), c, "observedGeneration");
        col[4] = gw_desc_str(c, "message");

        gw_yaml_indent(out, indent + 2);
        gw_buf_printf(out, "%-*s  %-*s  %-*s  %-*s  %s\n", w[0], col[0],
                      w[1], col[1], w[2], col[2], w[3], col[3], col[4]);
    }
}


static void
gw_desc_gateway(gw_buf_t *out, const cJSON *st)
{
    char          num[32];
    gw_buf_t      kinds;
    const cJSON  *as, *a, *l, *k, *ls;

    gw_buf_init(&kinds);

    as = cJSON_GetObjectItemCaseSensitive(st, "addresses");
    if (cJSON_GetArraySize(as) > 0) {
        gw_buf_puts(out, "  Addresses:\n");
        cJSON_ArrayForEach(a, as) {
            gw_desc_field(out, 4, 8, "Type", gw_desc_str(a, "type"));
            gw_desc_field(out, 4, 8, "Value", gw_desc_str(a, "value"));
        }
    }

    gw_desc_conds(out, cJSON_GetObjectItemCaseSensitive(st, "conditions"), 2);

    ls = cJSON_GetObjectItemCaseSensitive(st, "listeners");
    if (cJSON_GetArraySize(ls) == 0) {
        gw_buf_puts(out, "  Listeners:  <none>\n");
        goto out;
    }

    gw_buf_puts(out, "  Listeners:\n");

    cJSON_ArrayForEach(l, ls) {
        gw_buf_reset(&kinds);
        cJSON_ArrayForEach(k,
                           cJSON_GetObjectItemCaseSensitive(l,
                                                            "supportedKinds"))
        {
            if (kinds.len > 0) {
                gw_buf_puts(&kinds, ", ");
            }
            gw_buf_puts(&kinds, gw_desc_str(k, "kind"));
        }

        gw_desc_field(out, 4, 18, "Name", gw_desc_str(l, "name"));
        gw_desc_field(out, 4, 18, "Attached Routes",
                      gw_desc_num(num, sizeof(num), l, "attachedRoutes"));
        gw_desc_field(out, 4, 18, "Supported Kinds",
                      kinds.len > 0 ? kinds.data : "<none>");
        gw_desc_conds(out, cJSON_GetObjectItemCaseSensitive(l, "conditions"),
                      4);
    }

out:

    gw_buf_free(&kinds);
}


/* ns: the route's namespace, where a parentRef without one points */
static void
gw_desc_route(gw_buf_t *out, const cJSON *st, const char *ns)
{
    char          num[32];
    gw_buf_t      ref;
    const cJSON  *p, *pr, *ps;

    gw_buf_init(&ref);

    ps = cJSON_GetObjectItemCaseSensitive(st, "parents");
    if (cJSON_GetArraySize(ps) == 0) {
        gw_buf_puts(out, "  Parents:  <none>\n");
        goto out;
    }

    gw_buf_puts(out, "  Parents:\n");

    cJSON_ArrayForEach(p, ps) {
        pr = cJSON_GetObjectItemCaseSensitive(p, "parentRef");

        gw_buf_reset(&ref);
        gw_buf_printf(&ref, "%s %s/%s", gw_desc_str(pr, "kind"),
                      cJSON_IsString(cJSON_GetObjectItemCaseSensitive(
                          pr, "namespace"))
                      ? gw_desc_str(pr, "namespace") : ns,
                      gw_desc_str(pr, "name"));

        if (cJSON_IsString(cJSON_GetObjectItemCaseSensitive(pr,
                                                            "sectionName")))
        {
            gw_buf_printf(&ref, " (sectionName %s",
                          gw_desc_str(pr, "sectionName"));
            if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(pr, "port"))) {
                gw_buf_printf(&ref, ", port %s",
                              gw_desc_num(num, sizeof(num), pr, "port"));
            }
            gw_buf_putc(&ref, ')');

        } else if (cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(pr,
                                                                   "port")))
        {
            gw_buf_printf(&ref, " (port %s)",
                          gw_desc_num(num, sizeof(num), pr, "port"));
        }

        gw_desc_field(out, 4, 18, "Parent Ref", ref.data);
        gw_desc_field(out, 4, 18, "Controller Name",
                      gw_desc_str(p, "controllerName"));
        gw_desc_conds(out, cJSON_GetObjectItemCaseSensitive(p, "conditions"),
                      4);
    }

out:

    gw_buf_free(&ref);
}


/* GatewayClass supportedFeatures, comma-separated. */
static void
gw_desc_features(gw_buf_t *out, const cJSON *features)
{
    gw_buf_t      names;
    const cJSON  *f;

    if (cJSON_GetArraySize(features) == 0) {
        return;
    }

    gw_buf_init(&names);
    cJSON_ArrayForEach(f, features) {
        gw_buf_printf(&names, "%s%s", names.len ? ", " : "",
                      gw_desc_str(f, "name"));
    }

    gw_desc_field(out, 2, 20, "Supported Features", names.data);
    gw_buf_free(&names);
}


void
gw_status_write_describe(gw_buf_t *out, const cJSON *list)
{
    int           first;
    char          num[32];
    const char   *kind;
    const cJSON  *item, *meta, *st;

    first = 1;

    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(list, "items")) {
        if (!first) {
            gw_buf_putc(out, '\n');
        }
        first = 0;

        meta = cJSON_GetObjectItemCaseSensitive(item, "metadata");
        st = cJSON_GetObjectItemCaseSensitive(item, "status");
        kind = gw_desc_str(item, "kind");

        gw_desc_field(out, 0, 14, "Name", gw_desc_str(meta, "name"));
        if (gw_desc_str(meta, "namespace")[0] != '\0') {
            gw_desc_field(out, 0, 14, "Namespace",
                          gw_desc_str(meta, "namespace"));
        }
        gw_desc_field(out, 0, 14, "Kind", kind);
        gw_desc_field(out, 0, 14, "Generation",
                      gw_desc_num(num, sizeof(num), meta, "generation"));
        gw_desc_field(out, 0, 14, "Status", NULL);

        if (strcmp(kind, "Gateway") == 0) {
            gw_desc_gateway(out, st);

        } else if (cJSON_GetObjectItemCaseSensitive(st, "parents") != NULL) {
            /* every route kind: HTTPRoute, GRPCRoute, TLSRoute, ... */
            gw_desc_route(out, st, gw_desc_str(meta, "namespace"));

        } else {
            gw_desc_conds(out,
                          cJSON_GetObjectItemCaseSensitive(st, "conditions"),
                          2);
            gw_desc_features(out, cJSON_GetObjectItemCaseSensitive(
                                      st, "supportedFeatures"));
        }
    }
}


void
gw_status_write_reload(gw_buf_t *out, const cJSON *reload)
{
    char          num[32];
    const cJSON  *ok;

    ok = cJSON_GetObjectItemCaseSensitive(reload, "ok");

    gw_buf_puts(out, "Name:         nginx\n");
    gw_buf_puts(out, "Kind:         DataPlane\n");
    gw_desc_field(out, 0, 14, "Generation",
                  gw_desc_num(num, sizeof(num), reload, "generation"));
    gw_buf_puts(out, "Last Reload:\n");
    gw_desc_field(out, 2, 14, "Time", gw_desc_str(reload, "time"));
    gw_desc_field(out, 2, 14, "Result", cJSON_IsTrue(ok)
                  ? "live" : "refused: the previous configuration serves");
    if (cJSON_IsTrue(ok)) {
        gw_desc_field(out, 2, 14, "Duration ms",
                      gw_desc_num(num, sizeof(num), reload, "reloadMs"));
    } else {
        gw_desc_field(out, 2, 14, "Message", gw_desc_str(reload, "message"));
    }
    gw_buf_putc(out, '\n');
}
