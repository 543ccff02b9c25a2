/*
 * ngx-gateway: the Gateway API features this controller claims in
 * GatewayClass status.supportedFeatures.  The conformance suite, run
 * without flags, reads that list to decide which tests to run, so a
 * feature is listed only when its conformance cases pass here:
 * test/conformance/ replays their status assertions and their requests
 * (`make conformance`).
 *
 * Sorted ascending by name, as the spec requires (a unit test checks it).
 */

#include "graph/graph.h"


const char *const  gw_supported_features[] = {
    "BackendTLSPolicy",
    "BackendTLSPolicySANValidation",
    "GRPCRoute",
    "GRPCRouteNamedRouteRule",
    "Gateway",
    "GatewayAddressEmpty",
    "GatewayBackendClientCertificate",
    "GatewayFrontendClientCertificateValidation",
    "GatewayFrontendClientCertificateValidationInsecureFallback",
    "GatewayHTTPListenerIsolation",
    "GatewayHTTPSListenerDetectMisdirectedRequests",
    "GatewayPort8080",
    "GatewayStaticAddresses",
    "HTTPRoute",
    "HTTPRoute303RedirectStatusCode",
    "HTTPRoute307RedirectStatusCode",
    "HTTPRoute308RedirectStatusCode",
    "HTTPRouteBackendProtocolH2C",
    "HTTPRouteBackendProtocolWebSocket",
    "HTTPRouteBackendRequestHeaderModification",
    "HTTPRouteBackendTimeout",
    "HTTPRouteCORS",
    "HTTPRouteDestinationPortMatching",
    "HTTPRouteHostRewrite",
    "HTTPRouteMethodMatching",
    "HTTPRouteNamedRouteRule",
    "HTTPRouteParentRefPort",
    "HTTPRoutePathRedirect",
    "HTTPRoutePathRewrite",
    "HTTPRoutePortRedirect",
    "HTTPRouteQueryParamMatching",
    "HTTPRouteRequestMirror",
    "HTTPRouteRequestMultipleMirrors",
    "HTTPRouteRequestPercentageMirror",
    "HTTPRouteRequestTimeout",
    "HTTPRouteResponseHeaderModification",
    "HTTPRouteRetry",
    "HTTPRouteSchemeRedirect",
    "ListenerSet",
    "ReferenceGrant",
    "TCPRoute",
    "TLSRoute",
    "TLSRouteModeMixed",
    "TLSRouteModeTerminate",
    "UDPRoute",
};

/*
 * Each is listed because every upstream test that needs it passes here:
 * the status replay (make conformance: test/conformance/replay.py) and the
 * traffic replay (test/conformance/traffic.py, a real nginx and echo
 * backends), --assume-all included.  Not listed:
 * GatewayInfrastructurePropagation (no per-Gateway Pods or Services to
 * carry the labels), and the experimental retry features
 * (HTTPRouteRetryBackendTimeout, HTTPRouteRetryConnectionError).
 */

const size_t  gw_nsupported_features = gw_countof(gw_supported_features);
