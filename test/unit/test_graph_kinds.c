/*
 * ngx-gateway unit tests: listener protocols (HTTP, HTTPS, TLS, TCP, UDP),
 * certificateRefs, conflicts, and the route kinds GRPCRoute, TLSRoute,
 * TCPRoute, UDPRoute: one test per condition reason, smallest fixtures.
 */

#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_test_util.h"


#define GW_CLASS                                                             \
    "apiVersion: gateway.networking.k8s.io/v1\n"                            \
    "kind: GatewayClass\n"                                                  \
    "metadata: {name: gc}\n"                                                \
    "spec: {controllerName: " GW_TEST_CONTROLLER "}\n"                      \
    "---\n"


static gw_graph_t *
gw_build(gw_arena_t *a, gw_store_t *s, const char *yaml)
{
    gw_store_init(s);
    gw_test_load(s, yaml);

    return gw_test_graph(a, s);
}


static gw_glistener_t *
gw_listener(const gw_graph_t *g, const char *name)
{
    size_t          i;
    gw_ggateway_t  *gw;

    assert_int_equal(g->gateways.n, 1);
    gw = g->gateways.items[0];

    for (i = 0; i < gw->nlisteners; i++) {
        if (strcmp(gw->listeners[i].spec->name, name) == 0) {
            return &gw->listeners[i];
        }
    }

    fail_msg("no listener %s", name);

    return NULL;
}


static const gw_cond_t *
gw_lcond(const gw_graph_t *g, const char *listener, const char *type)
{
    return gw_conds_get(&gw_listener(g, listener)->conds, type);
}


static const char *
gw_base64(gw_arena_t *a, const char *s, size_t len)
{
    int   n;
    char *out;

    out = gw_arena_alloc(a, (len + 2) / 3 * 4 + 1);
    n = EVP_EncodeBlock((unsigned char *) out, (const unsigned char *) s,
                        (int) len);
    out[n] = '\0';

    return out;
}


/*
 * A kubernetes.io/tls Secret ns/name with a new P-256 key and a
 * self-signed certificate valid from days_from to days_to; with
 * other_key the key is of another pair.
 */
static const char *
gw_tls_secret(gw_arena_t *a, const char *ns, const char *name,
    long days_from, long days_to, int other_key)
{
    BIO        *b;
    char       *data;
    long        len;
    X509       *crt;
    EVP_PKEY   *key, *key2;
    const char *crt64, *key64;

    key = EVP_EC_gen("P-256");
    crt = X509_new();
    X509_set_version(crt, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
    X509_gmtime_adj(X509_getm_notBefore(crt), days_from * 86400);
    X509_gmtime_adj(X509_getm_notAfter(crt), days_to * 86400);
    X509_set_pubkey(crt, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN",
                               MBSTRING_ASC,
                               (const unsigned char *) "example.com", -1,
                               -1, 0);
    X509_set_issuer_name(crt, X509_get_subject_name(crt));
    assert_true(X509_sign(crt, key, EVP_sha256()) > 0);

    b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, crt);
    len = BIO_get_mem_data(b, &data);
    crt64 = gw_base64(a, data, (size_t) len);
    BIO_free(b);

    key2 = other_key ? EVP_EC_gen("P-256") : NULL;
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key2 ? key2 : key, NULL, NULL, 0, NULL,
                             NULL);
    len = BIO_get_mem_data(b, &data);
    key64 = gw_base64(a, data, (size_t) len);
    BIO_free(b);

    X509_free(crt);
    EVP_PKEY_free(key);
    EVP_PKEY_free(key2);

    return gw_arena_printf(a,
        "---\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata: {name: %s, namespace: %s}\n"
        "type: kubernetes.io/tls\n"
        "data: {tls.crt: %s, tls.key: %s}\n", name, ns, crt64, key64);
}


