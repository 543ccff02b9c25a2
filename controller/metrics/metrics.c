/*
 * ngx-gateway: the Prometheus metrics registry and its text exposition
 * (format 0.0.4).
 *
 * Each family owns an arena holding its series and their index, so that
 * gw_metric_clear() gives everything back in one call.  A series is found
 * by a key made of its label values, each prefixed with its length, so
 * that no value can make two series collide.
 */

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_arena.h"
#include "core/gw_log.h"
#include "core/gw_map.h"
#include "metrics/metrics.h"

#define GW_METRIC_MAX_LABELS  8


typedef struct {
    const char  **values;       /* one per label */
    double        value;        /* counter, gauge; histogram: the sum */
    uint64_t      count;        /* histogram: observations */
    uint64_t     *buckets;      /* histogram: per bound, not cumulative */
} gw_series_t;


struct gw_metric_s {
    gw_metric_type_e   type;
    const char        *name;
    const char        *help;
    const char       **labels;
    size_t             nlabels;
    double            *bounds;
    size_t             nbounds;
    gw_metrics_t      *reg;
    gw_arena_t         arena;       /* the series and their index */
    gw_map_t           index;       /* key -> gw_series_t */
    gw_ptrs_t          series;      /* in first-use order */
};


typedef struct {
    gw_metrics_collect_pt   collect;
    void                   *data;
} gw_collector_t;


struct gw_metrics_s {
    gw_arena_t   arena;             /* families and collectors */
    gw_ptrs_t    metrics;           /* in registration order */
    gw_ptrs_t    collectors;
    gw_buf_t     key;               /* scratch for series keys */
};


static const char  *gw_metric_type_names[] = {
    "counter", "gauge", "histogram"
};

static const char  *gw_histogram_suffixes[] = { "_bucket", "_sum", "_count" };


gw_metrics_t *
gw_metrics_new(void)
{
    gw_metrics_t  *reg;

    reg = gw_xcalloc(1, sizeof(gw_metrics_t));
    gw_arena_init(&reg->arena);
    gw_buf_init(&reg->key);

    return reg;
}


void
gw_metrics_free(gw_metrics_t *reg)
{
    size_t        i;
    gw_metric_t  *m;

    if (reg == NULL) {
        return;
    }

    for (i = 0; i < reg->metrics.n; i++) {
        m = reg->metrics.items[i];
        gw_arena_release(&m->arena);
    }

    gw_buf_free(&reg->key);
    gw_arena_release(&reg->arena);
    free(reg);
}


/* [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, the same without ':' for labels */
static int
gw_metrics_name_ok(const char *s, int colon)
{
    const char  *p;

    if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9')) {
        return 0;
    }

    for (p = s; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
              || (*p >= '0' && *p <= '9') || *p == '_'
              || (colon && *p == ':')))
        {
            return 0;
        }
    }

    return 1;
}


/* Whether the samples of m use name (a histogram's carry suffixes). */
static int
gw_metric_uses(const gw_metric_t *m, const char *name)
{
    size_t  i, n;

    if (strcmp(m->name, name) == 0) {
        return 1;
    }

    if (m->type != GW_METRIC_HISTOGRAM) {
        return 0;
    }

    n = strlen(m->name);
    if (strncmp(m->name, name, n) != 0) {
        return 0;
    }

    for (i = 0; i < gw_countof(gw_histogram_suffixes); i++) {
        if (strcmp(name + n, gw_histogram_suffixes[i]) == 0) {
            return 1;
        }
    }

    return 0;
}


static int
gw_metrics_name_taken(const gw_metrics_t *reg, const char *name)
{
    size_t  i;

    for (i = 0; i < reg->metrics.n; i++) {
        if (gw_metric_uses(reg->metrics.items[i], name)) {
            return 1;
        }
    }

    return 0;
}


