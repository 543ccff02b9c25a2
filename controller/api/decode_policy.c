/*
 * ngx-gateway: decoding BackendTLSPolicy (v1), with the CRD's checks.
 */

#include <string.h>

#include "api/decode.h"


static int
gw_decode_policy_targets(gw_dec_t *d, const cJSON *spec,
    gw_backendtlspolicy_t *p)
{
    size_t               i, j;
    const char          *path;
    const cJSON         *arr, *it;
    gw_policy_target_t  *t, *u;

    if (gw_dec_array(d, spec, "targetRefs", "spec", 16, &arr, &p->ntargets)
        != GW_OK)
    {
        return GW_ERR;
    }

    if (p->ntargets == 0) {
        gw_err_set(d->err, "spec.targetRefs: Required value: must have at "
                   "least 1 item");
        return GW_ERR;
    }

    p->targets = gw_arena_alloc(d->arena,
                                p->ntargets * sizeof(gw_policy_target_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        t = &p->targets[i];
        path = gw_dec_path(d, "spec", "targetRefs", (long) i);

        if (gw_dec_str(d, it, "group", path, "", &t->group) != GW_OK
            || gw_dec_str_req(d, it, "kind", path, &t->kind) != GW_OK
            || gw_dec_str_req(d, it, "name", path, &t->name) != GW_OK
            || gw_dec_str(d, it, "sectionName", path, NULL, &t->section_name)
               != GW_OK)
        {
            return GW_ERR;
        }

        if (t->section_name != NULL && t->section_name[0] == '\0') {
            t->section_name = NULL;
        }

        /* the CRD's rules on two references to one target */
        for (j = 0; j < i; j++) {
            u = &p->targets[j];
            if (strcmp(u->group, t->group) != 0
                || strcmp(u->kind, t->kind) != 0
                || strcmp(u->name, t->name) != 0)
            {
                continue;
            }

            if (u->section_name == NULL || t->section_name == NULL
                || strcmp(u->section_name, t->section_name) == 0)
            {
                gw_err_set(d->err, "spec.targetRefs: Invalid value: "
                           "sectionName must be specified and unique when "
                           "targetRefs includes 2 or more references to "
                           "the same target");
                return GW_ERR;
            }
        }
        i++;
    }

    return GW_OK;
}


static int
gw_decode_policy_sans(gw_dec_t *d, const cJSON *v, gw_backendtlspolicy_t *p)
{
    size_t        i;
    const char   *path, *type, *host, *uri;
    const cJSON  *arr, *it;

    if (gw_dec_array(d, v, "subjectAltNames", "spec.validation", 5, &arr,
                     &p->nsans) != GW_OK)
    {
        return GW_ERR;
    }

    p->sans = gw_arena_alloc(d->arena, (p->nsans + 1) * sizeof(gw_san_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        path = gw_dec_path(d, "spec.validation", "subjectAltNames", (long) i);

        if (gw_dec_str_req(d, it, "type", path, &type) != GW_OK
            || gw_dec_str(d, it, "hostname", path, NULL, &host) != GW_OK
            || gw_dec_str(d, it, "uri", path, NULL, &uri) != GW_OK)
        {
            return GW_ERR;
        }

        if (strcmp(type, "Hostname") == 0 && host != NULL && host[0] != '\0'
            && (uri == NULL || uri[0] == '\0'))
        {
            p->sans[i].value = host;

        } else if (strcmp(type, "URI") == 0 && uri != NULL && uri[0] != '\0'
                   && (host == NULL || host[0] == '\0'))
        {
            p->sans[i].uri = 1;
            p->sans[i].value = uri;

        } else {
            gw_err_set(d->err, "%s: Invalid value: type must be Hostname "
                       "with hostname, or URI with uri", path);
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}


int
gw_decode_backendtlspolicy(gw_dec_t *d, gw_obj_t *obj)
{
    size_t                  i;
    const char             *path;
    const cJSON            *spec, *v, *arr, *it;
    gw_backendtlspolicy_t  *p;

    p = &obj->u.backendtlspolicy;

    if (gw_dec_object(d, obj->json, "spec", "", &spec) != GW_OK
        || gw_decode_policy_targets(d, spec, p) != GW_OK
        || gw_dec_object(d, spec, "validation", "spec", &v) != GW_OK)
    {
        return GW_ERR;
    }

    if (v == NULL) {
        gw_err_set(d->err, "spec.validation: Required value");
        return GW_ERR;
    }

    if (gw_dec_str_req(d, v, "hostname", "spec.validation", &p->hostname)
            != GW_OK
        || gw_dec_str(d, v, "wellKnownCACertificates", "spec.validation",
                      NULL, &p->well_known) != GW_OK
        || gw_dec_array(d, v, "caCertificateRefs", "spec.validation", 8,
                        &arr, &p->nca_refs) != GW_OK
        || gw_decode_policy_sans(d, v, p) != GW_OK)
    {
        return GW_ERR;
    }

    if (p->well_known != NULL && p->well_known[0] == '\0') {
        p->well_known = NULL;
    }

    if ((p->nca_refs > 0) == (p->well_known != NULL)) {
        gw_err_set(d->err, "spec.validation: Invalid value: must specify "
                   "either CACertificateRefs or WellKnownCACertificates");
        return GW_ERR;
    }

    p->ca_refs = gw_arena_alloc(d->arena,
                                (p->nca_refs + 1) * sizeof(gw_obj_ref_t));
    i = 0;
    cJSON_ArrayForEach(it, arr) {
        path = gw_dec_path(d, "spec.validation", "caCertificateRefs",
                           (long) i);
        if (gw_dec_str(d, it, "group", path, "", &p->ca_refs[i].group)
                != GW_OK
            || gw_dec_str_req(d, it, "kind", path, &p->ca_refs[i].kind)
               != GW_OK
            || gw_dec_str_req(d, it, "name", path, &p->ca_refs[i].name)
               != GW_OK)
        {
            return GW_ERR;
        }
        i++;
    }

    return GW_OK;
}