/* One Gateway gw/infra with an HTTPS listener per certificateRef case. */
static void
test_https_certificate_refs(void **state)
{
    gw_arena_t   a, certs;
    gw_store_t   s;
    gw_graph_t  *g;
    const char  *yaml;

    (void) state;
    gw_arena_init(&a);
    gw_arena_init(&certs);

    yaml = gw_arena_printf(&certs,
        GW_CLASS
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - {name: ok, port: 443, hostname: a.example.com, protocol: HTTPS,"
        " tls: {certificateRefs: [{name: good}]}}\n"
        "  - {name: missing, port: 443, hostname: b.example.com,"
        " protocol: HTTPS, tls: {certificateRefs: [{name: nope}]}}\n"
        "  - {name: kind, port: 443, hostname: c.example.com,"
        " protocol: HTTPS, tls: {certificateRefs: [{kind: ConfigMap,"
        " name: good}]}}\n"
        "  - {name: opaque, port: 443, hostname: d.example.com,"
        " protocol: HTTPS, tls: {certificateRefs: [{name: opaque}]}}\n"
        "  - {name: mismatch, port: 443, hostname: e.example.com,"
        " protocol: HTTPS, tls: {certificateRefs: [{name: mismatch}]}}\n"
        "  - {name: xns, port: 443, hostname: f.example.com,"
        " protocol: HTTPS, tls: {certificateRefs: [{name: good,"
        " namespace: certs}]}}\n"
        "  - {name: granted, port: 443, hostname: g.example.com,"
        " protocol: HTTPS, tls: {certificateRefs: [{name: shared,"
        " namespace: shared}]}}\n"
        "  - {name: expired, port: 443, hostname: h.example.com,"
        " protocol: HTTPS, tls: {certificateRefs: [{name: old}]}}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata: {name: opaque, namespace: infra}\n"
        "data: {tls.crt: SGVsbG8K, tls.key: SGVsbG8K}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1beta1\n"
        "kind: ReferenceGrant\n"
        "metadata: {name: g, namespace: shared}\n"
        "spec:\n"
        "  from: [{group: gateway.networking.k8s.io, kind: Gateway,"
        " namespace: infra}]\n"
        "  to: [{group: '', kind: Secret}]\n"
        "%s%s%s%s%s",
        gw_tls_secret(&certs, "infra", "good", -1, 30, 0),
        gw_tls_secret(&certs, "infra", "mismatch", -1, 30, 1),
        gw_tls_secret(&certs, "certs", "good", -1, 30, 0),
        gw_tls_secret(&certs, "shared", "shared", -1, 30, 0),
        gw_tls_secret(&certs, "infra", "old", -30, -1, 0));

    g = gw_build(&a, &s, yaml);

    /* valid, and served by the data plane (nginx terminates TLS) */
    gw_check_cond(gw_lcond(g, "ok", "ResolvedRefs"), "True", "ResolvedRefs");
    gw_check_cond(gw_lcond(g, "ok", "Accepted"), "True", "Accepted");
    gw_check_cond(gw_lcond(g, "ok", "Programmed"), "True", "Programmed");
    assert_int_equal(gw_listener(g, "ok")->nsecrets, 1);

    gw_check_cond(gw_lcond(g, "missing", "ResolvedRefs"), "False",
                  "InvalidCertificateRef");
    assert_non_null(strstr(gw_lcond(g, "missing", "ResolvedRefs")->message,
                           "infra/nope: Secret not found"));
    gw_check_cond(gw_lcond(g, "missing", "Programmed"), "False", "Invalid");
    gw_check_cond(gw_lcond(g, "missing", "Accepted"), "True", "Accepted");

    gw_check_cond(gw_lcond(g, "kind", "ResolvedRefs"), "False",
                  "InvalidCertificateRef");
    gw_check_cond(gw_lcond(g, "opaque", "ResolvedRefs"), "False",
                  "InvalidCertificateRef");
    assert_non_null(strstr(gw_lcond(g, "opaque", "ResolvedRefs")->message,
                           "type Opaque"));

    gw_check_cond(gw_lcond(g, "mismatch", "ResolvedRefs"), "False",
                  "InvalidCertificateRef");
    assert_non_null(strstr(gw_lcond(g, "mismatch", "ResolvedRefs")->message,
                           "does not match"));

    gw_check_cond(gw_lcond(g, "xns", "ResolvedRefs"), "False",
                  "RefNotPermitted");
    gw_check_cond(gw_lcond(g, "granted", "ResolvedRefs"), "True",
                  "ResolvedRefs");

    gw_check_cond(gw_lcond(g, "expired", "ResolvedRefs"), "True",
                  "ResolvedRefs");
    assert_non_null(strstr(gw_lcond(g, "expired", "ResolvedRefs")->message,
                           "expired on"));

    /* the valid listeners are served: the Gateway is Programmed */
    gw_check_cond(gw_conds_get(&((gw_ggateway_t *) g->gateways.items[0])
                                   ->conds, "Programmed"),
                  "True", "Programmed");

    gw_arena_release(&a);
    gw_arena_release(&certs);
    gw_store_release(&s);
}



/* A bad edit of a served Secret: said so, and the served version stays. */
static void
test_https_bad_edit_keeps_the_served_secret(void **state)
{
    gw_arena_t        a, certs;
    gw_store_t        s, served;
    gw_graph_t       *g;
    gw_graph_conf_t   conf;
    gw_glistener_t   *l;
    const char       *gateway;

    (void) state;
    gw_arena_init(&a);
    gw_arena_init(&certs);

    gateway = GW_CLASS
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - {name: web, port: 443, protocol: HTTPS,"
        " tls: {certificateRefs: [{name: cert}]}}\n";

    /* what the live configuration serves: a good pair */
    gw_store_init(&served);
    gw_test_load(&served, gw_tls_secret(&certs, "infra", "cert", -1, 30, 0));

    /* the store now holds an edit whose key does not match */
    gw_store_init(&s);
    gw_test_load(&s, gateway);
    gw_test_load(&s, gw_tls_secret(&certs, "infra", "cert", -1, 30, 1));

    memset(&conf, 0, sizeof(conf));
    conf.controller_name = GW_TEST_CONTROLLER;
    conf.default_address = "127.0.0.1";
    conf.served_secrets = &served;
    g = gw_graph_build(&a, &s, &conf);

    l = gw_listener(g, "web");
    gw_check_cond(gw_lcond(g, "web", "ResolvedRefs"), "False",
                  "InvalidCertificateRef");
    assert_non_null(strstr(gw_lcond(g, "web", "ResolvedRefs")->message,
                           "last valid version"));
    gw_check_cond(gw_lcond(g, "web", "Accepted"), "True", "Accepted");
    assert_true(l->accepted && l->served);
    assert_int_equal(l->nsecrets, 1);
    assert_ptr_equal(l->secrets[0],
                     gw_store_get(&served, GW_KIND_SECRET, "infra", "cert"));

    /* never served before: refused as always */
    gw_arena_release(&a);
    gw_arena_init(&a);
    conf.served_secrets = NULL;
    g = gw_graph_build(&a, &s, &conf);
    gw_check_cond(gw_lcond(g, "web", "Programmed"), "False", "Invalid");
    assert_int_equal(gw_listener(g, "web")->nsecrets, 0);

    gw_arena_release(&a);
    gw_arena_release(&certs);
    gw_store_release(&s);
    gw_store_release(&served);
}

static const char  gw_mixed[] =
    GW_CLASS
    "apiVersion: gateway.networking.k8s.io/v1\n"
    "kind: Gateway\n"
    "metadata: {name: gw, namespace: infra}\n"
    "spec:\n"
    "  gatewayClassName: gc\n"
    "  listeners:\n"
    "  - {name: http, port: 80, protocol: HTTP}\n"
    "  - {name: tls, port: 443, protocol: TLS, hostname: '*.example.com',"
    " tls: {mode: Passthrough}}\n"
    "  - {name: tcp, port: 5353, protocol: TCP}\n"
    "  - {name: udp, port: 5353, protocol: UDP}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: tcp, namespace: infra}\n"
    "spec: {ports: [{port: 53}]}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: udp, namespace: infra}\n"
    "spec: {ports: [{port: 53, protocol: UDP}]}\n";


static void
test_supported_kinds_and_programmed(void **state)
{
    gw_arena_t       a;
    gw_store_t       s;
    gw_graph_t      *g;
    gw_glistener_t  *l;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s, gw_mixed);

    l = gw_listener(g, "http");
    assert_int_equal(l->nkinds, 2);
    assert_string_equal(l->kinds[0], "HTTPRoute");
    assert_string_equal(l->kinds[1], "GRPCRoute");
    gw_check_cond(gw_conds_get(&l->conds, "Programmed"), "True",
                  "Programmed");

    /* TLS Passthrough, TCP and UDP are served in stream{} */
    l = gw_listener(g, "tls");
    assert_int_equal(l->nkinds, 1);
    assert_string_equal(l->kinds[0], "TLSRoute");
    gw_check_cond(gw_conds_get(&l->conds, "Programmed"), "True",
                  "Programmed");
    assert_true(l->stream && !l->served);

    /* TCP and UDP on one port number do not conflict */
    l = gw_listener(g, "tcp");
    assert_string_equal(l->kinds[0], "TCPRoute");
    gw_check_cond(gw_conds_get(&l->conds, "Conflicted"), "False",
                  "NoConflicts");
    gw_check_cond(gw_conds_get(&l->conds, "Accepted"), "True", "Accepted");
    gw_check_cond(gw_conds_get(&l->conds, "Programmed"), "True",
                  "Programmed");
    assert_true(gw_listener_serves(l, GW_KIND_TCPROUTE));
    assert_false(gw_listener_serves(l, GW_KIND_UDPROUTE));

    l = gw_listener(g, "udp");
    assert_string_equal(l->kinds[0], "UDPRoute");
    gw_check_cond(gw_conds_get(&l->conds, "Programmed"), "True",
                  "Programmed");

    /* the HTTP listener is served, so the Gateway is */
    gw_check_cond(gw_conds_get(&((gw_ggateway_t *) g->gateways.items[0])
                                   ->conds, "Programmed"),
                  "True", "Programmed");

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_tls_terminate_and_route_kinds(void **state)
{
    gw_arena_t   a;
    gw_store_t   s;
    gw_graph_t  *g;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        GW_CLASS
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - {name: term, port: 8443, protocol: TLS,"
        " tls: {mode: Terminate, certificateRefs: [{name: c}]}}\n"
        "  - {name: pass, port: 443, protocol: TLS,"
        " tls: {mode: Passthrough},"
        " allowedRoutes: {kinds: [{kind: TCPRoute}, {kind: TLSRoute}]}}\n"
        "  - {name: none, port: 9000, protocol: TCP,"
        " allowedRoutes: {kinds: [{kind: HTTPRoute}]}}\n");

    /* TLSRouteModeTerminate: TLSRoutes, certificates checked as HTTPS */
    assert_int_equal(gw_listener(g, "term")->nkinds, 1);
    assert_string_equal(gw_listener(g, "term")->kinds[0], "TLSRoute");
    gw_check_cond(gw_lcond(g, "term", "ResolvedRefs"), "False",
                  "InvalidCertificateRef");

    gw_check_cond(gw_lcond(g, "pass", "ResolvedRefs"), "False",
                  "InvalidRouteKinds");
    assert_int_equal(gw_listener(g, "pass")->nkinds, 1);
    assert_string_equal(gw_listener(g, "pass")->kinds[0], "TLSRoute");

    gw_check_cond(gw_lcond(g, "none", "ResolvedRefs"), "False",
                  "InvalidRouteKinds");
    assert_int_equal(gw_listener(g, "none")->nkinds, 0);
    gw_check_cond(gw_lcond(g, "none", "Programmed"), "False", "Invalid");

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_conflicts(void **state)
{
    gw_arena_t      a;
    gw_store_t      s;
    gw_graph_t     *g;
    gw_ggateway_t  *gw;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        GW_CLASS
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - {name: ok, port: 80, protocol: HTTP}\n"
        "  - {name: h1, port: 81, protocol: HTTP, hostname: a.example.com}\n"
        "  - {name: h2, port: 81, protocol: HTTP, hostname: a.example.com}\n"
        "  - {name: tcp, port: 82, protocol: TCP}\n"
        "  - {name: tls, port: 82, protocol: TLS, hostname: b.example.com,"
        " tls: {mode: Passthrough}}\n"
        "  - {name: pass, port: 8443, protocol: TLS, hostname: p.example.com,"
        " tls: {mode: Passthrough}}\n"
        "  - {name: term, port: 8443, protocol: TLS, hostname: t.example.com,"
        " tls: {mode: Terminate, certificateRefs: [{name: c}]}}\n");

    gw_check_cond(gw_lcond(g, "h1", "Conflicted"), "True",
                  "HostnameConflict");
    gw_check_cond(gw_lcond(g, "h2", "Accepted"), "False",
                  "HostnameConflict");

    /* any HTTP/HTTPS/TLS listener sharing a port with TCP: no winner */
    gw_check_cond(gw_lcond(g, "tcp", "Conflicted"), "True",
                  "ProtocolConflict");
    gw_check_cond(gw_lcond(g, "tls", "Accepted"), "False",
                  "ProtocolConflict");

    /* Terminate and Passthrough on one port (TLSRouteModeMixed) */
    gw_check_cond(gw_lcond(g, "pass", "Conflicted"), "False", "NoConflicts");
    gw_check_cond(gw_lcond(g, "term", "Conflicted"), "False", "NoConflicts");
    gw_check_cond(gw_lcond(g, "pass", "Accepted"), "True", "Accepted");

    gw_check_cond(gw_lcond(g, "ok", "Conflicted"), "False", "NoConflicts");
    gw = g->gateways.items[0];
    gw_check_cond(gw_conds_get(&gw->conds, "Accepted"), "True",
                  "ListenersNotValid");

    gw_arena_release(&a);
    gw_store_release(&s);
}


/*
 * HTTPS beside TLS Passthrough on one port: told apart by hostname (a
 * port front sends each server name to its listener), the same hostname
 * on both still conflicts.
 */
static void
test_https_and_passthrough_share_a_port(void **state)
{
    gw_arena_t                a;
    gw_store_t                s;
    gw_graph_t               *g;
    gw_ptrs_t                *fronts;
    const char               *yaml;
    const gw_dp_front_t      *f;
    const gw_dp_front_sni_t  *e;

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, GW_CLASS
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - {name: web, port: 443, protocol: HTTPS, hostname: a.example.com,"
        " tls: {certificateRefs: [{name: good}]}}\n"
        "  - {name: pass, port: 443, protocol: TLS, hostname: '*.example.com',"
        " tls: {mode: Passthrough}}\n"
        "  - {name: web2, port: 8443, protocol: HTTPS,"
        " hostname: b.example.com, tls: {certificateRefs: [{name: good}]}}\n"
        "  - {name: pass2, port: 8443, protocol: TLS,"
        " hostname: b.example.com, tls: {mode: Passthrough}}\n"
        "  - {name: solo, port: 9443, protocol: TLS,"
        " tls: {mode: Passthrough}}\n"
        "%s", gw_tls_secret(&a, "infra", "good", -1, 30, 0));

    g = gw_build(&a, &s, yaml);

    gw_check_cond(gw_lcond(g, "web", "Accepted"), "True", "Accepted");
    gw_check_cond(gw_lcond(g, "pass", "Accepted"), "True", "Accepted");
    gw_check_cond(gw_lcond(g, "web", "Conflicted"), "False", "NoConflicts");
    gw_check_cond(gw_lcond(g, "pass2", "Accepted"), "False",
                  "HostnameConflict");
    gw_check_cond(gw_lcond(g, "web2", "Conflicted"), "True",
                  "HostnameConflict");

    /* one front, on 443 only: the most specific hostname wins (map) */
    fronts = gw_dp_fronts(&a, g, 0);
    assert_int_equal(fronts->n, 1);
    f = fronts->items[0];
    assert_int_equal(f->port, 443);
    assert_true(f->tls);
    assert_false(f->h2c);
    assert_int_equal(f->snis.n, 3);

    e = f->snis.items[0];
    assert_string_equal(e->hostname, "*.example.com");
    assert_string_equal(e->server, GW_FRONT_TLS);
    e = f->snis.items[1];
    assert_string_equal(e->hostname, "a.example.com");
    assert_string_equal(e->server, GW_FRONT_HTTPS);
    e = f->snis.items[2];
    assert_null(e->hostname);                   /* no TLS catch-all */
    assert_string_equal(e->server, GW_FRONT_HTTPS);

    gw_arena_release(&a);
    gw_store_release(&s);
}


static const gw_cond_t *
gw_rcond(const gw_graph_t *g, const char *kind, const char *name,
    const char *type)
{
    size_t              i;
    const gw_groute_t  *r;

    for (i = 0; i < g->routes.n; i++) {
        r = g->routes.items[i];
        if (strcmp(r->kind_name, kind) == 0
            && strcmp(r->obj->meta.name, name) == 0)
        {
            assert_int_equal(r->nparents, 1);
            return gw_conds_get(&r->parents[0].conds, type);
        }
    }

    fail_msg("no %s %s", kind, name);

    return NULL;
}


#define GW_L4_ROUTE(kind, version, name, extra)                              \
    "---\n"                                                                 \
    "apiVersion: gateway.networking.k8s.io/" version "\n"                   \
    "kind: " kind "\n"                                                      \
    "metadata: {name: " name ", namespace: infra}\n"                        \
    "spec:\n"                                                               \
    extra


static void
test_route_kinds_attach(void **state)
{
    gw_arena_t       a;
    gw_store_t       s;
    gw_graph_t      *g;
    const char      *yaml;

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, "%s%s", gw_mixed,
        GW_L4_ROUTE("TCPRoute", "v1alpha2", "tcp-a",
            "  parentRefs: [{name: gw, sectionName: tcp}]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n")
        GW_L4_ROUTE("TCPRoute", "v1", "tcp-b",
            "  parentRefs: [{name: gw, port: 5353}]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n")
        GW_L4_ROUTE("TCPRoute", "v1", "tcp-on-http",
            "  parentRefs: [{name: gw, sectionName: http}]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n")
        GW_L4_ROUTE("UDPRoute", "v1", "udp",
            "  parentRefs: [{name: gw, sectionName: udp}]\n"
            "  rules: [{backendRefs: [{name: udp, port: 53}]}]\n")
        GW_L4_ROUTE("UDPRoute", "v1", "udp-to-tcp-port",
            "  parentRefs: [{name: gw, sectionName: udp}]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n")
        GW_L4_ROUTE("UDPRoute", "v1", "udp-nowhere",
            "  parentRefs: [{name: gw, sectionName: dns}]\n"
            "  rules: [{backendRefs: [{name: udp, port: 53}]}]\n")
        GW_L4_ROUTE("TLSRoute", "v1", "tls",
            "  parentRefs: [{name: gw}]\n"
            "  hostnames: [www.example.com]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n")
        GW_L4_ROUTE("TLSRoute", "v1alpha3", "tls-other-host",
            "  parentRefs: [{name: gw, sectionName: tls}]\n"
            "  hostnames: [www.example.org]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n")
        GW_L4_ROUTE("TLSRoute", "v1", "tls-xns",
            "  parentRefs: [{name: gw}]\n"
            "  hostnames: [x.example.com]\n"
            "  rules: [{backendRefs: [{name: svc, namespace: app,"
            " port: 443}]}]\n")
        GW_L4_ROUTE("TLSRoute", "v1", "tls-kind",
            "  parentRefs: [{name: gw}]\n"
            "  hostnames: [k.example.com]\n"
            "  rules: [{backendRefs: [{group: example.com, kind: Thing,"
            " name: t}]}]\n")
        GW_L4_ROUTE("TLSRoute", "v1", "tls-missing",
            "  parentRefs: [{name: gw}]\n"
            "  hostnames: [m.example.com]\n"
            "  rules: [{backendRefs: [{name: nope, port: 443}]}]\n")
        GW_L4_ROUTE("GRPCRoute", "v1", "grpc",
            "  parentRefs: [{name: gw}]\n"
            "  rules:\n"
            "  - matches: [{method: {service: echo.Echo, method: Ping}}]\n"
            "    backendRefs: [{name: tcp, port: 53}]\n"));

    g = gw_build(&a, &s, yaml);

    /* several TCPRoutes on one listener: all accepted, all counted */
    gw_check_cond(gw_rcond(g, "TCPRoute", "tcp-a", "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_rcond(g, "TCPRoute", "tcp-b", "Accepted"), "True",
                  "Accepted");
    assert_string_equal(gw_rcond(g, "TCPRoute", "tcp-a",
                                 "Accepted")->message, "Route is accepted");
    assert_int_equal(gw_listener(g, "tcp")->attached, 2);

    gw_check_cond(gw_rcond(g, "TCPRoute", "tcp-on-http", "Accepted"),
                  "False", "NotAllowedByListeners");
    assert_int_equal(gw_listener(g, "http")->attached, 1);   /* grpc */

    gw_check_cond(gw_rcond(g, "UDPRoute", "udp", "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_rcond(g, "UDPRoute", "udp", "ResolvedRefs"), "True",
                  "ResolvedRefs");
    gw_check_cond(gw_rcond(g, "UDPRoute", "udp-to-tcp-port",
                           "ResolvedRefs"), "False", "UnsupportedProtocol");
    gw_check_cond(gw_rcond(g, "UDPRoute", "udp-nowhere", "Accepted"),
                  "False", "NoMatchingParent");
    assert_int_equal(gw_listener(g, "udp")->attached, 2);

    gw_check_cond(gw_rcond(g, "TLSRoute", "tls", "Accepted"), "True",
                  "Accepted");
    gw_check_cond(gw_rcond(g, "TLSRoute", "tls-other-host", "Accepted"),
                  "False", "NoMatchingListenerHostname");
    gw_check_cond(gw_rcond(g, "TLSRoute", "tls-xns", "ResolvedRefs"),
                  "False", "RefNotPermitted");
    gw_check_cond(gw_rcond(g, "TLSRoute", "tls-kind", "ResolvedRefs"),
                  "False", "InvalidKind");
    gw_check_cond(gw_rcond(g, "TLSRoute", "tls-missing", "ResolvedRefs"),
                  "False", "BackendNotFound");
    assert_int_equal(gw_listener(g, "tls")->attached, 4);

    /* a GRPCRoute on the HTTP listener: accepted and served (h2c) */
    gw_check_cond(gw_rcond(g, "GRPCRoute", "grpc", "Accepted"), "True",
                  "Accepted");
    assert_null(strstr(gw_rcond(g, "GRPCRoute", "grpc",
                                "Accepted")->message,
                       "no traffic reaches it"));

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_route_kind_reference_grant(void **state)
{
    gw_arena_t   a;
    gw_store_t   s;
    gw_graph_t  *g;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        GW_CLASS
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners: [{name: tcp, port: 9000, protocol: TCP}]\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata: {name: svc, namespace: app}\n"
        "spec: {ports: [{port: 80}]}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1beta1\n"
        "kind: ReferenceGrant\n"
        "metadata: {name: g, namespace: app}\n"
        "spec:\n"
        "  from: [{group: gateway.networking.k8s.io, kind: TCPRoute,"
        " namespace: infra}]\n"
        "  to: [{group: '', kind: Service, name: svc}]\n"
        GW_L4_ROUTE("TCPRoute", "v1", "r",
            "  parentRefs: [{name: gw}]\n"
            "  rules: [{backendRefs: [{name: svc, namespace: app,"
            " port: 80}]}]\n")
        GW_L4_ROUTE("UDPRoute", "v1", "u",
            "  parentRefs: [{name: gw}]\n"
            "  rules: [{backendRefs: [{name: svc, namespace: app,"
            " port: 80}]}]\n"));

    /* the grant names TCPRoutes: the UDPRoute is not covered */
    gw_check_cond(gw_rcond(g, "TCPRoute", "r", "ResolvedRefs"), "True",
                  "ResolvedRefs");
    gw_check_cond(gw_rcond(g, "UDPRoute", "u", "ResolvedRefs"), "False",
                  "RefNotPermitted");
    gw_check_cond(gw_rcond(g, "UDPRoute", "u", "Accepted"), "False",
                  "NotAllowedByListeners");

    gw_arena_release(&a);
    gw_store_release(&s);
}


/* The data plane renders the served listeners and the routes they carry. */
static void
test_dataplane_ignores_what_it_cannot_serve(void **state)
{
    gw_arena_t       a;
    gw_store_t       s;
    gw_graph_t      *g;
    gw_dp_t         *dp;
    gw_dp_listen_t  *l;
    const char      *yaml;

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, "%s%s", gw_mixed,
        GW_L4_ROUTE("TCPRoute", "v1", "tcp",
            "  parentRefs: [{name: gw}]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n")
        GW_L4_ROUTE("GRPCRoute", "v1", "grpc",
            "  parentRefs: [{name: gw}]\n"
            "  rules: [{backendRefs: [{name: tcp, port: 53}]}]\n"));

    g = gw_build(&a, &s, yaml);
    assert_int_equal(gw_listener(g, "http")->attached, 1);

    /* the GRPCRoute is served as h2c, behind the port's front */
    dp = gw_dataplane_build(&a, g, 0);
    assert_int_equal(dp->listens.n, 1);
    l = dp->listens.items[0];
    assert_int_equal(l->port, 80);
    assert_int_equal(l->attachments.n, 1);
    assert_non_null(l->front);
    assert_true(l->front->h2c);
    assert_false(l->front->tls);

    gw_arena_release(&a);
    gw_store_release(&s);
}


/* Decoding: the CRDs' schema rules for the new kinds and listeners. */

static void
gw_decode_cb(void *ctx, cJSON *doc, const char *file, int line)
{
    gw_obj_t  *obj;

    (void) file;
    (void) line;

    if (gw_obj_decode(doc, "test", &obj, ctx) == GW_OK) {
        gw_obj_free(obj);
        strcpy(((gw_err_t *) ctx)->msg, "ok");
    }
}


static const char *
gw_decode_msg(gw_err_t *err, const char *yaml)
{
    err->msg[0] = '\0';
    assert_int_equal(gw_yaml_parse("t.yaml", yaml, strlen(yaml),
                                   gw_decode_cb, gw_test_on_err, err), 0);

    return err->msg;
}


static void
test_decode_schema(void **state)
{
    gw_err_t  err;

    (void) state;

    assert_non_null(strstr(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: GRPCRoute\n"
        "metadata: {name: r}\n"
        "spec: {rules: [{matches: [{method: {type: Exact}}]}]}\n"),
        "One or both of 'service' or 'method' must be specified"));

    assert_non_null(strstr(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: TLSRoute\n"
        "metadata: {name: r}\n"
        "spec: {rules: [{backendRefs: [{name: s, port: 1}]}]}\n"),
        "spec.hostnames: Required value"));

    assert_string_equal(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1alpha2\n"
        "kind: TLSRoute\n"
        "metadata: {name: r}\n"
        "spec: {rules: [{backendRefs: [{name: s, port: 1}]}]}\n"), "ok");

    assert_non_null(strstr(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: TCPRoute\n"
        "metadata: {name: r}\n"
        "spec: {rules: [{backendRefs: [{name: s, port: 1}]},"
        " {backendRefs: [{name: s, port: 2}]}]}\n"),
        "spec.rules: must have at most 1 items"));

    assert_non_null(strstr(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: UDPRoute\n"
        "metadata: {name: r}\n"
        "spec: {rules: [{backendRefs: [{name: s}]}]}\n"),
        "Must have port for Service reference"));

    assert_non_null(strstr(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: g}\n"
        "spec: {gatewayClassName: gc, listeners: [{name: l, port: 80,"
        " protocol: HTTP, tls: {mode: Passthrough}}]}\n"),
        "tls must not be specified for protocols"));

    assert_non_null(strstr(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: g}\n"
        "spec: {gatewayClassName: gc, listeners: [{name: l, port: 443,"
        " protocol: HTTPS, tls: {mode: Passthrough}}]}\n"),
        "tls mode must be Terminate for protocol HTTPS"));

    assert_non_null(strstr(gw_decode_msg(&err,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: g}\n"
        "spec: {gatewayClassName: gc, listeners: [{name: l, port: 53,"
        " protocol: UDP, hostname: a.example.com}]}\n"),
        "hostname must not be specified for protocols"));
}



