/*
 * ngx-gateway: a small Prometheus metrics registry: counters, gauges and
 * histograms, each with an optional fixed set of label names, rendered in
 * the text exposition format 0.0.4.
 *
 * A metric family is registered once, with its label names:
 *
 *   static const char  *labels[] = { "kind", "valid", NULL };
 *
 *   m = gw_metrics_gauge(reg, "ngx_gateway_resources", "Resources seen.",
 *                        labels, &err);
 *
 * A series is created the first time it is used, with one value for each
 * label name given as key/value pairs terminated by NULL (any order, each
 * label exactly once), as for gw_log():
 *
 *   gw_metric_gauge_set(m, 12, "kind", "HTTPRoute", "valid", "true", NULL);
 *
 * or as an array of values in registration order (gw_metric_update()).
 *
 * Output is deterministic: families in registration order, series in the
 * order they were first used, labels in registration order.  A family
 * without labels has its one series from the start (value 0); a family
 * with labels shows nothing until a series exists.
 *
 * Values that live elsewhere (nginx's counters) are filled in at scrape
 * time by collect callbacks, which gw_metrics_write() calls first.
 *
 * Everything runs on the controller's one thread; nothing is locked.
 */

#ifndef GW_METRICS_H
#define GW_METRICS_H

#include "core/gw_buf.h"
#include "core/gw_core.h"

#define GW_METRICS_CONTENT_TYPE  "text/plain; version=0.0.4; charset=utf-8"

typedef struct gw_metrics_s  gw_metrics_t;
typedef struct gw_metric_s   gw_metric_t;

typedef enum {
    GW_METRIC_COUNTER = 0,
    GW_METRIC_GAUGE,
    GW_METRIC_HISTOGRAM
} gw_metric_type_e;

typedef enum {
    GW_METRIC_ADD = 0,      /* counter (v >= 0), gauge */
    GW_METRIC_SET,          /* gauge; counter mirroring an external one */
    GW_METRIC_OBSERVE       /* histogram */
} gw_metric_op_e;

typedef void (*gw_metrics_collect_pt)(void *data, gw_metrics_t *reg);


gw_metrics_t *gw_metrics_new(void);
void gw_metrics_free(gw_metrics_t *reg);

/*
 * Registration.  name matches [a-zA-Z_:][a-zA-Z0-9_:]*, and must not be
 * taken (a histogram also takes name_bucket, name_sum and name_count);
 * labels is a NULL-terminated array of distinct names matching
 * [a-zA-Z_][a-zA-Z0-9_]*, not starting with "__" (and no "le" for a
 * histogram), or NULL for none.  buckets are the finite upper bounds in
 * strictly increasing order; +Inf is implied.  Every string is copied.
 * Returns NULL with err set when something is refused.
 */
gw_metric_t *gw_metrics_counter(gw_metrics_t *reg, const char *name,
    const char *help, const char *const *labels, gw_err_t *err);
gw_metric_t *gw_metrics_gauge(gw_metrics_t *reg, const char *name,
    const char *help, const char *const *labels, gw_err_t *err);
gw_metric_t *gw_metrics_histogram(gw_metrics_t *reg, const char *name,
    const char *help, const char *const *labels, const double *buckets,
    size_t nbuckets, gw_err_t *err);

/* Called by every gw_metrics_write(), in the order they were added. */
void gw_metrics_on_collect(gw_metrics_t *reg, gw_metrics_collect_pt collect,
    void *data);

/*
 * Updates, with label key/value pairs terminated by NULL.  GW_ERR (and an
 * error logged) when the operation does not fit the type, the labels do
 * not match the registered names, or the value is refused: a counter
 * never decreases (gw_metric_counter_add() of a negative value or NaN),
 * a histogram refuses NaN.
 *
 * gw_metric_counter_set() is for collect callbacks that mirror a counter
 * kept elsewhere (nginx's); a lower value is a reset of that source, as
 * Prometheus understands it.
 */
int gw_metric_counter_add(gw_metric_t *m, double v, ...)
    __attribute__((sentinel));
int gw_metric_counter_set(gw_metric_t *m, double v, ...)
    __attribute__((sentinel));
int gw_metric_gauge_set(gw_metric_t *m, double v, ...)
    __attribute__((sentinel));
int gw_metric_gauge_add(gw_metric_t *m, double v, ...)
    __attribute__((sentinel));
int gw_metric_histogram_observe(gw_metric_t *m, double v, ...)
    __attribute__((sentinel));

/* The same with values, one per label in registration order (NULL when
 * the family has no labels). */
int gw_metric_update(gw_metric_t *m, gw_metric_op_e op, double v,
    const char *const *values);

/*
 * Forgets every series of the family (a family without labels goes back
 * to 0), e.g. before a collect callback sets those that still exist.
 */
void gw_metric_clear(gw_metric_t *m);

/* Runs the collect callbacks and appends the exposition to out. */
void gw_metrics_write(gw_metrics_t *reg, gw_buf_t *out);

#endif /* GW_METRICS_H */
