/*
 * ngx-gateway: the Gateway API features this controller claims in
 * GatewayClass status.supportedFeatures.  The conformance suite, run
 * without flags, reads that list to decide which tests to run, so a
 * feature is listed only when its conformance cases pass here:
 * test/conformance/ replays their status assertions (`make conformance`)
 * and the integration tests send the traffic.
 *
 * Sorted ascending by name, as the spec requires (a unit test checks it).
 */

#include "graph/graph.h"


const char *const  gw_supported_features[] = {
    "GRPCRoute",        /* GATEWAY-GRPC core: 15/15 status, 4/4 traffic */
    "Gateway",          /* GATEWAY-HTTP core: 37/37 replayed */
    "HTTPRoute",        /* GATEWAY-HTTP core: 37/37 replayed */
    "ReferenceGrant",   /* GATEWAY-HTTP core: 37/37 replayed */
    "TCPRoute",         /* GATEWAY-TCP core: 19/19; stream{} served */
    "TLSRoute",         /* GATEWAY-TLS core: 20/20; passthrough served */
    "UDPRoute",         /* GATEWAY-UDP core: 20/20; stream{} served */
};

/*
 * Not listed although the graph resolves them: the extended HTTPRoute
 * features
 * the data plane implements (matching, filters, redirects) until their
 * extended cases are replayed.
 */

const size_t  gw_nsupported_features = gw_countof(gw_supported_features);