static int
gw_metrics_check_name(const gw_metrics_t *reg, gw_metric_type_e type,
    const char *name, gw_err_t *err)
{
    int       taken;
    size_t    i;
    gw_buf_t  derived;

    if (!gw_metrics_name_ok(name, 1)) {
        gw_err_set(err, "invalid metric name \"%s\"", name ? name : "");
        return GW_ERR;
    }

    taken = gw_metrics_name_taken(reg, name);

    gw_buf_init(&derived);
    for (i = 0;
         !taken && type == GW_METRIC_HISTOGRAM
         && i < gw_countof(gw_histogram_suffixes);
         i++)
    {
        gw_buf_reset(&derived);
        gw_buf_printf(&derived, "%s%s", name, gw_histogram_suffixes[i]);
        taken = gw_metrics_name_taken(reg, derived.data);
    }
    gw_buf_free(&derived);

    if (taken) {
        gw_err_set(err, "metric \"%s\" is already registered", name);
        return GW_ERR;
    }

    return GW_OK;
}


static int
gw_metrics_check_labels(gw_metric_type_e type, const char *const *labels,
    size_t *n, gw_err_t *err)
{
    size_t  i, j;

    for (i = 0; labels != NULL && labels[i] != NULL; i++) {
        if (!gw_metrics_name_ok(labels[i], 0)
            || strncmp(labels[i], "__", 2) == 0)
        {
            gw_err_set(err, "invalid label name \"%s\"", labels[i]);
            return GW_ERR;
        }

        if (type == GW_METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0) {
            gw_err_set(err, "a histogram cannot have a label \"le\"");
            return GW_ERR;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(labels[i], labels[j]) == 0) {
                gw_err_set(err, "label \"%s\" given twice", labels[i]);
                return GW_ERR;
            }
        }

        if (i == GW_METRIC_MAX_LABELS) {
            gw_err_set(err, "more than %d labels", GW_METRIC_MAX_LABELS);
            return GW_ERR;
        }
    }

    *n = i;

    return GW_OK;
}


static int
gw_metrics_check_buckets(const double *buckets, size_t n, gw_err_t *err)
{
    size_t  i;

    for (i = 0; i < n; i++) {
        if (!isfinite(buckets[i])) {
            gw_err_set(err, "bucket bounds must be finite (+Inf is implied)");
            return GW_ERR;
        }

        if (i > 0 && !(buckets[i] > buckets[i - 1])) {
            gw_err_set(err, "bucket bounds must increase strictly");
            return GW_ERR;
        }
    }

    return GW_OK;
}


static gw_series_t *gw_metric_series(gw_metric_t *m,
    const char *const *values);


static gw_metric_t *
gw_metrics_add(gw_metrics_t *reg, gw_metric_type_e type, const char *name,
    const char *help, const char *const *labels, const double *buckets,
    size_t nbuckets, gw_err_t *err)
{
    size_t        i, nlabels;
    gw_metric_t  *m;

    if (gw_metrics_check_name(reg, type, name, err) != GW_OK
        || gw_metrics_check_labels(type, labels, &nlabels, err) != GW_OK
        || gw_metrics_check_buckets(buckets, nbuckets, err) != GW_OK)
    {
        return NULL;
    }

    m = gw_arena_alloc(&reg->arena, sizeof(gw_metric_t));
    m->type = type;
    m->name = gw_arena_strdup(&reg->arena, name);
    m->help = gw_arena_strdup(&reg->arena, help ? help : "");
    m->nlabels = nlabels;
    m->labels = gw_arena_alloc(&reg->arena, nlabels * sizeof(char *));
    for (i = 0; i < nlabels; i++) {
        m->labels[i] = gw_arena_strdup(&reg->arena, labels[i]);
    }
    m->nbounds = nbuckets;
    m->bounds = gw_arena_alloc(&reg->arena, nbuckets * sizeof(double));
    for (i = 0; i < nbuckets; i++) {
        m->bounds[i] = buckets[i];
    }
    m->reg = reg;

    gw_arena_init(&m->arena);
    gw_map_init(&m->index, &m->arena);

    if (nlabels == 0) {
        gw_metric_series(m, NULL);
    }

    gw_ptrs_push(&reg->arena, &reg->metrics, m);

    return m;
}


