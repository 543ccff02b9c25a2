/*
 * ngx-gateway: a listener's tls.certificateRefs: kind, ReferenceGrant,
 * the Secret, and the certificate and key it holds (validate/cert.c).
 * The outcome is the listener's ResolvedRefs condition and, when every
 * reference is usable, the Secrets the data plane serves (l->secrets); a
 * listener whose certificates cannot be used stays Accepted but cannot
 * carry traffic.
 *
 * The Gateway's spec.tls.frontend client certificate validation of HTTPS
 * listeners is resolved here too: caCertificateRefs to ConfigMaps with a
 * "ca.crt" bundle (validate/ca.c).
 */

#include <string.h>

#include "graph/graph.h"
#include "validate/ca.h"
#include "validate/cert.h"


/*
 * 1 when the reference (field) of a from-kind object in namespace fromns
 * to the to-kind object ns/name is allowed: the same namespace, or a
 * ReferenceGrant in ns; else 0 with *msg saying so.
 */
static int
gw_tls_ref_permitted(gw_graph_t *g, const gw_store_t *store,
    const char *field, const char *from, const char *fromns, const char *to,
    const char *ns, const char *name, const char **msg)
{
    if (strcmp(ns, fromns) == 0
        || gw_refgrant_allows(store, GW_GROUP, from, fromns, "", to, ns,
                              name))
    {
        return 1;
    }

    *msg = gw_arena_printf(g->arena, "%s %s/%s: no ReferenceGrant in "
                           "namespace %s allows %ss from namespace %s to "
                           "refer to it", field, ns, name, ns, from, fromns);
    return 0;
}


/*
 * Checks one certificateRef; NULL or the failure reason, *msg says why.
 * *stale: it failed, but the version of the Secret served until now is
 * used instead (l->secrets).
 */
static const char *
gw_cert_ref_check(gw_graph_t *g, gw_glistener_t *l,
    const gw_obj_ref_t *ref, const gw_store_t *store, const char **msg,
    const char **note, int *stale)
{
    gw_err_t         err;
    const char      *gwns, *ns;
    const gw_obj_t  *secret, *served;
    gw_cert_info_t   info;

    gwns = gw_listener_ns(l);       /* the Gateway's or ListenerSet's */
    ns = ref->namespace ? ref->namespace : gwns;

    if (ref->group[0] != '\0' || strcmp(ref->kind, "Secret") != 0) {
        *msg = gw_arena_printf(g->arena, "certificateRef %s: kind %s%s%s is "
                               "not supported (use a core Secret of type "
                               "kubernetes.io/tls)", ref->name, ref->group,
                               ref->group[0] ? "/" : "", ref->kind);
        return "InvalidCertificateRef";
    }

    if (!gw_tls_ref_permitted(g, store, "certificateRef",
                              gw_listener_owner_kind(l), gwns, "Secret", ns,
                              ref->name, msg))
    {
        return "RefNotPermitted";
    }

    secret = gw_store_get(store, GW_KIND_SECRET, ns, ref->name);
    if (secret == NULL) {
        *msg = gw_arena_printf(g->arena, "certificateRef %s/%s: Secret not "
                               "found", ns, ref->name);
        return "InvalidCertificateRef";
    }

    if (strcmp(secret->u.secret.type, "kubernetes.io/tls") != 0) {
        *msg = gw_arena_printf(g->arena, "certificateRef %s/%s: the Secret "
                               "has type %s; it must be kubernetes.io/tls",
                               ns, ref->name, secret->u.secret.type);
        return "InvalidCertificateRef";
    }

    if (gw_cert_check_secret(secret->u.secret.data, &info, &err) != GW_OK) {
        *msg = gw_arena_printf(g->arena, "certificateRef %s/%s: %s", ns,
                               ref->name, err.msg);

        /* a bad edit: the version served until now keeps serving */
        served = g->served_secrets
                 ? gw_store_get(g->served_secrets, GW_KIND_SECRET, ns,
                                ref->name)
                 : NULL;
        if (served != NULL) {
            *msg = gw_arena_printf(g->arena, "%s; the last valid version of "
                                   "the Secret keeps serving until it is "
                                   "fixed", *msg);
            l->secrets[l->nsecrets++] = served;
            *stale = 1;
        }

        return "InvalidCertificateRef";
    }

    if (info.note[0] != '\0') {
        *note = gw_arena_printf(g->arena, "certificateRef %s/%s: %s", ns,
                                ref->name, info.note);
    }

    l->secrets[l->nsecrets++] = secret;

    return NULL;
}


