/*
 * ngx-gateway: decoding GatewayClass and Gateway.
 */

#include <string.h>

#include "api/decode.h"


/* A parametersRef (pr may be NULL: *out stays NULL). */
static int
gw_decode_params_ref(gw_dec_t *d, const cJSON *pr, const char *path,
    gw_params_ref_t **out)
{
    gw_params_ref_t  *ref;

    *out = NULL;

    if (pr == NULL) {
        return GW_OK;
    }

    ref = gw_arena_alloc(d->arena, sizeof(gw_params_ref_t));

    if (gw_dec_str(d, pr, "group", path, "", &ref->group) != GW_OK
        || gw_dec_str_req(d, pr, "kind", path, &ref->kind) != GW_OK
        || gw_dec_str_req(d, pr, "name", path, &ref->name) != GW_OK
        || gw_dec_str(d, pr, "namespace", path, NULL, &ref->namespace)
           != GW_OK)
    {
        return GW_ERR;
    }

    *out = ref;

    return GW_OK;
}


int
gw_decode_gatewayclass(gw_dec_t *d, gw_obj_t *obj)
{
    const cJSON        *spec, *pr;
    gw_gatewayclass_t  *gc;

    gc = &obj->u.gatewayclass;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_dec_str_req(d, spec, "controllerName", "spec",
                          &gc->controller_name) != GW_OK
        || gw_dec_object(d, spec, "parametersRef", "spec", &pr) != GW_OK)
    {
        return GW_ERR;
    }

    return gw_decode_params_ref(d, pr, "spec.parametersRef",
                                &gc->parameters_ref);
}


