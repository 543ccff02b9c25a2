/*
 * ngx-gateway unit tests: BackendTLSPolicy (api/decode_policy.c,
 * graph/policy.c, validate/ca.c, dataplane/backend_tls.c): the policy's
 * conditions as kubectl shows them, and what the location the renderer
 * gets does with the backends the policy targets.
 */

#include <stdio.h>
#include <stdlib.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "gw_test_util.h"
#include "validate/ca.h"


/* An HTTPRoute app/r to svc:80 through the Gateway of gw_test_base. */
static const char  gw_pol_route[] =
    "apiVersion: gateway.networking.k8s.io/v1\n"
    "kind: HTTPRoute\n"
    "metadata: {name: r, namespace: app}\n"
    "spec:\n"
    "  parentRefs: [{name: gw, namespace: infra}]\n"
    "  rules:\n"
    "  - backendRefs: [{name: svc, port: 80}]\n";

#define GW_POL_HEAD(name, created)                                           \
    "---\n"                                                                  \
    "apiVersion: gateway.networking.k8s.io/v1\n"                             \
    "kind: BackendTLSPolicy\n"                                               \
    "metadata: {name: " name ", namespace: app,"                             \
    " creationTimestamp: '" created "'}\n"                                   \
    "spec:\n"


/* A self-signed CA certificate, PEM, allocated from a. */
static const char *
gw_ca_pem(gw_arena_t *a, const char *cn)
{
    BIO        *b;
    char       *data;
    long        len;
    X509       *crt;
    EVP_PKEY   *key;
    const char *pem;

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
    pem = gw_arena_strndup(a, data, (size_t) len);
    BIO_free(b);

    X509_free(crt);
    EVP_PKEY_free(key);

    return pem;
}


/* A ConfigMap app/name whose ca.crt is text (a YAML block scalar). */
static const char *
gw_ca_configmap(gw_arena_t *a, const char *name, const char *text)
{
    gw_buf_t     b;
    const char  *p, *yaml;

    gw_buf_init(&b);
    gw_buf_printf(&b, "---\napiVersion: v1\nkind: ConfigMap\n"
                  "metadata: {name: %s, namespace: app}\n"
                  "data:\n  ca.crt: |\n", name);

    for (p = text; *p; p++) {
        if (p == text || p[-1] == '\n') {
            gw_buf_append(&b, "    ", 4);
        }
        gw_buf_putc(&b, *p);
    }
    if (p == text || p[-1] != '\n') {
        gw_buf_putc(&b, '\n');
    }

    yaml = gw_arena_strndup(a, b.data, b.len);
    gw_buf_free(&b);

    return yaml;
}


static const gw_gpolicy_t *
gw_policy(const gw_graph_t *g, const char *name)
{
    size_t               i;
    const gw_gpolicy_t  *p;

    for (i = 0; i < g->policies.n; i++) {
        p = g->policies.items[i];
        if (strcmp(p->obj->meta.name, name) == 0) {
            return p;
        }
    }

    fail_msg("no BackendTLSPolicy %s", name);

    return NULL;
}


static const gw_cond_t *
gw_pcond(const gw_graph_t *g, const char *name, const char *type)
{
    return gw_conds_get(&gw_policy(g, name)->conds, type);
}


/* The location the data plane made for route app/<route>'s first rule. */
static const gw_dp_location_t *
gw_route_location(const gw_dp_t *dp, const char *route)
{
    size_t                   i, j, k;
    const char              *want;
    const gw_dp_listen_t    *l;
    const gw_dp_server_t    *s;
    const gw_dp_location_t  *loc;
    char                     buf[128];

    snprintf(buf, sizeof(buf), "app/%s", route);
    want = buf;

    for (i = 0; i < dp->listens.n; i++) {
        l = dp->listens.items[i];
        for (j = 0; j < l->servers.n; j++) {
            s = l->servers.items[j];
            for (k = 0; k < s->locations.n; k++) {
                loc = s->locations.items[k];
                if (loc->route != NULL && strcmp(loc->route, want) == 0) {
                    return loc;
                }
            }
        }
    }

    fail_msg("no location of %s", want);

    return NULL;
}


static gw_graph_t *
gw_pol_build(gw_arena_t *a, gw_store_t *s, const char *extra)
{
    gw_store_init(s);
    gw_test_load(s, gw_test_base);
    gw_test_load(s, gw_pol_route);
    gw_test_load(s, extra);

    return gw_test_graph(a, s);
}