void
gw_listener_tls(gw_graph_t *g, gw_glistener_t *l, const gw_store_t *store)
{
    int                   stale;
    size_t                i;
    const char           *reason, *r, *why, *msg, *note, *notes;
    const gw_listener_t  *spec;

    spec = l->spec;
    reason = NULL;
    msg = NULL;
    notes = NULL;

    l->nsecrets = 0;
    l->secrets = gw_arena_alloc(g->arena,
                                (spec->ncert_refs + 1) * sizeof(gw_obj_t *));

    if (spec->ncert_refs == 0) {
        reason = "InvalidCertificateRef";
        msg = gw_arena_printf(g->arena, "a %s listener that terminates TLS "
                              "needs tls.certificateRefs", spec->protocol);
    }

    /* every ref is checked: a stale one (last good version) goes on */
    for (i = 0; i < spec->ncert_refs; i++) {
        note = NULL;
        stale = 0;
        why = NULL;
        r = gw_cert_ref_check(g, l, &spec->cert_refs[i], store, &why,
                              &note, &stale);
        if (r != NULL) {
            reason = r;
        }
        if (why != NULL) {
            msg = msg ? gw_arena_printf(g->arena, "%s; %s", msg, why) : why;
        }
        if (why != NULL && !stale) {
            break;
        }
        if (note != NULL) {
            notes = notes ? gw_arena_printf(g->arena, "%s; %s", notes, note)
                          : note;
        }
    }

    if (reason != NULL && i == spec->ncert_refs && l->nsecrets > 0) {
        /* only stale references: wrong, said so, and still serving */
        gw_conds_set(&l->conds, "ResolvedRefs", 0, reason, msg);
        return;
    }

    if (reason != NULL) {
        l->nsecrets = 0;
        l->accepted = 0;
        gw_conds_set(&l->conds, "ResolvedRefs", 0, reason, msg);
        gw_conds_set(&l->conds, "Programmed", 0, "Invalid",
                     gw_arena_printf(g->arena, "the listener cannot be "
                                     "programmed: %s", msg));
        return;
    }

    if (notes != NULL
        && strcmp(gw_conds_get(&l->conds, "ResolvedRefs")->status, "True")
           == 0)
    {
        gw_conds_set(&l->conds, "ResolvedRefs", 1, "ResolvedRefs",
                     gw_arena_printf(g->arena, "All references are "
                                     "resolved; %s", notes));
    }

    /* every listener that terminates TLS: HTTPS, TLS mode Terminate */
    if (strcmp(spec->protocol, "HTTPS") == 0
        || (strcmp(spec->protocol, "TLS") == 0
            && gw_streq(spec->tls_mode, "Terminate")))
    {
        gw_listener_client_validation(g, l, store);
    }
}


/* The validation that applies to listener l: its port's, else default. */
static const gw_client_validation_t *
gw_listener_validation(const gw_glistener_t *l)
{
    size_t               i;
    const gw_gateway_t  *gw;

    gw = &l->gateway->obj->u.gateway;

    for (i = 0; i < gw->nfrontend_ports; i++) {
        if (gw->frontend_ports[i].port == l->spec->port) {
            return gw->frontend_ports[i].validation;
        }
    }

    return gw->frontend_default;
}


/*
 * Checks one caCertificateRef; NULL with its bundle in *pem, or the
 * failure reason with *msg saying why.
 */
static const char *
gw_ca_ref_check(gw_graph_t *g, const gw_glistener_t *l,
    const gw_obj_ref_t *ref, const gw_store_t *store, const char **pem,
    const char **msg)
{
    gw_err_t         err;
    const char      *gwns, *ns;
    const gw_obj_t  *cm;

    gwns = l->gateway->obj->meta.namespace;
    ns = ref->namespace ? ref->namespace : gwns;

    if (ref->group[0] != '\0' || strcmp(ref->kind, "ConfigMap") != 0) {
        *msg = gw_arena_printf(g->arena, "caCertificateRef %s: kind %s%s%s "
                               "is not supported (use a ConfigMap with the "
                               "bundle in ca.crt)", ref->name, ref->group,
                               ref->group[0] ? "/" : "", ref->kind);
        return "InvalidCACertificateKind";
    }

    if (!gw_tls_ref_permitted(g, store, "caCertificateRef", "Gateway", gwns,
                              "ConfigMap", ns, ref->name, msg))
    {
        return "RefNotPermitted";
    }

    cm = gw_store_get(store, GW_KIND_CONFIGMAP, ns, ref->name);
    if (cm == NULL) {
        *msg = gw_arena_printf(g->arena, "caCertificateRef %s/%s: ConfigMap "
                               "not found", ns, ref->name);
        return "InvalidCACertificateRef";
    }

    *pem = gw_ca_configmap_pem(cm->u.configmap.data, &err);
    if (*pem == NULL) {
        *msg = gw_arena_printf(g->arena, "caCertificateRef %s/%s: %s", ns,
                               ref->name, err.msg);
        return "InvalidCACertificateRef";
    }

    return NULL;
}