gw_metric_t *
gw_metrics_counter(gw_metrics_t *reg, const char *name, const char *help,
    const char *const *labels, gw_err_t *err)
{
    return gw_metrics_add(reg, GW_METRIC_COUNTER, name, help, labels, NULL,
                          0, err);
}


gw_metric_t *
gw_metrics_gauge(gw_metrics_t *reg, const char *name, const char *help,
    const char *const *labels, gw_err_t *err)
{
    return gw_metrics_add(reg, GW_METRIC_GAUGE, name, help, labels, NULL, 0,
                          err);
}


gw_metric_t *
gw_metrics_histogram(gw_metrics_t *reg, const char *name, const char *help,
    const char *const *labels, const double *buckets, size_t nbuckets,
    gw_err_t *err)
{
    return gw_metrics_add(reg, GW_METRIC_HISTOGRAM, name, help, labels,
                          buckets, nbuckets, err);
}


void
gw_metrics_on_collect(gw_metrics_t *reg, gw_metrics_collect_pt collect,
    void *data)
{
    gw_collector_t  *c;

    c = gw_arena_alloc(&reg->arena, sizeof(gw_collector_t));
    c->collect = collect;
    c->data = data;

    gw_ptrs_push(&reg->arena, &reg->collectors, c);
}


static gw_series_t *
gw_metric_series(gw_metric_t *m, const char *const *values)
{
    size_t        i;
    gw_buf_t     *key;
    gw_series_t  *s;

    key = &m->reg->key;
    gw_buf_reset(key);
    gw_buf_putc(key, '=');      /* never empty: no labels is "=" */
    for (i = 0; i < m->nlabels; i++) {
        gw_buf_printf(key, "%zu:%s", strlen(values[i]), values[i]);
    }

    s = gw_map_get(&m->index, key->data);
    if (s != NULL) {
        return s;
    }

    s = gw_arena_alloc(&m->arena, sizeof(gw_series_t));
    s->values = gw_arena_alloc(&m->arena, m->nlabels * sizeof(char *));
    for (i = 0; i < m->nlabels; i++) {
        s->values[i] = gw_arena_strdup(&m->arena, values[i]);
    }
    s->buckets = gw_arena_alloc(&m->arena, m->nbounds * sizeof(uint64_t));

    gw_map_put(&m->index, gw_arena_strdup(&m->arena, key->data), s);
    gw_ptrs_push(&m->arena, &m->series, s);

    return s;
}


static int
gw_metric_refuse(const gw_metric_t *m, const char *why)
{
    gw_log(GW_LOG_ERROR, "metric not updated", "metric", m->name, "error",
           why, NULL);

    return GW_ERR;
}


