/*
 * ngx-gateway: decoding the core kinds we read: Service, EndpointSlice,
 * Secret (Namespace needs only its metadata).
 */

#include <string.h>

#include <openssl/evp.h>

#include "api/decode.h"


static int
gw_decode_target_port(gw_dec_t *d, const cJSON *it, const char *p,
    gw_svc_port_t *sp)
{
    const cJSON  *tp;

    tp = cJSON_GetObjectItemCaseSensitive(it, "targetPort");

    if (tp == NULL || cJSON_IsNull(tp)) {
        sp->target_port = sp->port;
        return GW_OK;
    }

    if (cJSON_IsString(tp)) {
        sp->target_port_name = gw_arena_strdup(d->arena, tp->valuestring);
        return GW_OK;
    }

    return gw_dec_int(d, it, "targetPort", p, 1, 65535, sp->port,
                      &sp->target_port);
}


int
gw_decode_service(gw_dec_t *d, gw_obj_t *obj)
{
    size_t          i;
    const char     *p;
    const cJSON    *spec, *arr, *it;
    gw_svc_port_t  *sp;
    gw_service_t   *svc;

    svc = &obj->u.service;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_dec_str(d, spec, "type", "spec", "ClusterIP", &svc->type)
           != GW_OK
        || gw_dec_str(d, spec, "clusterIP", "spec", "", &svc->cluster_ip)
           != GW_OK
        || gw_dec_array(d, spec, "ports", "spec", 1024, &arr, &svc->nports)
           != GW_OK)
    {
        return GW_ERR;
    }

    svc->ports = gw_arena_alloc(d->arena,
                                (svc->nports + 1) * sizeof(gw_svc_port_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        sp = &svc->ports[i];
        p = gw_dec_path(d, "spec", "ports", (long) i);

        if (gw_dec_str(d, it, "name", p, "", &sp->name) != GW_OK
            || gw_dec_int(d, it, "port", p, 1, 65535, 0, &sp->port) != GW_OK
            || gw_dec_str(d, it, "protocol", p, "TCP", &sp->protocol)
               != GW_OK
            || gw_dec_str(d, it, "appProtocol", p, NULL, &sp->app_protocol)
               != GW_OK
            || gw_decode_target_port(d, it, p, sp) != GW_OK)
        {
            return GW_ERR;
        }

        if (sp->port == 0) {
            gw_err_set(d->err, "%s.port: Required value", p);
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


static int
gw_decode_endpoint(gw_dec_t *d, const cJSON *it, const char *p,
    gw_endpoint_t *ep)
{
    const cJSON  *cond, *ready;

    if (gw_dec_strs(d, it, "addresses", p, 100, &ep->addresses,
                    &ep->naddresses) != GW_OK
        || gw_dec_object(d, it, "conditions", p, &cond) != GW_OK)
    {
        return GW_ERR;
    }

    if (ep->naddresses == 0) {
        gw_err_set(d->err, "%s.addresses: Required value", p);
        return GW_ERR;
    }

    /* A nil ready condition is to be read as ready. */
    ready = cond ? cJSON_GetObjectItemCaseSensitive(cond, "ready") : NULL;
    ep->ready = (ready == NULL || cJSON_IsNull(ready) || cJSON_IsTrue(ready));

    return GW_OK;
}


int
gw_decode_endpointslice(gw_dec_t *d, gw_obj_t *obj)
{
    size_t               i;
    const char          *p;
    const cJSON         *arr, *it;
    gw_endpointslice_t  *es;

    es = &obj->u.endpointslice;

    es->service_name = gw_labels_get(&obj->meta,
                                     "kubernetes.io/service-name");

    if (gw_dec_str_req(d, obj->json, "addressType", "", &es->address_type)
            != GW_OK
        || gw_dec_array(d, obj->json, "endpoints", "", 1000, &arr,
                        &es->nendpoints) != GW_OK)
    {
        return GW_ERR;
    }

    es->endpoints = gw_arena_alloc(d->arena,
                                   (es->nendpoints + 1)
                                   * sizeof(gw_endpoint_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "", "endpoints", (long) i);
        if (gw_decode_endpoint(d, it, p, &es->endpoints[i]) != GW_OK) {
            return GW_ERR;
        }
        i++;
    }

    if (gw_dec_array(d, obj->json, "ports", "", 100, &arr, &es->nports)
        != GW_OK)
    {
        return GW_ERR;
    }

    es->ports = gw_arena_alloc(d->arena,
                               (es->nports + 1) * sizeof(gw_eps_port_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        p = gw_dec_path(d, "", "ports", (long) i);
        if (gw_dec_str(d, it, "name", p, "", &es->ports[i].name) != GW_OK
            || gw_dec_int(d, it, "port", p, 0, 65535, 0, &es->ports[i].port)
               != GW_OK
            || gw_dec_str(d, it, "protocol", p, "TCP", &es->ports[i].protocol)
               != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


/*
 * stringData is write-only: the API server stores it base64-encoded in
 * data (where it wins over the same key).  A manifest read from a file
 * gets the same treatment, so data is all the graph reads.
 */
static int
gw_decode_string_data(gw_dec_t *d, gw_obj_t *obj)
{
    int           n;
    size_t        len;
    cJSON        *sd, *data, *it;
    unsigned char *b64;

    sd = cJSON_GetObjectItemCaseSensitive(obj->json, "stringData");
    if (sd == NULL || cJSON_IsNull(sd)) {
        return GW_OK;
    }

    if (!cJSON_IsObject(sd)) {
        gw_err_set(d->err, "stringData: must be an object");
        return GW_ERR;
    }

    data = cJSON_GetObjectItemCaseSensitive(obj->json, "data");
    if (data == NULL || cJSON_IsNull(data)) {
        cJSON_DeleteItemFromObjectCaseSensitive(obj->json, "data");
        data = cJSON_AddObjectToObject(obj->json, "data");
    }

    if (!cJSON_IsObject(data)) {
        gw_err_set(d->err, "data: must be an object");
        return GW_ERR;
    }

    cJSON_ArrayForEach(it, sd) {
        if (!cJSON_IsString(it)) {
            gw_err_set(d->err, "stringData.%s: must be a string", it->string);
            return GW_ERR;
        }

        len = strlen(it->valuestring);
        b64 = gw_arena_alloc(d->arena, (len + 2) / 3 * 4 + 1);
        n = EVP_EncodeBlock(b64, (const unsigned char *) it->valuestring,
                            (int) len);
        b64[n] = '\0';

        cJSON_DeleteItemFromObjectCaseSensitive(data, it->string);
        cJSON_AddStringToObject(data, it->string, (const char *) b64);
    }

    cJSON_DeleteItemFromObjectCaseSensitive(obj->json, "stringData");

    return GW_OK;
}


int
gw_decode_secret(gw_dec_t *d, gw_obj_t *obj)
{
    gw_secret_t  *s;
    const cJSON  *data;

    s = &obj->u.secret;

    if (gw_dec_str(d, obj->json, "type", "", "Opaque", &s->type) != GW_OK
        || gw_decode_string_data(d, obj) != GW_OK
        || gw_dec_object(d, obj->json, "data", "", &data) != GW_OK)
    {
        return GW_ERR;
    }

    s->data = (cJSON *) data;

    return GW_OK;
}


int
gw_decode_configmap(gw_dec_t *d, gw_obj_t *obj)
{
    const cJSON  *data, *it;

    if (gw_dec_object(d, obj->json, "data", "", &data) != GW_OK) {
        return GW_ERR;
    }

    cJSON_ArrayForEach(it, data) {
        if (!cJSON_IsString(it)) {
            gw_err_set(d->err, "data.%s: must be a string", it->string);
            return GW_ERR;
        }
    }

    obj->u.configmap.data = (cJSON *) data;

    return GW_OK;
}


int
gw_decode_crd(gw_dec_t *d, gw_obj_t *obj)
{
    gw_crd_t     *c;
    const cJSON  *spec, *ann, *v;

    c = &obj->u.crd;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_dec_str(d, spec, "group", "spec", "", &c->group) != GW_OK)
    {
        return GW_ERR;
    }

    /* the schemas are most of a CRD and nothing here reads them */
    cJSON_DeleteItemFromObjectCaseSensitive((cJSON *) spec, "versions");

    ann = cJSON_GetObjectItemCaseSensitive(
              cJSON_GetObjectItemCaseSensitive(obj->json, "metadata"),
              "annotations");

    v = cJSON_GetObjectItemCaseSensitive(ann,
                                      GW_GROUP "/bundle-version");
    c->bundle_version = cJSON_IsString(v) ? v->valuestring : NULL;

    v = cJSON_GetObjectItemCaseSensitive(ann, GW_GROUP "/channel");
    c->channel = cJSON_IsString(v) ? v->valuestring : NULL;

    return GW_OK;
}