static void
gw_pol_render(const char *extra, gw_buf_t *out)
{
    gw_store_t  s;

    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s, gw_pol_route);
    gw_test_load(&s, extra);
    gw_buf_init(out);
    gw_test_render(&s, out);
    gw_store_release(&s);
}


static void
test_ca_bundle_checks(void **state)
{
    int          n;
    char        *bad;
    cJSON       *data;
    gw_err_t     err;
    gw_arena_t   a;
    const char  *one, *two;

    (void) state;
    gw_arena_init(&a);

    one = gw_ca_pem(&a, "ca one");
    two = gw_arena_printf(&a, "%s%s", one, gw_ca_pem(&a, "ca two"));

    assert_int_equal(gw_ca_check_pem(one, strlen(one), &n, &err), GW_OK);
    assert_int_equal(n, 1);
    assert_int_equal(gw_ca_check_pem(two, strlen(two), &n, &err), GW_OK);
    assert_int_equal(n, 2);

    assert_int_equal(gw_ca_check_pem("", 0, &n, &err), GW_ERR);
    assert_string_equal(err.msg, "ca.crt is empty or too large");

    assert_int_equal(gw_ca_check_pem("hello\n", 6, &n, &err), GW_ERR);
    assert_string_equal(err.msg, "ca.crt holds no PEM certificate");

    /* a damaged second certificate: the bundle is refused, named */
    bad = gw_arena_strndup(&a, two, strlen(two));
    bad[strlen(one) + 40] = '!';
    assert_int_equal(gw_ca_check_pem(bad, strlen(bad), &n, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "ca.crt: certificate 2 cannot be "
                                    "read"));

    /* a certificate without its END line */
    bad = gw_arena_strndup(&a, one, strlen(one) - 30);
    assert_int_equal(gw_ca_check_pem(bad, strlen(bad), &n, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "certificate 1 cannot be read"));

    /* the ConfigMap: the key, then the bundle */
    data = cJSON_CreateObject();
    cJSON_AddStringToObject(data, "ca.pem", one);
    assert_null(gw_ca_configmap_pem(data, &err));
    assert_string_equal(err.msg, "the ConfigMap has no key ca.crt");
    cJSON_AddStringToObject(data, "ca.crt", one);
    assert_string_equal(gw_ca_configmap_pem(data, &err), one);
    cJSON_Delete(data);

    assert_null(gw_ca_configmap_pem(NULL, &err));

    gw_arena_release(&a);
}


