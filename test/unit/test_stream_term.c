/*
 * ngx-gateway unit tests: TLS Terminate in stream{} (dataplane/stream.c)
 * and port fronts (dataplane/front.c): the stream model the renderer
 * gets, the certificates nginx is given, and which server a client's
 * server name reaches when TLS listeners of different kinds share a port.
 */

#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_test_util.h"
#include "dataplane/front.h"
#include "dataplane/stream.h"
#include "render/stream.h"


#define GW_CLASS                                                             \
    "apiVersion: gateway.networking.k8s.io/v1\n"                            \
    "kind: GatewayClass\n"                                                  \
    "metadata: {name: gc}\n"                                                \
    "spec: {controllerName: " GW_TEST_CONTROLLER "}\n"                      \
    "---\n"

#define GW_GATEWAY(listeners)                                                \
    GW_CLASS                                                                \
    "apiVersion: gateway.networking.k8s.io/v1\n"                            \
    "kind: Gateway\n"                                                       \
    "metadata: {name: gw, namespace: infra}\n"                              \
    "spec:\n"                                                               \
    "  gatewayClassName: gc\n"                                              \
    "  listeners:\n" listeners

/* A Service infra/<name> port 443 with one ready endpoint 10.0.0.<ip>. */
#define GW_SERVICE(name, ip)                                                 \
    "---\n"                                                                 \
    "apiVersion: v1\n"                                                      \
    "kind: Service\n"                                                       \
    "metadata: {name: " name ", namespace: infra}\n"                        \
    "spec: {ports: [{port: 443, targetPort: 8443}]}\n"                      \
    "---\n"                                                                 \
    "apiVersion: discovery.k8s.io/v1\n"                                     \
    "kind: EndpointSlice\n"                                                 \
    "metadata:\n"                                                           \
    "  name: " name "-1\n"                                                  \
    "  namespace: infra\n"                                                  \
    "  labels: {kubernetes.io/service-name: " name "}\n"                    \
    "addressType: IPv4\n"                                                   \
    "ports: [{name: '', port: 8443}]\n"                                     \
    "endpoints: [{addresses: [10.0.0." ip "]}]\n"

#define GW_TLSROUTE(name, section, host, svc)                                \
    "---\n"                                                                 \
    "apiVersion: gateway.networking.k8s.io/v1alpha2\n"                      \
    "kind: TLSRoute\n"                                                      \
    "metadata: {name: " name ", namespace: infra,"                          \
    " creationTimestamp: '2026-01-01T00:00:00Z'}\n"                         \
    "spec:\n"                                                               \
    "  parentRefs: [{name: gw, sectionName: " section "}]\n"                \
    "  hostnames: [" host "]\n"                                             \
    "  rules: [{backendRefs: [{name: " svc ", port: 443}]}]\n"


/* A kubernetes.io/tls Secret infra/name, self-signed for cn. */
static const char *
gw_tls_secret(gw_arena_t *a, const char *name, const char *cn)
{
    BIO         *b;
    char        *data;
    long         len;
    X509        *crt;
    EVP_PKEY    *key;
    const char  *crt64, *key64;

    key = EVP_EC_gen("P-256");
    crt = X509_new();
    X509_set_version(crt, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(crt), 1);
    X509_gmtime_adj(X509_getm_notBefore(crt), -86400);
    X509_gmtime_adj(X509_getm_notAfter(crt), 30 * 86400);
    X509_set_pubkey(crt, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(crt), "CN",
                               MBSTRING_ASC, (const unsigned char *) cn,
                               -1, -1, 0);
    X509_set_issuer_name(crt, X509_get_subject_name(crt));
    assert_true(X509_sign(crt, key, EVP_sha256()) > 0);

    b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509(b, crt);
    len = BIO_get_mem_data(b, &data);
    crt64 = gw_arena_alloc(a, (size_t) len / 3 * 4 + 8);
    EVP_EncodeBlock((unsigned char *) crt64, (unsigned char *) data,
                    (int) len);
    BIO_free(b);

    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL);
    len = BIO_get_mem_data(b, &data);
    key64 = gw_arena_alloc(a, (size_t) len / 3 * 4 + 8);
    EVP_EncodeBlock((unsigned char *) key64, (unsigned char *) data,
                    (int) len);
    BIO_free(b);

    X509_free(crt);
    EVP_PKEY_free(key);

    return gw_arena_printf(a,
        "---\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata: {name: %s, namespace: infra}\n"
        "type: kubernetes.io/tls\n"
        "data: {tls.crt: %s, tls.key: %s}\n", name, crt64, key64);
}


