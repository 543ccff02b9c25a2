/*
 * ngx-gateway: status: the conditions the graph computed, plus what the
 * runtime confirmed (Programmed), as the status subresources the API
 * server expects.
 *
 * gw_status_build() returns a kubectl-style List
 *
 *   {"apiVersion": "v1", "kind": "List", "items": [...]}
 *
 * with one item per object whose status this controller writes, in order:
 * GatewayClasses, Gateways, ListenerSets, routes (HTTPRoutes, GRPCRoutes,
 * TLSRoutes, TCPRoutes, UDPRoutes; each in graph order), BackendTLSPolicies
 * (oldest first; those with an ancestor Gateway of ours).  An item is
 *
 *   {"apiVersion", "kind", "metadata": {"name", "namespace", "generation"},
 *    "status": {...}}
 *
 * ("namespace" omitted for cluster-scoped objects).  Every condition
 * carries observedGeneration = metadata.generation of its object, and a
 * lastTransitionTime kept from the previous List when the same object had
 * a condition of the same type with the same status.
 */

#ifndef GW_STATUS_H
#define GW_STATUS_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"
#include "core/gw_buf.h"
#include "graph/graph.h"

typedef struct {
    int          programmed;  /* 1: the data plane runs this graph */
    const char  *message;     /* when 0: why not (nginx's error line) */
} gw_status_outcome_t;

/*
 * Builds the status List of graph g.  outcome NULL counts as programmed.
 * previous is an earlier List returned by this function, or NULL.  The
 * caller frees the result with cJSON_Delete(); NULL only when out of
 * memory.
 */
cJSON *gw_status_build(const gw_graph_t *g,
    const gw_status_outcome_t *outcome, const cJSON *previous);

/*
 * Writes list to out in format "json", "yaml" or "describe" (appending to
 * whatever out holds).  GW_ERR for an unknown format.
 */
int gw_status_write(gw_buf_t *out, const cJSON *list, const char *format,
    gw_err_t *err);

/*
 * The item of list with that kind, namespace and name (ns NULL or "" for
 * cluster-scoped objects), or NULL.
 */
cJSON *gw_status_find(const cJSON *list, const char *kind, const char *ns,
    const char *name);

/*
 * The data plane's last reload, as the running controller records it in
 * STATE_DIR/reload.json ({"generation", "time", "ok", "message",
 * "reloadMs"}), in describe form.
 */
void gw_status_write_reload(gw_buf_t *out, const cJSON *reload);

/* Internal: the YAML and describe writers (status/output.c). */
void gw_status_write_yaml(gw_buf_t *out, const cJSON *item);
void gw_status_write_describe(gw_buf_t *out, const cJSON *list);

#endif /* GW_STATUS_H */