int
gw_metric_update(gw_metric_t *m, gw_metric_op_e op, double v,
    const char *const *values)
{
    size_t        i;
    gw_series_t  *s;

    switch (m->type) {

    case GW_METRIC_COUNTER:
        if (op == GW_METRIC_ADD && !(v >= 0 && isfinite(v))) {
            return gw_metric_refuse(m, "a counter only adds finite values "
                                    ">= 0");
        }
        if (op == GW_METRIC_SET && isnan(v)) {
            return gw_metric_refuse(m, "a counter cannot be NaN");
        }
        if (op == GW_METRIC_OBSERVE) {
            return gw_metric_refuse(m, "a counter cannot observe");
        }
        break;

    case GW_METRIC_GAUGE:
        if (op == GW_METRIC_OBSERVE) {
            return gw_metric_refuse(m, "a gauge cannot observe");
        }
        break;

    case GW_METRIC_HISTOGRAM:
        if (op != GW_METRIC_OBSERVE) {
            return gw_metric_refuse(m, "a histogram can only observe");
        }
        if (isnan(v)) {
            return gw_metric_refuse(m, "a histogram cannot observe NaN");
        }
        break;
    }

    for (i = 0; i < m->nlabels; i++) {
        if (values == NULL || values[i] == NULL) {
            return gw_metric_refuse(m, "a label has no value");
        }
    }

    s = gw_metric_series(m, values);

    switch (op) {

    case GW_METRIC_ADD:
        s->value += v;
        break;

    case GW_METRIC_SET:
        s->value = v;
        break;

    case GW_METRIC_OBSERVE:
        for (i = 0; i < m->nbounds; i++) {
            if (v <= m->bounds[i]) {
                s->buckets[i]++;
                break;
            }
        }
        s->count++;
        s->value += v;
        break;
    }

    return GW_OK;
}


/* key/value pairs to values in registration order, then the update */
static int
gw_metric_vupdate(gw_metric_t *m, gw_metric_op_e op, double v, va_list ap)
{
    size_t       i, n;
    const char  *key, *value, *values[GW_METRIC_MAX_LABELS];

    memset(values, 0, sizeof(values));
    n = 0;

    for ( ;; ) {
        key = va_arg(ap, const char *);
        if (key == NULL) {
            break;
        }

        value = va_arg(ap, const char *);

        for (i = 0; i < m->nlabels; i++) {
            if (strcmp(m->labels[i], key) == 0) {
                break;
            }
        }

        if (i == m->nlabels) {
            return gw_metric_refuse(m, "unknown label");
        }

        if (value == NULL) {
            return gw_metric_refuse(m, "a label has no value");
        }

        if (values[i] != NULL) {
            return gw_metric_refuse(m, "a label is given twice");
        }

        values[i] = value;
        n++;
    }

    if (n != m->nlabels) {
        return gw_metric_refuse(m, "a label is missing");
    }

    return gw_metric_update(m, op, v, values);
}


#define GW_METRIC_VUPDATE(m, op, v)                                           \
    int      rc;                                                              \
    va_list  ap;                                                              \
                                                                              \
    va_start(ap, v);                                                          \
    rc = gw_metric_vupdate(m, op, v, ap);                                     \
    va_end(ap);                                                               \
                                                                              \
    return rc;


int
gw_metric_counter_add(gw_metric_t *m, double v, ...)
{
    GW_METRIC_VUPDATE(m, GW_METRIC_ADD, v)
}


int
gw_metric_counter_set(gw_metric_t *m, double v, ...)
{
    GW_METRIC_VUPDATE(m, GW_METRIC_SET, v)
}


int
gw_metric_gauge_set(gw_metric_t *m, double v, ...)
{
    GW_METRIC_VUPDATE(m, GW_METRIC_SET, v)
}


int
gw_metric_gauge_add(gw_metric_t *m, double v, ...)
{
    GW_METRIC_VUPDATE(m, GW_METRIC_ADD, v)
}


int
gw_metric_histogram_observe(gw_metric_t *m, double v, ...)
{
    GW_METRIC_VUPDATE(m, GW_METRIC_OBSERVE, v)
}


void
gw_metric_clear(gw_metric_t *m)
{
    gw_arena_release(&m->arena);
    gw_map_init(&m->index, &m->arena);
    memset(&m->series, 0, sizeof(gw_ptrs_t));

    if (m->nlabels == 0) {
        gw_metric_series(m, NULL);
    }
}


/* The shortest of %.15g and %.17g that reads back as v. */
static void
gw_metrics_put_number(gw_buf_t *out, double v)
{
    char  text[32];

    if (isnan(v)) {
        gw_buf_puts(out, "NaN");
        return;
    }

    if (isinf(v)) {
        gw_buf_puts(out, v > 0 ? "+Inf" : "-Inf");
        return;
    }

    snprintf(text, sizeof(text), "%.15g", v);
    if (strtod(text, NULL) != v) {
        snprintf(text, sizeof(text), "%.17g", v);
    }

    gw_buf_puts(out, text);
}