static gw_graph_t *
gw_build(gw_arena_t *a, gw_store_t *s, const char *yaml)
{
    gw_store_init(s);
    gw_test_load(s, yaml);

    return gw_test_graph(a, s);
}


static const gw_cond_t *
gw_lcond(const gw_graph_t *g, const char *name, const char *type)
{
    size_t          i;
    gw_ggateway_t  *gw;

    assert_int_equal(g->gateways.n, 1);
    gw = g->gateways.items[0];

    for (i = 0; i < gw->nlisteners; i++) {
        if (strcmp(gw->listeners[i].spec->name, name) == 0) {
            return gw_conds_get(&gw->listeners[i].conds, type);
        }
    }

    fail_msg("no listener %s", name);

    return NULL;
}


/* The stream server of a port that is not a front. */
static const gw_dp_stream_server_t *
gw_sv(const gw_dp_stream_t *st, int port, int terminate)
{
    size_t                        i;
    const gw_dp_stream_server_t  *sv;

    for (i = 0; i < st->servers.n; i++) {
        sv = st->servers.items[i];
        if (sv->port == port && sv->front == NULL
            && sv->terminate == terminate)
        {
            return sv;
        }
    }

    return NULL;
}


static const gw_dp_passthrough_t *
gw_sni(const gw_ptrs_t *snis, size_t i)
{
    assert_true(i < snis->n);

    return snis->items[i];
}


/* The certificate file of a listener's one Secret in the stream model. */
static const char *
gw_cert_file(const gw_dp_stream_t *st, const char *cn)
{
    size_t               i;
    const gw_dp_cert_t  *c;

    for (i = 0; i < st->certs.n; i++) {
        c = st->certs.items[i];
        if (strcmp(c->secret, cn) == 0) {
            return c->file;
        }
    }

    fail_msg("no certificate file of %s", cn);

    return NULL;
}


/* One Terminate listener: its certificate, the route's name, the reject. */
static void
test_terminate_listener(void **state)
{
    gw_buf_t                      out;
    gw_arena_t                    a;
    gw_store_t                    s;
    gw_graph_t                   *g;
    const char                   *yaml;
    gw_render_conf_t              conf;
    gw_err_t                      err;
    const gw_dp_stream_t         *st;
    const gw_dp_cert_t           *c;
    const gw_dp_stream_server_t  *sv;

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, "%s%s",
        GW_GATEWAY(
        "  - {name: term, port: 8443, protocol: TLS,"
        " tls: {mode: Terminate, certificateRefs: [{name: c}]}}\n")
        GW_SERVICE("echo", "1")
        GW_TLSROUTE("r", "term", "a.example.com", "echo"),
        gw_tls_secret(&a, "c", "a.example.com"));

    g = gw_build(&a, &s, yaml);
    gw_check_cond(gw_lcond(g, "term", "ResolvedRefs"), "True",
                  "ResolvedRefs");
    gw_check_cond(gw_lcond(g, "term", "Programmed"), "True", "Programmed");

    st = gw_dp_stream_build(&a, g, 0);
    assert_int_equal(st->servers.n, 1);
    sv = gw_sv(st, 8443, 1);
    assert_non_null(sv);
    assert_false(sv->passthrough);
    assert_null(sv->front);
    assert_null(sv->behind);
    assert_string_equal(sv->gateway, "infra/gw");
    assert_string_equal(sv->listener, "term");

    /* the listener's certificate, no map */
    assert_int_equal(sv->certs.n, 1);
    c = sv->certs.items[0];
    assert_string_equal(c->secret, "infra/c");
    assert_non_null(strstr(c->pem, "BEGIN CERTIFICATE"));
    assert_non_null(strstr(c->pem, "PRIVATE KEY"));
    assert_null(sv->cert_var);
    assert_int_equal(st->certs.n, 1);

    /* a.example.com to the Service, any other name closed */
    assert_int_equal(sv->snis.n, 2);
    assert_string_equal(gw_sni(&sv->snis, 0)->hostname, "a.example.com");
    assert_string_equal(gw_sni(&sv->snis, 0)->route, "infra/r");
    assert_string_equal(gw_sni(&sv->snis, 0)->target, "infra_echo_443");
    assert_null(gw_sni(&sv->snis, 1)->hostname);
    assert_string_equal(gw_sni(&sv->snis, 1)->target, GW_STREAM_REJECT);
    assert_true(st->reject);

    memset(&conf, 0, sizeof(conf));
    conf.state_dir = "/var/lib/ngx-gateway";
    gw_buf_init(&out);
    assert_int_equal(gw_render_stream(st, &conf, &out, &err), GW_OK);
    assert_non_null(strstr(out.data, "listen 127.0.0.1:8443 ssl"));
    assert_non_null(strstr(out.data, gw_arena_printf(&a,
        "ssl_certificate \"/var/lib/ngx-gateway/secrets/%s\";",
        c->file)));
    assert_non_null(strstr(out.data, "$ssl_server_name"));
    assert_null(strstr(out.data, "ssl_preread on"));
    gw_buf_free(&out);

    gw_store_release(&s);
    gw_arena_release(&a);
}


