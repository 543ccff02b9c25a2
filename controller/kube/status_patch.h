/*
 * ngx-gateway: the merge patch that brings an object's status subresource
 * from what the API server holds to what this controller computed.  Pure
 * functions: no I/O, no clock.
 *
 * GatewayClass and Gateway: our status replaces "conditions",
 * "supportedFeatures" (GatewayClass), "conditions", "listeners" and
 * "addresses" (Gateway); fields we do not compute are left alone.
 *
 * Routes (HTTPRoute, GRPCRoute, TLSRoute, TCPRoute, UDPRoute): a merge
 * patch replaces a list whole, so the patch carries all of
 * "status.parents": the entries of other controllers as they are, in
 * their order; ours replaced by what we computed (in the place of the
 * live entry for the same parentRef, new ones at the end); ours that we
 * no longer compute removed.
 *
 * Either way a condition keeps the live lastTransitionTime when its type
 * and status are unchanged, so a restarted controller does not move the
 * times; and lastTransitionTime alone never makes a difference.
 */

#ifndef GW_KUBE_STATUS_PATCH_H
#define GW_KUBE_STATUS_PATCH_H

#include <cjson/cJSON.h>

#include "core/gw_core.h"


/*
 * The merge-patch body for the status subresource of live (the object as
 * the API server returned it) that sets our desired status (an item of
 * gw_status_build()'s List), or NULL when nothing differs.  The patch
 * carries live's metadata.resourceVersion, so the API server answers 409
 * when live was stale.  The caller frees the result with cJSON_Delete().
 */
cJSON *gw_kube_status_patch(const cJSON *live, const cJSON *desired,
    const char *controller_name);

/*
 * Writes the resource path of an object ("/apis/GROUP/VERSION/namespaces/
 * NS/PLURAL/NAME", "namespaces/NS" left out for a GatewayClass) into buf,
 * e.g. for "/status" to be appended.  api_version is "group/version"
 * (the live object's); ns is ignored for cluster-scoped kinds.  GW_ERR
 * for a kind we do not write, a missing or malformed name or namespace,
 * or a path longer than size.
 */
int gw_kube_status_path(char *buf, size_t size, const char *api_version,
    const char *kind, const char *ns, const char *name, gw_err_t *err);

#endif /* GW_KUBE_STATUS_PATCH_H */