static int
gw_decode_cert_refs(gw_dec_t *d, const cJSON *tls, const char *path,
    gw_listener_t *l)
{
    size_t         i;
    const char    *p;
    const cJSON   *arr, *it;
    gw_obj_ref_t  *r;

    if (gw_dec_array(d, tls, "certificateRefs", path, 64, &arr,
                     &l->ncert_refs) != GW_OK)
    {
        return GW_ERR;
    }

    l->cert_refs = gw_arena_alloc(d->arena,
                                  (l->ncert_refs + 1) * sizeof(gw_obj_ref_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        r = &l->cert_refs[i];
        p = gw_dec_path(d, path, "certificateRefs", (long) i);

        if (gw_dec_str(d, it, "group", p, "", &r->group) != GW_OK
            || gw_dec_str(d, it, "kind", p, "Secret", &r->kind) != GW_OK
            || gw_dec_str_req(d, it, "name", p, &r->name) != GW_OK
            || gw_dec_str(d, it, "namespace", p, NULL, &r->namespace)
               != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


static int
gw_decode_allowed_routes(gw_dec_t *d, const cJSON *ar, const char *path,
    gw_listener_t *l)
{
    size_t        i;
    const char   *from, *p;
    const cJSON  *ns, *sel, *arr, *it;

    l->from = GW_FROM_SAME;

    if (ar == NULL) {
        return GW_OK;
    }

    if (gw_dec_object(d, ar, "namespaces", path, &ns) != GW_OK
        || gw_dec_str(d, ns, "from", path, "Same", &from) != GW_OK)
    {
        return GW_ERR;
    }

    if (strcmp(from, "Same") == 0) {
        l->from = GW_FROM_SAME;
    } else if (strcmp(from, "All") == 0) {
        l->from = GW_FROM_ALL;
    } else if (strcmp(from, "Selector") == 0) {
        l->from = GW_FROM_SELECTOR;
    } else if (strcmp(from, "None") == 0) {
        l->from = GW_FROM_NONE;
    } else {
        gw_err_set(d->err, "%s.namespaces.from: Unsupported value: \"%s\": "
                   "supported values: \"All\", \"Selector\", \"Same\", "
                   "\"None\"", path, from);
        return GW_ERR;
    }

    if (gw_dec_object(d, ns, "selector", path, &sel) != GW_OK) {
        return GW_ERR;
    }

    if (l->from == GW_FROM_SELECTOR) {
        p = gw_dec_path(d, path, "namespaces.selector", -1);
        if (sel == NULL) {
            gw_err_set(d->err, "%s: Required value: selector must be "
                       "specified when from is Selector", p);
            return GW_ERR;
        }
        if (gw_dec_selector(d, sel, p, &l->selector) != GW_OK) {
            return GW_ERR;
        }
    }

    if (gw_dec_array(d, ar, "kinds", path, 8, &arr, &l->nkinds) != GW_OK) {
        return GW_ERR;
    }

    l->kinds_set = (arr != NULL);
    l->kinds = gw_arena_alloc(d->arena,
                              (l->nkinds + 1) * sizeof(gw_route_kind_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, path, "kinds", (long) i);
        if (gw_dec_str(d, it, "group", p, GW_GROUP, &l->kinds[i].group)
                != GW_OK
            || gw_dec_str_req(d, it, "kind", p, &l->kinds[i].kind) != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


/* The CRD's CEL rules on one listener's protocol, tls and hostname. */
static int
gw_decode_listener_rules(gw_dec_t *d, const cJSON *tls, const char *p,
    gw_listener_t *l)
{
    int  l4;

    l4 = (strcmp(l->protocol, "TCP") == 0 || strcmp(l->protocol, "UDP") == 0);

    if (tls != NULL && (l4 || strcmp(l->protocol, "HTTP") == 0)) {
        gw_err_set(d->err, "%s: Invalid value: tls must not be specified "
                   "for protocols ['HTTP', 'TCP', 'UDP']", p);
        return GW_ERR;
    }

    if (tls == NULL && strcmp(l->protocol, "TLS") == 0) {
        gw_err_set(d->err, "%s: Invalid value: tls mode must be set for "
                   "protocol TLS", p);
        return GW_ERR;
    }

    if (tls != NULL && strcmp(l->tls_mode, "Terminate") != 0
        && strcmp(l->tls_mode, "Passthrough") != 0)
    {
        gw_err_set(d->err, "%s.tls.mode: Unsupported value: \"%s\": "
                   "supported values: \"Terminate\", \"Passthrough\"", p,
                   l->tls_mode);
        return GW_ERR;
    }

    if (tls != NULL && strcmp(l->protocol, "HTTPS") == 0
        && strcmp(l->tls_mode, "Terminate") != 0)
    {
        gw_err_set(d->err, "%s: Invalid value: tls mode must be Terminate "
                   "for protocol HTTPS", p);
        return GW_ERR;
    }

    if (tls != NULL && strcmp(l->tls_mode, "Terminate") == 0
        && l->ncert_refs == 0
        && cJSON_GetObjectItemCaseSensitive(tls, "options") == NULL)
    {
        gw_err_set(d->err, "%s.tls: Invalid value: certificateRefs or "
                   "options must be specified when mode is Terminate", p);
        return GW_ERR;
    }

    if (l4 && l->hostname != NULL && l->hostname[0] != '\0') {
        gw_err_set(d->err, "%s: Invalid value: hostname must not be "
                   "specified for protocols ['TCP', 'UDP']", p);
        return GW_ERR;
    }

    return GW_OK;
}


int
gw_decode_listener(gw_dec_t *d, const cJSON *it, const char *p,
    gw_listener_t *l)
{
    const cJSON  *tls, *ar;

    if (gw_dec_str_req(d, it, "name", p, &l->name) != GW_OK
        || gw_dec_str(d, it, "hostname", p, NULL, &l->hostname) != GW_OK
        || gw_dec_int(d, it, "port", p, 1, 65535, 0, &l->port) != GW_OK
        || gw_dec_str_req(d, it, "protocol", p, &l->protocol) != GW_OK
        || gw_dec_object(d, it, "tls", p, &tls) != GW_OK
        || gw_dec_object(d, it, "allowedRoutes", p, &ar) != GW_OK)
    {
        return GW_ERR;
    }

    if (l->port == 0) {
        gw_err_set(d->err, "%s.port: Required value", p);
        return GW_ERR;
    }

    if (tls != NULL) {
        if (gw_dec_str(d, tls, "mode", gw_dec_path(d, p, "tls", -1),
                       "Terminate", &l->tls_mode) != GW_OK
            || gw_decode_cert_refs(d, tls, gw_dec_path(d, p, "tls", -1), l)
               != GW_OK)
        {
            return GW_ERR;
        }
    }

    if (gw_decode_listener_rules(d, tls, p, l) != GW_OK) {
        return GW_ERR;
    }

    return gw_decode_allowed_routes(d, ar,
                                    gw_dec_path(d, p, "allowedRoutes", -1),
                                    l);
}

/* One object reference of spec.tls (kind defaults to def_kind). */
static int
gw_decode_tls_ref(gw_dec_t *d, const cJSON *it, const char *p,
    const char *def_kind, gw_obj_ref_t *r)
{
    if (gw_dec_str(d, it, "group", p, "", &r->group) != GW_OK
        || gw_dec_str(d, it, "kind", p, def_kind, &r->kind) != GW_OK
        || gw_dec_str_req(d, it, "name", p, &r->name) != GW_OK
        || gw_dec_str(d, it, "namespace", p, NULL, &r->namespace) != GW_OK)
    {
        return GW_ERR;
    }

    if (r->kind == NULL) {
        gw_err_set(d->err, "%s.kind: Required value", p);
        return GW_ERR;
    }

    return GW_OK;
}


/* A frontend validation block (tls.validation); v may be NULL. */
static int
gw_decode_validation(gw_dec_t *d, const cJSON *v, const char *path,
    gw_client_validation_t **out)
{
    size_t                   i;
    const char              *mode, *p;
    const cJSON             *arr, *it;
    gw_client_validation_t  *cv;

    *out = NULL;

    if (v == NULL) {
        return GW_OK;
    }

    cv = gw_arena_alloc(d->arena, sizeof(gw_client_validation_t));

    if (gw_dec_str(d, v, "mode", path, "AllowValidOnly", &mode) != GW_OK
        || gw_dec_array(d, v, "caCertificateRefs", path, 16, &arr,
                        &cv->nca_refs) != GW_OK)
    {
        return GW_ERR;
    }

    if (strcmp(mode, "AllowInsecureFallback") == 0) {
        cv->insecure_fallback = 1;

    } else if (strcmp(mode, "AllowValidOnly") != 0) {
        gw_err_set(d->err, "%s.mode: Unsupported value: \"%s\": supported "
                   "values: \"AllowValidOnly\", \"AllowInsecureFallback\"",
                   path, mode);
        return GW_ERR;
    }

    if (cv->nca_refs == 0) {
        gw_err_set(d->err, "%s.caCertificateRefs: Required value: must have "
                   "at least 1 item", path);
        return GW_ERR;
    }

    cv->ca_refs = gw_arena_alloc(d->arena,
                                 cv->nca_refs * sizeof(gw_obj_ref_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, path, "caCertificateRefs", (long) i);
        if (gw_decode_tls_ref(d, it, p, NULL, &cv->ca_refs[i]) != GW_OK) {
            return GW_ERR;
        }
        i++;
    }

    *out = cv;

    return GW_OK;
}


/* spec.tls: frontend client validation and the backend client certificate */
static int
gw_decode_gateway_tls(gw_dec_t *d, const cJSON *spec, gw_gateway_t *gw)
{
    size_t               i, j;
    const char          *p;
    const cJSON         *tls, *fe, *def, *v, *be, *ref, *arr, *it, *t;
    gw_frontend_port_t  *fp;

    if (gw_dec_object(d, spec, "tls", "spec", &tls) != GW_OK
        || gw_dec_object(d, tls, "frontend", "spec.tls", &fe) != GW_OK
        || gw_dec_object(d, tls, "backend", "spec.tls", &be) != GW_OK
        || gw_dec_object(d, be, "clientCertificateRef", "spec.tls.backend",
                         &ref) != GW_OK)
    {
        return GW_ERR;
    }

    if (ref != NULL) {
        gw->backend_cert = gw_arena_alloc(d->arena, sizeof(gw_obj_ref_t));
        if (gw_decode_tls_ref(d, ref, "spec.tls.backend.clientCertificateRef",
                              "Secret", gw->backend_cert) != GW_OK)
        {
            return GW_ERR;
        }
    }

    if (fe == NULL) {
        return GW_OK;
    }

    if (gw_dec_object(d, fe, "default", "spec.tls.frontend", &def) != GW_OK
        || gw_dec_object(d, def, "validation", "spec.tls.frontend.default",
                         &v) != GW_OK
        || gw_decode_validation(d, v, "spec.tls.frontend.default.validation",
                                &gw->frontend_default) != GW_OK
        || gw_dec_array(d, fe, "perPort", "spec.tls.frontend", 64, &arr,
                        &gw->nfrontend_ports) != GW_OK)
    {
        return GW_ERR;
    }

    if (def == NULL) {
        gw_err_set(d->err, "spec.tls.frontend.default: Required value");
        return GW_ERR;
    }

    gw->frontend_ports = gw_arena_alloc(d->arena,
                                        (gw->nfrontend_ports + 1)
                                        * sizeof(gw_frontend_port_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        fp = &gw->frontend_ports[i];
        p = gw_dec_path(d, "spec.tls.frontend", "perPort", (long) i);

        if (gw_dec_int(d, it, "port", p, 1, 65535, 0, &fp->port) != GW_OK
            || gw_dec_object(d, it, "tls", p, &t) != GW_OK
            || gw_dec_object(d, t, "validation", p, &v) != GW_OK
            || gw_decode_validation(d, v,
                                    gw_dec_path(d, p, "tls.validation", -1),
                                    &fp->validation) != GW_OK)
        {
            return GW_ERR;
        }

        if (fp->port == 0 || t == NULL) {
            gw_err_set(d->err, "%s: Required value: port and tls", p);
            return GW_ERR;
        }

        for (j = 0; j < i; j++) {
            if (gw->frontend_ports[j].port == fp->port) {
                gw_err_set(d->err, "%s: Invalid value: Port for TLS "
                           "configuration must be unique within the "
                           "Gateway", p);
                return GW_ERR;
            }
        }
        i++;
    }

    return GW_OK;
}


int
gw_decode_gateway(gw_dec_t *d, gw_obj_t *obj)
{
    size_t         i, j;
    const char    *p;
    const cJSON   *spec, *arr, *it, *infra, *pr;
    gw_gateway_t  *gw;

    gw = &obj->u.gateway;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_dec_str_req(d, spec, "gatewayClassName", "spec",
                          &gw->class_name) != GW_OK
        || gw_dec_object(d, spec, "infrastructure", "spec", &infra) != GW_OK
        || gw_dec_object(d, infra, "parametersRef", "spec.infrastructure",
                         &pr) != GW_OK
        || gw_decode_params_ref(d, pr, "spec.infrastructure.parametersRef",
                                &gw->infra_params) != GW_OK
        || gw_decode_gateway_tls(d, spec, gw) != GW_OK
        || gw_decode_allowed_listeners(d, spec, gw) != GW_OK
        || gw_dec_array(d, spec, "listeners", "spec", 64, &arr,
                        &gw->nlisteners) != GW_OK)
    {
        return GW_ERR;
    }

    if (gw->nlisteners == 0) {
        gw_err_set(d->err, "spec.listeners: Required value: must have at "
                   "least 1 item");
        return GW_ERR;
    }

    gw->listeners = gw_arena_alloc(d->arena,
                                   gw->nlisteners * sizeof(gw_listener_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "listeners", (long) i);
        if (gw_decode_listener(d, it, p, &gw->listeners[i]) != GW_OK) {
            return GW_ERR;
        }

        for (j = 0; j < i; j++) {
            if (strcmp(gw->listeners[j].name, gw->listeners[i].name) == 0) {
                gw_err_set(d->err, "%s.name: Duplicate value: \"%s\"", p,
                           gw->listeners[i].name);
                return GW_ERR;
            }
        }
        i++;
    }

    if (gw_dec_array(d, spec, "addresses", "spec", 16, &arr,
                     &gw->naddresses) != GW_OK)
    {
        return GW_ERR;
    }

    gw->addresses = gw_arena_alloc(d->arena,
                                   (gw->naddresses + 1)
                                   * sizeof(gw_address_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "spec", "addresses", (long) i);
        if (gw_dec_str(d, it, "type", p, "IPAddress",
                       &gw->addresses[i].type) != GW_OK
            || gw_dec_str(d, it, "value", p, NULL, &gw->addresses[i].value)
               != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}