/*
 * A Terminate listener whose only certificate is unusable is not served:
 * nginx would refuse a TLS server without a certificate.
 */
static void
test_terminate_without_valid_certificate(void **state)
{
    gw_arena_t             a;
    gw_store_t             s;
    gw_graph_t            *g;
    const gw_cond_t       *c;
    const gw_dp_stream_t  *st;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        GW_GATEWAY(
        "  - {name: missing, port: 8443, protocol: TLS,"
        " tls: {mode: Terminate, certificateRefs: [{name: nope}]}}\n"
        "  - {name: opaque, port: 9443, protocol: TLS,"
        " tls: {mode: Terminate, certificateRefs: [{name: opaque}]}}\n")
        GW_SERVICE("echo", "1")
        GW_TLSROUTE("r", "missing", "a.example.com", "echo")
        "---\n"
        "apiVersion: v1\n"
        "kind: Secret\n"
        "metadata: {name: opaque, namespace: infra}\n"
        "type: kubernetes.io/tls\n"
        "data: {tls.crt: SGVsbG8K, tls.key: SGVsbG8K}\n");

    c = gw_lcond(g, "missing", "ResolvedRefs");
    gw_check_cond(c, "False", "InvalidCertificateRef");
    assert_non_null(strstr(c->message, "nope"));
    gw_check_cond(gw_lcond(g, "missing", "Programmed"), "False", "Invalid");

    gw_check_cond(gw_lcond(g, "opaque", "ResolvedRefs"), "False",
                  "InvalidCertificateRef");
    gw_check_cond(gw_lcond(g, "opaque", "Programmed"), "False", "Invalid");

    st = gw_dp_stream_build(&a, g, 0);
    assert_int_equal(st->servers.n, 0);
    assert_int_equal(st->certs.n, 0);

    gw_store_release(&s);
    gw_arena_release(&a);
}


/*
 * Two Terminate listeners on one port: the certificate by the client's
 * server name (exact, then the longest wildcard, then the listener
 * without hostname), the routes of both in one SNI map.
 */