static void
test_decode_refusals(void **state)
{
    size_t        i;
    cJSON        *doc;
    gw_err_t      err;
    gw_obj_t     *obj;
    static const struct {
        const char  *spec;
        const char  *msg;
    } cases[] = {
        { "{\"targetRefs\": [], \"validation\": {\"hostname\": \"h\","
          " \"wellKnownCACertificates\": \"System\"}}",
          "spec.targetRefs: Required value" },
        { "{\"targetRefs\": [{\"kind\": \"Service\", \"name\": \"s\"}]}",
          "spec.validation: Required value" },
        { "{\"targetRefs\": [{\"kind\": \"Service\", \"name\": \"s\"}],"
          " \"validation\": {\"hostname\": \"h\"}}",
          "must specify either CACertificateRefs or "
          "WellKnownCACertificates" },
        { "{\"targetRefs\": [{\"kind\": \"Service\", \"name\": \"s\"}],"
          " \"validation\": {\"hostname\": \"h\","
          " \"wellKnownCACertificates\": \"System\","
          " \"caCertificateRefs\": [{\"kind\": \"ConfigMap\","
          " \"name\": \"c\"}]}}",
          "must specify either CACertificateRefs or "
          "WellKnownCACertificates" },
        { "{\"targetRefs\": [{\"kind\": \"Service\", \"name\": \"s\"},"
          " {\"kind\": \"Service\", \"name\": \"s\"}],"
          " \"validation\": {\"hostname\": \"h\","
          " \"wellKnownCACertificates\": \"System\"}}",
          "sectionName must be specified and unique" },
        { "{\"targetRefs\": [{\"kind\": \"Service\", \"name\": \"s\"}],"
          " \"validation\": {\"hostname\": \"h\","
          " \"wellKnownCACertificates\": \"System\","
          " \"subjectAltNames\": [{\"type\": \"URI\","
          " \"hostname\": \"h\"}]}}",
          "spec.validation.subjectAltNames[0]: Invalid value" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        doc = cJSON_Parse("{\"apiVersion\": "
                          "\"gateway.networking.k8s.io/v1\","
                          " \"kind\": \"BackendTLSPolicy\","
                          " \"metadata\": {\"name\": \"p\","
                          " \"namespace\": \"app\"}}");
        assert_non_null(doc);
        cJSON_AddItemToObject(doc, "spec", cJSON_Parse(cases[i].spec));

        assert_int_equal(gw_obj_decode(doc, "test", &obj, &err), GW_ERR);
        if (strstr(err.msg, cases[i].msg) == NULL) {
            fail_msg("case %zu: \"%s\" does not say \"%s\"", i, err.msg,
                     cases[i].msg);
        }
    }
}


static void
test_valid_ca_proxies_over_tls(void **state)
{
    gw_buf_t                  out;
    gw_arena_t                a, t;
    gw_store_t                s;
    gw_graph_t               *g;
    const char               *ca, *yaml, *file;
    const gw_dp_location_t   *loc;

    (void) state;
    gw_arena_init(&a);
    gw_arena_init(&t);

    ca = gw_ca_pem(&t, "backend ca");
    yaml = gw_arena_printf(&t, "%s"
        GW_POL_HEAD("p", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation:\n"
        "    hostname: svc.example.com\n"
        "    caCertificateRefs: [{group: '', kind: ConfigMap, name: ca}]\n",
        gw_ca_configmap(&t, "ca", ca));

    g = gw_pol_build(&a, &s, yaml);

    gw_check_cond(gw_pcond(g, "p", "Accepted"), "True", "Accepted");
    gw_check_cond(gw_pcond(g, "p", "ResolvedRefs"), "True", "ResolvedRefs");

    /* the status is written for the Gateway the route reaches it from */
    assert_int_equal(gw_policy(g, "p")->ancestors.n, 1);
    assert_ptr_equal(gw_policy(g, "p")->ancestors.items[0],
                     g->gateways.items[0]);

    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_int_equal(loc->status, 0);
    assert_non_null(loc->tls);
    assert_string_equal(loc->tls->name, "svc.example.com");
    assert_string_equal(loc->tls->what, "app/p");
    assert_int_equal(loc->tls->nsans, 0);
    assert_non_null(loc->tls->ca);
    assert_int_equal(loc->tls->ca->len, strlen(ca));
    assert_memory_equal(loc->tls->ca->pem, ca, strlen(ca));

    gw_store_release(&s);

    gw_pol_render(yaml, &out);
    file = gw_arena_printf(&t, "proxy_ssl_trusted_certificate "
                           "/var/lib/ngx-gateway/secrets/%s;",
                           loc->tls->ca->file);
    assert_non_null(strstr(out.data, "proxy_ssl_name svc.example.com;\n"
                                     "        proxy_ssl_verify on;\n"));
    assert_non_null(strstr(out.data, file));
    assert_non_null(strstr(out.data, "proxy_pass https://app_svc_80;"));
    assert_null(strstr(out.data, "proxy_pass http://app_svc_80"));
    gw_buf_free(&out);

    gw_arena_release(&a);
    gw_arena_release(&t);
}


/* Bad PEM, a missing ConfigMap, a Secret: not served in plain text. */
static void
test_unusable_ca_refs(void **state)
{
    gw_buf_t                 out;
    gw_arena_t               a, t;
    gw_store_t               s;
    gw_graph_t              *g;
    const char              *yaml;
    const gw_cond_t         *c;
    const gw_dp_location_t  *loc;

    (void) state;
    gw_arena_init(&a);
    gw_arena_init(&t);

    yaml = gw_arena_printf(&t, "%s"
        GW_POL_HEAD("p", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation:\n"
        "    hostname: svc.example.com\n"
        "    caCertificateRefs:\n"
        "    - {group: '', kind: ConfigMap, name: bad}\n"
        "    - {group: '', kind: ConfigMap, name: nope}\n"
        "    - {group: '', kind: Secret, name: ca}\n",
        gw_ca_configmap(&t, "bad", "-----BEGIN CERTIFICATE-----\n"
                        "not base64 at all\n"
                        "-----END CERTIFICATE-----\n"));

    g = gw_pol_build(&a, &s, yaml);

    c = gw_pcond(g, "p", "ResolvedRefs");
    gw_check_cond(c, "False", "InvalidCACertificateRef");
    assert_non_null(strstr(c->message, "caCertificateRef app/bad: ca.crt: "
                                       "certificate 1 cannot be read"));
    assert_non_null(strstr(c->message, "caCertificateRef app/nope: "
                                       "ConfigMap not found"));
    assert_non_null(strstr(c->message, "caCertificateRef ca: kind Secret "
                                       "is not supported"));

    c = gw_pcond(g, "p", "Accepted");
    gw_check_cond(c, "False", "NoValidCACertificate");
    assert_non_null(strstr(c->message, "no usable CA certificate: "));

    /* the targeted backend is not spoken to in plain text */
    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_int_equal(loc->status, 500);

    gw_store_release(&s);

    gw_pol_render(yaml, &out);
    assert_null(strstr(out.data, "proxy_pass http://app_svc_80"));
    assert_null(strstr(out.data, "proxy_pass https://app_svc_80"));
    gw_buf_free(&out);

    gw_arena_release(&a);
    gw_arena_release(&t);
}


/* The kind is the first reason; a usable bundle still makes it Accepted. */
static void
test_some_refs_usable(void **state)
{
    gw_arena_t               a, t;
    gw_store_t               s;
    gw_graph_t              *g;
    const char              *yaml, *ca;
    const gw_cond_t         *c;
    const gw_dp_location_t  *loc;

    (void) state;
    gw_arena_init(&a);
    gw_arena_init(&t);

    ca = gw_ca_pem(&t, "good");
    yaml = gw_arena_printf(&t, "%s%s"
        GW_POL_HEAD("p", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation:\n"
        "    hostname: svc.example.com\n"
        "    caCertificateRefs:\n"
        "    - {group: example.com, kind: Bundle, name: b}\n"
        "    - {group: '', kind: ConfigMap, name: empty}\n"
        "    - {group: '', kind: ConfigMap, name: good}\n",
        gw_ca_configmap(&t, "good", ca),
        "---\napiVersion: v1\nkind: ConfigMap\n"
        "metadata: {name: empty, namespace: app}\n"
        "data: {other: x}\n");

    g = gw_pol_build(&a, &s, yaml);

    c = gw_pcond(g, "p", "ResolvedRefs");
    gw_check_cond(c, "False", "InvalidKind");
    assert_non_null(strstr(c->message, "kind example.com/Bundle is not "
                                       "supported"));
    assert_non_null(strstr(c->message, "caCertificateRef app/empty: the "
                                       "ConfigMap has no key ca.crt"));
    gw_check_cond(gw_pcond(g, "p", "Accepted"), "True", "Accepted");

    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_int_equal(loc->status, 0);
    assert_non_null(loc->tls);
    assert_int_equal(loc->tls->ca->len, strlen(ca));

    gw_store_release(&s);
    gw_arena_release(&a);
    gw_arena_release(&t);
}


/*
 * Two policies on one target: the older applies, the newer is Conflicted
 * and names it.  One naming the Service's port beats one naming the
 * Service, without a conflict.
 */
static void
test_conflicts_and_section_names(void **state)
{
    gw_arena_t               a;
    gw_store_t               s;
    gw_graph_t              *g;
    const gw_cond_t         *c;
    const gw_dp_location_t  *loc;

    (void) state;
    gw_arena_init(&a);

    g = gw_pol_build(&a, &s,
        GW_POL_HEAD("newer", "2026-02-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation: {hostname: newer.example.com,"
        " wellKnownCACertificates: System}\n"
        GW_POL_HEAD("older", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation: {hostname: older.example.com,"
        " wellKnownCACertificates: System}\n");

    gw_check_cond(gw_pcond(g, "older", "Accepted"), "True", "Accepted");
    c = gw_pcond(g, "newer", "Accepted");
    gw_check_cond(c, "False", "Conflicted");
    assert_string_equal(c->message, "BackendTLSPolicy app/older is older "
                        "and targets Service svc too");

    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_non_null(loc->tls);
    assert_string_equal(loc->tls->name, "older.example.com");
    assert_null(loc->tls->ca);   /* the system's bundle */

    gw_store_release(&s);
    gw_arena_release(&a);

    /* a port name (the Service's port of gw_test_base has none: "") */
    gw_arena_init(&a);
    g = gw_pol_build(&a, &s,
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata: {name: svc, namespace: app}\n"
        "spec: {ports: [{name: web, port: 80, targetPort: 8080}]}\n"
        GW_POL_HEAD("whole", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation: {hostname: whole.example.com,"
        " wellKnownCACertificates: System}\n"
        GW_POL_HEAD("port", "2026-02-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc,"
        " sectionName: web}]\n"
        "  validation: {hostname: port.example.com,"
        " wellKnownCACertificates: System}\n"
        GW_POL_HEAD("other-port", "2026-02-02T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc,"
        " sectionName: metrics}]\n"
        "  validation: {hostname: metrics.example.com,"
        " wellKnownCACertificates: System}\n");

    gw_check_cond(gw_pcond(g, "whole", "Accepted"), "True", "Accepted");
    gw_check_cond(gw_pcond(g, "port", "Accepted"), "True", "Accepted");
    gw_check_cond(gw_pcond(g, "other-port", "Accepted"), "True",
                  "Accepted");

    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_non_null(loc->tls);
    assert_string_equal(loc->tls->name, "port.example.com");

    /* the status goes to the Gateways of the routes to the Service */
    assert_int_equal(gw_policy(g, "port")->ancestors.n, 1);
    assert_int_equal(gw_policy(g, "other-port")->ancestors.n, 1);

    gw_store_release(&s);
    gw_arena_release(&a);
}


/* Names our module checks, and what it cannot be given. */
static void
test_subject_alt_names(void **state)
{
    gw_buf_t                 out;
    gw_arena_t               a;
    gw_store_t               s;
    gw_graph_t              *g;
    const gw_cond_t         *c;
    const gw_dp_location_t  *loc;
    static const char        good[] =
        GW_POL_HEAD("p", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation:\n"
        "    hostname: svc.example.com\n"
        "    wellKnownCACertificates: System\n"
        "    subjectAltNames:\n"
        "    - {type: Hostname, hostname: '*.svc.example.com'}\n"
        "    - {type: URI, uri: 'spiffe://example.com/svc'}\n";

    (void) state;
    gw_arena_init(&a);

    g = gw_pol_build(&a, &s, good);
    gw_check_cond(gw_pcond(g, "p", "Accepted"), "True", "Accepted");

    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_int_equal(loc->status, 0);
    assert_non_null(loc->tls);
    assert_int_equal(loc->tls->nsans, 2);
    assert_string_equal(loc->tls->sans[0].value, "*.svc.example.com");
    assert_false(loc->tls->sans[0].uri);
    assert_string_equal(loc->tls->sans[1].value, "spiffe://example.com/svc");
    assert_true(loc->tls->sans[1].uri);
    gw_store_release(&s);
    gw_arena_release(&a);

    gw_pol_render(good, &out);
    assert_non_null(strstr(out.data, "proxy_ssl_verify off;"));
    assert_non_null(strstr(out.data, "gateway_upstream_verify"));
    assert_non_null(strstr(out.data, "spiffe://example.com/svc"));
    gw_buf_free(&out);

    /* a space in a URI: refused, and the share answers 500 */
    gw_arena_init(&a);
    g = gw_pol_build(&a, &s,
        GW_POL_HEAD("p", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation:\n"
        "    hostname: svc.example.com\n"
        "    wellKnownCACertificates: System\n"
        "    subjectAltNames:\n"
        "    - {type: URI, uri: 'spiffe://a b'}\n");

    c = gw_pcond(g, "p", "Accepted");
    gw_check_cond(c, "False", "Invalid");
    assert_non_null(strstr(c->message, "a subjectAltNames uri has a space"));

    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_int_equal(loc->status, 500);
    gw_store_release(&s);
    gw_arena_release(&a);

    /* wellKnownCACertificates other than System */
    gw_arena_init(&a);
    g = gw_pol_build(&a, &s,
        GW_POL_HEAD("p", "2026-01-01T00:00:00Z")
        "  targetRefs: [{group: '', kind: Service, name: svc}]\n"
        "  validation: {hostname: svc.example.com,"
        " wellKnownCACertificates: Mozilla}\n");

    c = gw_pcond(g, "p", "Accepted");
    gw_check_cond(c, "False", "Invalid");
    assert_string_equal(c->message, "wellKnownCACertificates Mozilla is not "
                        "supported (System is)");
    loc = gw_route_location(gw_dataplane_build(&a, g, 0), "r");
    assert_int_equal(loc->status, 500);
    gw_store_release(&s);
    gw_arena_release(&a);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ca_bundle_checks),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_valid_ca_proxies_over_tls),
        cmocka_unit_test(test_unusable_ca_refs),
        cmocka_unit_test(test_some_refs_usable),
        cmocka_unit_test(test_conflicts_and_section_names),
        cmocka_unit_test(test_subject_alt_names),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