void
gw_listener_client_validation(gw_graph_t *g, gw_glistener_t *l,
    const gw_store_t *store)
{
    size_t                         i;
    const char                    *reason, *r, *msg, *why, *pem;
    const gw_client_validation_t  *cv;

    l->verify = GW_VERIFY_NONE;
    l->nca_pems = 0;

    cv = gw_listener_validation(l);
    if (cv == NULL) {
        return;
    }

    if (cv->insecure_fallback) {
        gw_conds_set(&l->gateway->conds, "InsecureFrontendValidationMode", 1,
                     "ConfigurationChanged", "client certificate validation "
                     "uses AllowInsecureFallback: connections without a "
                     "valid client certificate are accepted");
    }

    l->ca_pems = gw_arena_alloc(g->arena, cv->nca_refs * sizeof(char *));
    reason = NULL;
    msg = NULL;

    for (i = 0; i < cv->nca_refs; i++) {
        pem = NULL;
        why = NULL;
        r = gw_ca_ref_check(g, l, &cv->ca_refs[i], store, &pem, &why);
        if (r == NULL) {
            l->ca_pems[l->nca_pems++] = pem;
            continue;
        }

        if (reason == NULL) {
            reason = r;
        }
        msg = msg ? gw_arena_printf(g->arena, "%s; %s", msg, why) : why;
    }

    if (reason != NULL
        && strcmp(gw_conds_get(&l->conds, "ResolvedRefs")->status, "True")
           == 0)
    {
        gw_conds_set(&l->conds, "ResolvedRefs", 0, reason, msg);
    }

    if (l->nca_pems == 0) {
        l->accepted = 0;
        gw_conds_set(&l->conds, "Accepted", 0, "NoValidCACertificate",
                     gw_arena_printf(g->arena, "no usable CA certificate for "
                                     "client certificate validation: %s",
                                     msg));
        gw_conds_set(&l->conds, "Programmed", 0, "Invalid",
                     gw_arena_printf(g->arena, "the listener cannot be "
                                     "programmed: %s", msg));
        return;
    }

    l->verify = cv->insecure_fallback ? GW_VERIFY_OPTIONAL
                                      : GW_VERIFY_REQUIRE;
}


/* Why the backend client certificate reference is unusable, or NULL. */
static const char *
gw_backend_cert_check(gw_graph_t *g, gw_ggateway_t *gw,
    const gw_obj_ref_t *ref, const gw_store_t *store, const char **msg)
{
    gw_err_t         err;
    const char      *gwns, *ns;
    const gw_obj_t  *secret;
    gw_cert_info_t   info;

    gwns = gw->obj->meta.namespace;
    ns = ref->namespace ? ref->namespace : gwns;

    if (ref->group[0] != '\0' || strcmp(ref->kind, "Secret") != 0) {
        *msg = gw_arena_printf(g->arena, "clientCertificateRef %s: kind "
                               "%s%s%s is not supported (use a core Secret "
                               "of type kubernetes.io/tls)", ref->name,
                               ref->group, ref->group[0] ? "/" : "",
                               ref->kind);
        return "InvalidClientCertificateRef";
    }

    if (!gw_tls_ref_permitted(g, store, "clientCertificateRef", "Gateway",
                              gwns, "Secret", ns, ref->name, msg))
    {
        return "RefNotPermitted";
    }

    secret = gw_store_get(store, GW_KIND_SECRET, ns, ref->name);
    if (secret == NULL) {
        *msg = gw_arena_printf(g->arena, "clientCertificateRef %s/%s: Secret "
                               "not found", ns, ref->name);
        return "InvalidClientCertificateRef";
    }

    if (strcmp(secret->u.secret.type, "kubernetes.io/tls") != 0
        || gw_cert_check_secret(secret->u.secret.data, &info, &err) != GW_OK)
    {
        *msg = gw_arena_printf(g->arena, "clientCertificateRef %s/%s: %s", ns,
                               ref->name,
                               strcmp(secret->u.secret.type,
                                      "kubernetes.io/tls") != 0
                               ? "the Secret must have type "
                                 "kubernetes.io/tls"
                               : err.msg);
        return "InvalidClientCertificateRef";
    }

    gw->backend_cert = secret;

    return NULL;
}


void
gw_gateway_backend_tls(gw_graph_t *g, gw_ggateway_t *gw,
    const gw_store_t *store)
{
    const char          *reason, *msg;
    const gw_obj_ref_t  *ref;

    gw->backend_cert = NULL;

    ref = gw->obj->u.gateway.backend_cert;
    if (ref == NULL) {
        return;
    }

    msg = NULL;
    reason = gw_backend_cert_check(g, gw, ref, store, &msg);

    if (reason != NULL) {
        gw_conds_set(&gw->conds, "ResolvedRefs", 0, reason, msg);
        return;
    }

    gw_conds_set(&gw->conds, "ResolvedRefs", 1, "ResolvedRefs",
                 "All references are resolved");
}