static void
test_terminate_certificates_by_server_name(void **state)
{
    gw_arena_t                    a;
    gw_store_t                    s;
    gw_graph_t                   *g;
    const char                   *yaml, *fa, *fw, *fd;
    const gw_dp_stream_t         *st;
    const gw_dp_stream_server_t  *sv;

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, "%s%s%s%s",
        GW_GATEWAY(
        "  - {name: wild, port: 8443, protocol: TLS,"
        " hostname: '*.example.com',"
        " tls: {mode: Terminate, certificateRefs: [{name: w}]}}\n"
        "  - {name: exact, port: 8443, protocol: TLS,"
        " hostname: a.example.com,"
        " tls: {mode: Terminate, certificateRefs: [{name: x}]}}\n"
        "  - {name: any, port: 8443, protocol: TLS,"
        " tls: {mode: Terminate, certificateRefs: [{name: d}]}}\n")
        GW_SERVICE("one", "1")
        GW_SERVICE("two", "2")
        GW_TLSROUTE("exact-route", "exact", "a.example.com", "one")
        GW_TLSROUTE("wild-route", "wild", "'*.example.com'", "two"),
        gw_tls_secret(&a, "w", "*.example.com"),
        gw_tls_secret(&a, "x", "a.example.com"),
        gw_tls_secret(&a, "d", "default"));

    g = gw_build(&a, &s, yaml);
    gw_check_cond(gw_lcond(g, "exact", "Programmed"), "True", "Programmed");
    gw_check_cond(gw_lcond(g, "wild", "Programmed"), "True", "Programmed");
    gw_check_cond(gw_lcond(g, "any", "Programmed"), "True", "Programmed");

    st = gw_dp_stream_build(&a, g, 0);
    assert_int_equal(st->servers.n, 1);
    sv = gw_sv(st, 8443, 1);
    assert_non_null(sv);
    assert_string_equal(sv->listener, "wild");

    fa = gw_cert_file(st, "infra/x");
    fw = gw_cert_file(st, "infra/w");
    fd = gw_cert_file(st, "infra/d");

    /* a map from the server name to the file, loaded at the handshake */
    assert_int_equal(sv->certs.n, 0);
    assert_non_null(sv->cert_var);
    assert_int_equal(sv->cert_snis.n, 3);
    assert_string_equal(gw_sni(&sv->cert_snis, 0)->hostname,
                        "*.example.com");
    assert_string_equal(gw_sni(&sv->cert_snis, 0)->target, fw);
    assert_string_equal(gw_sni(&sv->cert_snis, 1)->hostname,
                        "a.example.com");
    assert_string_equal(gw_sni(&sv->cert_snis, 1)->target, fa);
    assert_null(gw_sni(&sv->cert_snis, 2)->hostname);
    assert_string_equal(gw_sni(&sv->cert_snis, 2)->target, fd);

    /* the routes by name */
    assert_int_equal(sv->snis.n, 3);
    assert_string_equal(gw_sni(&sv->snis, 0)->hostname, "*.example.com");
    assert_string_equal(gw_sni(&sv->snis, 0)->target, "infra_two_443");
    assert_string_equal(gw_sni(&sv->snis, 1)->hostname, "a.example.com");
    assert_string_equal(gw_sni(&sv->snis, 1)->target, "infra_one_443");
    assert_null(gw_sni(&sv->snis, 2)->hostname);
    assert_string_equal(gw_sni(&sv->snis, 2)->target, GW_STREAM_REJECT);

    gw_store_release(&s);
    gw_arena_release(&a);
}


/*
 * HTTPS, TLS Terminate and TLS Passthrough on one port: a front sends
 * each server name to the server of the listener the spec picks for it
 * (the same name, then the longest wildcard, then no hostname); the TLS
 * servers listen behind it.
 */