/* HELP escapes backslash and newline; label values double quotes too. */
static void
gw_metrics_put_escaped(gw_buf_t *out, const char *s, int quote)
{
    for ( /* void */ ; *s; s++) {
        if (*s == '\\') {
            gw_buf_puts(out, "\\\\");
        } else if (*s == '\n') {
            gw_buf_puts(out, "\\n");
        } else if (*s == '"' && quote) {
            gw_buf_puts(out, "\\\"");
        } else {
            gw_buf_putc(out, *s);
        }
    }
}


/* name{a="x",b="y",le="0.5"} and the value, one sample line */
static void
gw_metrics_put_sample(gw_buf_t *out, const gw_metric_t *m,
    const gw_series_t *s, const char *suffix, const char *le, double v)
{
    size_t  i;

    gw_buf_puts(out, m->name);
    gw_buf_puts(out, suffix);

    if (m->nlabels > 0 || le != NULL) {
        gw_buf_putc(out, '{');

        for (i = 0; i < m->nlabels; i++) {
            gw_buf_printf(out, "%s%s=\"", i ? "," : "", m->labels[i]);
            gw_metrics_put_escaped(out, s->values[i], 1);
            gw_buf_putc(out, '"');
        }

        if (le != NULL) {
            gw_buf_printf(out, "%sle=\"%s\"", m->nlabels ? "," : "", le);
        }

        gw_buf_putc(out, '}');
    }

    gw_buf_putc(out, ' ');
    gw_metrics_put_number(out, v);
    gw_buf_putc(out, '\n');
}


static void
gw_metrics_put_histogram(gw_buf_t *out, const gw_metric_t *m,
    const gw_series_t *s)
{
    size_t    i;
    uint64_t  cumulative;
    gw_buf_t  le;

    gw_buf_init(&le);
    cumulative = 0;

    for (i = 0; i < m->nbounds; i++) {
        cumulative += s->buckets[i];
        gw_buf_reset(&le);
        gw_metrics_put_number(&le, m->bounds[i]);
        gw_metrics_put_sample(out, m, s, "_bucket", le.data,
                              (double) cumulative);
    }

    gw_metrics_put_sample(out, m, s, "_bucket", "+Inf", (double) s->count);
    gw_metrics_put_sample(out, m, s, "_sum", NULL, s->value);
    gw_metrics_put_sample(out, m, s, "_count", NULL, (double) s->count);

    gw_buf_free(&le);
}


void
gw_metrics_write(gw_metrics_t *reg, gw_buf_t *out)
{
    size_t           i, j;
    gw_metric_t     *m;
    gw_series_t     *s;
    gw_collector_t  *c;

    for (i = 0; i < reg->collectors.n; i++) {
        c = reg->collectors.items[i];
        c->collect(c->data, reg);
    }

    for (i = 0; i < reg->metrics.n; i++) {
        m = reg->metrics.items[i];

        if (m->series.n == 0) {
            continue;
        }

        if (m->help[0] != '\0') {
            gw_buf_printf(out, "# HELP %s ", m->name);
            gw_metrics_put_escaped(out, m->help, 0);
            gw_buf_putc(out, '\n');
        }

        gw_buf_printf(out, "# TYPE %s %s\n", m->name,
                      gw_metric_type_names[m->type]);

        for (j = 0; j < m->series.n; j++) {
            s = m->series.items[j];

            if (m->type == GW_METRIC_HISTOGRAM) {
                gw_metrics_put_histogram(out, m, s);
            } else {
                gw_metrics_put_sample(out, m, s, "", NULL, s->value);
            }
        }
    }
}