/* GRPCRoute rules nginx could not carry as written: refused, said why. */
static void
test_grpc_rules_refused_with_a_reason(void **state)
{
    gw_arena_t        a;
    gw_store_t        s;
    gw_graph_t       *g;
    const gw_cond_t  *c;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        GW_CLASS
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners: [{name: http, port: 80, protocol: HTTP}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: GRPCRoute\n"
        "metadata: {name: g, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: gw}]\n"
        "  rules:\n"
        "  - matches: [{method: {service: ok.Svc, method: Get}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - filters: [{type: RequestMirror,"
        " requestMirror: {backendRef: {name: svc, port: 80}}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{method: {service: 'bad svc', method: Get}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{method: {type: RegularExpression,"
        " service: 'a(', method: Get}}]\n"
        "    backendRefs: [{name: svc, port: 80}]\n");

    /* one rule is fine: accepted, the three others dropped and named */
    gw_check_cond(gw_rcond(g, "GRPCRoute", "g", "Accepted"), "True",
                  "Accepted");
    c = gw_rcond(g, "GRPCRoute", "g", "PartiallyInvalid");
    assert_non_null(c);
    assert_string_equal(c->status, "True");
    assert_non_null(strstr(c->message, "rule 1: filter type "
                           "RequestMirror is not supported on "
                           "GRPCRoutes yet"));
    assert_non_null(strstr(c->message, "rule 2: match 0: service "
                           "\"bad svc\""));
    assert_non_null(strstr(c->message, "rule 3: match 0: service regex"));

    gw_arena_release(&a);
    gw_store_release(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https_certificate_refs),
        cmocka_unit_test(test_grpc_rules_refused_with_a_reason),
        cmocka_unit_test(test_https_bad_edit_keeps_the_served_secret),
        cmocka_unit_test(test_supported_kinds_and_programmed),
        cmocka_unit_test(test_tls_terminate_and_route_kinds),
        cmocka_unit_test(test_conflicts),
        cmocka_unit_test(test_https_and_passthrough_share_a_port),
        cmocka_unit_test(test_route_kinds_attach),
        cmocka_unit_test(test_route_kind_reference_grant),
        cmocka_unit_test(test_dataplane_ignores_what_it_cannot_serve),
        cmocka_unit_test(test_decode_schema),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