static void
test_front_by_hostname_precedence(void **state)
{
    size_t                        i;
    gw_arena_t                    a;
    gw_store_t                    s;
    gw_graph_t                   *g;
    gw_ptrs_t                    *fronts;
    const char                   *yaml, *sock;
    const gw_dp_front_t          *f;
    const gw_dp_front_sni_t      *e;
    const gw_dp_stream_t         *st;
    const gw_dp_stream_server_t  *sv;
    static const struct {
        const char  *hostname;
        const char  *server;
    } want[] = {
        { "*.a.example.com", GW_FRONT_TERM },
        { "*.example.com", GW_FRONT_TLS },
        { "b.a.example.com", GW_FRONT_HTTPS },
        { NULL, GW_FRONT_HTTPS },
    };

    (void) state;
    gw_arena_init(&a);

    yaml = gw_arena_printf(&a, "%s%s",
        GW_GATEWAY(
        "  - {name: pass, port: 443, protocol: TLS,"
        " hostname: '*.example.com', tls: {mode: Passthrough}}\n"
        "  - {name: term, port: 443, protocol: TLS,"
        " hostname: '*.a.example.com',"
        " tls: {mode: Terminate, certificateRefs: [{name: c}]}}\n"
        "  - {name: web, port: 443, protocol: HTTPS,"
        " hostname: b.a.example.com,"
        " tls: {certificateRefs: [{name: c}]}}\n"
        "  - {name: web-any, port: 443, protocol: HTTPS,"
        " tls: {certificateRefs: [{name: c}]}}\n"
        "  - {name: alone, port: 8443, protocol: TLS,"
        " tls: {mode: Terminate, certificateRefs: [{name: c}]}}\n")
        GW_SERVICE("echo", "1")
        GW_TLSROUTE("p", "pass", "x.example.com", "echo")
        GW_TLSROUTE("t", "term", "y.a.example.com", "echo"),
        gw_tls_secret(&a, "c", "example.com"));

    g = gw_build(&a, &s, yaml);
    gw_check_cond(gw_lcond(g, "pass", "Programmed"), "True", "Programmed");
    gw_check_cond(gw_lcond(g, "term", "Programmed"), "True", "Programmed");
    gw_check_cond(gw_lcond(g, "web", "Programmed"), "True", "Programmed");

    /* one front, on 443: 8443 has one kind of listener */
    fronts = gw_dp_fronts(&a, g, 10000);
    assert_int_equal(fronts->n, 1);
    f = fronts->items[0];
    assert_int_equal(f->port, 10443);
    assert_true(f->tls);
    assert_true(f->https);
    assert_true(f->passthrough);
    assert_true(f->terminate);
    assert_false(f->h2c);
    assert_null(gw_dp_front_find(fronts, "127.0.0.1", 18443));
    assert_ptr_equal(gw_dp_front_find(fronts, "127.0.0.1", 10443), f);

    assert_int_equal(f->snis.n, sizeof(want) / sizeof(want[0]));
    for (i = 0; i < f->snis.n; i++) {
        e = f->snis.items[i];
        if (want[i].hostname == NULL) {
            assert_null(e->hostname);
        } else {
            assert_non_null(e->hostname);
            assert_string_equal(e->hostname, want[i].hostname);
        }
        assert_string_equal(e->server, want[i].server);
    }

    sock = gw_dp_front_sock(&a, "/run/gw", f, GW_FRONT_TERM);
    assert_string_equal(sock, "unix:/run/gw/run/front-0-tlsterm.sock");

    /* stream{}: the front first, then the servers it fronts */
    st = gw_dp_stream_build(&a, g, 10000);
    assert_int_equal(st->servers.n, 4);
    sv = st->servers.items[0];
    assert_int_equal(sv->port, 10443);
    assert_non_null(sv->front);
    assert_int_equal(sv->front->index, f->index);

    sv = gw_sv(st, 10443, 0);
    assert_non_null(sv);
    assert_true(sv->passthrough);
    assert_non_null(sv->behind);

    sv = gw_sv(st, 10443, 1);
    assert_non_null(sv);
    assert_non_null(sv->behind);
    assert_string_equal(gw_sni(&sv->snis, 0)->hostname, "y.a.example.com");

    sv = gw_sv(st, 18443, 1);
    assert_non_null(sv);
    assert_null(sv->behind);

    gw_store_release(&s);
    gw_arena_release(&a);
}


/* HTTP with GRPCRoutes: a front tells h2c from HTTP/1.x by the preface. */
static void
test_front_h2c(void **state)
{
    gw_arena_t            a;
    gw_store_t            s;
    gw_graph_t           *g;
    gw_ptrs_t            *fronts;
    const gw_dp_front_t  *f;

    (void) state;
    gw_arena_init(&a);

    g = gw_build(&a, &s,
        GW_GATEWAY(
        "  - {name: web, port: 80, protocol: HTTP}\n"
        "  - {name: plain, port: 8080, protocol: HTTP}\n")
        GW_SERVICE("echo", "1")
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: GRPCRoute\n"
        "metadata: {name: g, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, sectionName: web}]\n"
        "  rules: [{backendRefs: [{name: echo, port: 443}]}]\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: h, namespace: infra}\n"
        "spec:\n"
        "  parentRefs: [{name: gw}]\n"
        "  rules: [{backendRefs: [{name: echo, port: 443}]}]\n");

    fronts = gw_dp_fronts(&a, g, 0);
    assert_int_equal(fronts->n, 1);
    f = fronts->items[0];
    assert_int_equal(f->port, 80);
    assert_true(f->h2c);
    assert_false(f->tls);
    assert_int_equal(f->snis.n, 0);
    assert_string_equal(f->gateway, "infra/gw");

    gw_store_release(&s);
    gw_arena_release(&a);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_terminate_listener),
        cmocka_unit_test(test_terminate_without_valid_certificate),
        cmocka_unit_test(test_terminate_certificates_by_server_name),
        cmocka_unit_test(test_front_by_hostname_precedence),
        cmocka_unit_test(test_front_h2c),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
