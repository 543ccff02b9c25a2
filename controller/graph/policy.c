/*
 * ngx-gateway: BackendTLSPolicy: TLS from nginx to the backends of the
 * Services a policy targets (targetRefs, a sectionName naming one port).
 *
 * Each policy gets Accepted and ResolvedRefs: its caCertificateRefs must
 * be ConfigMaps of its namespace with a usable "ca.crt" bundle
 * (InvalidKind, InvalidCACertificateRef; none usable: Accepted False/
 * NoValidCACertificate), or wellKnownCACertificates System.  Two
 * policies on the same target (the same Service, and the same sectionName
 * or none): the older one applies, the other is Accepted False/
 * Conflicted.  A policy with a sectionName and one without on the same
 * Service do not conflict; the one with the sectionName is more specific
 * for its port.  The status is written once per ancestor: each Gateway
 * with an accepted route that has a backend the policy targets.
 */

#include <string.h>

#include "graph/graph.h"
#include "validate/ca.h"


/* 1 when target t of a policy in ns names backend b. */
static int
gw_policy_target_matches(const gw_policy_target_t *t, const char *ns,
    const gw_gbackend_t *b, int any_section)
{
    const char  *bgroup, *bkind;

    if (!b->valid || b->svc_port == NULL) {
        return 0;
    }

    bgroup = b->ref->group ? b->ref->group : "";
    bkind = b->ref->kind ? b->ref->kind : "Service";

    if (t->group[0] != '\0' || strcmp(t->kind, "Service") != 0
        || bgroup[0] != '\0' || strcmp(bkind, "Service") != 0
        || strcmp(t->name, b->ref->name) != 0
        || strcmp(ns, b->namespace) != 0)
    {
        return 0;
    }

    if (t->section_name == NULL) {
        return 1;
    }

    return any_section || strcmp(t->section_name, b->svc_port->name) == 0;
}


/* Two targets name the same thing (a conflict between two policies). */
static int
gw_policy_target_same(const gw_policy_target_t *a,
    const gw_policy_target_t *b)
{
    if (strcmp(a->group, b->group) != 0 || strcmp(a->kind, b->kind) != 0
        || strcmp(a->name, b->name) != 0)
    {
        return 0;
    }

    if (a->section_name == NULL || b->section_name == NULL) {
        return a->section_name == b->section_name;
    }

    return strcmp(a->section_name, b->section_name) == 0;
}


/* The references: Accepted and ResolvedRefs, and the usable bundles. */
static void
gw_policy_refs(gw_graph_t *g, gw_gpolicy_t *p, const gw_store_t *store)
{
    size_t                        i;
    gw_err_t                      err;
    const char                   *reason, *msg, *why, *pem, *ns;
    const gw_obj_t               *cm;
    const gw_obj_ref_t           *ref;
    const gw_backendtlspolicy_t  *spec;

    spec = &p->obj->u.backendtlspolicy;
    ns = p->obj->meta.namespace;

    if (spec->well_known != NULL) {
        if (strcmp(spec->well_known, "System") != 0) {
            gw_conds_set(&p->conds, "Accepted", 0, "Invalid",
                         gw_arena_printf(g->arena, "wellKnownCACertificates "
                                         "%s is not supported (System is)",
                                         spec->well_known));
            gw_conds_set(&p->conds, "ResolvedRefs", 1, "ResolvedRefs",
                         "All references are resolved");
            return;
        }

        p->system_ca = 1;
        p->accepted = 1;
        gw_conds_set(&p->conds, "Accepted", 1, "Accepted",
                     "Policy is accepted");
        gw_conds_set(&p->conds, "ResolvedRefs", 1, "ResolvedRefs",
                     "All references are resolved");
        return;
    }

    p->ca_pems = gw_arena_alloc(g->arena,
                                (spec->nca_refs + 1) * sizeof(char *));
    reason = NULL;
    msg = NULL;

    for (i = 0; i < spec->nca_refs; i++) {
        ref = &spec->ca_refs[i];
        why = NULL;

        if (ref->group[0] != '\0' || strcmp(ref->kind, "ConfigMap") != 0) {
            why = gw_arena_printf(g->arena, "caCertificateRef %s: kind "
                                  "%s%s%s is not supported (use a ConfigMap "
                                  "with the bundle in ca.crt)", ref->name,
                                  ref->group, ref->group[0] ? "/" : "",
                                  ref->kind);
            reason = reason ? reason : "InvalidKind";

        } else {
            cm = gw_store_get(store, GW_KIND_CONFIGMAP, ns, ref->name);
            pem = cm ? gw_ca_configmap_pem(cm->u.configmap.data, &err)
                     : NULL;

            if (pem != NULL) {
                p->ca_pems[p->nca_pems++] = pem;
                continue;
            }

            why = gw_arena_printf(g->arena, "caCertificateRef %s/%s: %s", ns,
                                  ref->name, cm ? err.msg
                                             : "ConfigMap not found");
            reason = reason ? reason : "InvalidCACertificateRef";
        }

        msg = msg ? gw_arena_printf(g->arena, "%s; %s", msg, why) : why;
    }

    if (reason != NULL) {
        gw_conds_set(&p->conds, "ResolvedRefs", 0, reason, msg);
    } else {
        gw_conds_set(&p->conds, "ResolvedRefs", 1, "ResolvedRefs",
                     "All references are resolved");
    }

    if (p->nca_pems == 0) {
        gw_conds_set(&p->conds, "Accepted", 0, "NoValidCACertificate",
                     gw_arena_printf(g->arena, "no usable CA certificate: "
                                     "%s", msg));
        return;
    }

    p->accepted = 1;
    gw_conds_set(&p->conds, "Accepted", 1, "Accepted", "Policy is accepted");
}


/* An older policy (earlier in g->policies) with one of p's targets. */
static const gw_gpolicy_t *
gw_policy_conflict(gw_graph_t *g, const gw_gpolicy_t *p,
    const gw_policy_target_t **target)
{
    size_t                        i, j, k;
    const gw_gpolicy_t           *o;
    const gw_backendtlspolicy_t  *ps, *os;

    ps = &p->obj->u.backendtlspolicy;

    for (i = 0; i < g->policies.n; i++) {
        o = g->policies.items[i];
        if (o == p) {
            break;
        }
        if (strcmp(o->obj->meta.namespace, p->obj->meta.namespace) != 0) {
            continue;
        }

        os = &o->obj->u.backendtlspolicy;
        for (j = 0; j < ps->ntargets; j++) {
            for (k = 0; k < os->ntargets; k++) {
                if (gw_policy_target_same(&ps->targets[j],
                                          &os->targets[k]))
                {
                    *target = &ps->targets[j];
                    return o;
                }
            }
        }
    }

    return NULL;
}


/* The Gateways with an accepted route reaching one of p's targets. */
static void
gw_policy_ancestors(gw_graph_t *g, gw_gpolicy_t *p)
{
    size_t                        i, j, k, t, a;
    const gw_groute_t            *r;
    const gw_grule_t             *rule;
    const gw_backendtlspolicy_t  *spec;
    gw_ggateway_t                *gw;
    int                           hit;

    spec = &p->obj->u.backendtlspolicy;

    for (i = 0; i < g->routes.n; i++) {
        r = g->routes.items[i];
        hit = 0;

        for (j = 0; j < r->nrules && !hit; j++) {
            rule = &r->rules[j];
            for (k = 0; k < rule->nbackends && !hit; k++) {
                for (t = 0; t < spec->ntargets && !hit; t++) {
                    hit = gw_policy_target_matches(&spec->targets[t],
                                                   p->obj->meta.namespace,
                                                   &rule->backends[k], 1);
                }
            }
        }

        if (!hit) {
            continue;
        }

        for (j = 0; j < r->nparents; j++) {
            gw = r->parents[j].gateway;
            if (!r->parents[j].accepted || gw == NULL) {
                continue;
            }

            for (a = 0; a < p->ancestors.n && p->ancestors.items[a] != gw;
                 a++)
            {
                /* void */
            }
            if (a == p->ancestors.n) {
                gw_ptrs_push(g->arena, &p->ancestors, gw);
            }
        }
    }
}


static int
gw_policy_cmp(const void *a, const void *b)
{
    const gw_gpolicy_t  *x = *(gw_gpolicy_t * const *) a;
    const gw_gpolicy_t  *y = *(gw_gpolicy_t * const *) b;

    if (gw_route_precedes(x->obj, y->obj)) {
        return -1;
    }

    return gw_route_precedes(y->obj, x->obj) ? 1 : 0;
}


/*
 * The subjectAltNames of p can be given to our module (see
 * dataplane/backend_tls.c): the CRD's URI pattern lets spaces and control
 * characters through.
 */
static int
gw_policy_sans_usable(const gw_gpolicy_t *p)
{
    size_t                        i;
    const unsigned char          *c;
    const gw_backendtlspolicy_t  *spec;

    spec = &p->obj->u.backendtlspolicy;

    for (i = 0; i < spec->nsans; i++) {
        if (!spec->sans[i].uri) {
            continue;
        }

        for (c = (const unsigned char *) spec->sans[i].value; *c; c++) {
            if (*c <= ' ' || *c >= 0x7f) {
                return 0;
            }
        }
    }

    return 1;
}


void
gw_graph_policies(gw_graph_t *g, const gw_store_t *store)
{
    size_t                     i;
    gw_gpolicy_t              *p;
    const gw_gpolicy_t        *o;
    const gw_objlist_t        *l;
    const gw_policy_target_t  *t;

    l = gw_store_list(store, GW_KIND_BACKENDTLSPOLICY);

    for (i = 0; i < l->n; i++) {
        p = gw_arena_alloc(g->arena, sizeof(gw_gpolicy_t));
        p->obj = l->items[i];
        gw_ptrs_push(g->arena, &g->policies, p);
    }

    gw_ptrs_sort(&g->policies, gw_policy_cmp);

    for (i = 0; i < g->policies.n; i++) {
        p = g->policies.items[i];

        gw_policy_refs(g, p, store);
        gw_policy_ancestors(g, p);

        if (p->accepted && !gw_policy_sans_usable(p)) {
            p->accepted = 0;
            gw_conds_set(&p->conds, "Accepted", 0, "Invalid",
                         "a subjectAltNames uri has a space or a control "
                         "character; the targeted backends answer 500");
        }

        t = NULL;
        o = gw_policy_conflict(g, p, &t);
        if (o != NULL) {
            p->accepted = 0;
            gw_conds_set(&p->conds, "Accepted", 0, "Conflicted",
                         gw_arena_printf(g->arena, "BackendTLSPolicy %s/%s "
                             "is older and targets %s %s%s%s too",
                             o->obj->meta.namespace, o->obj->meta.name,
                             t->kind, t->name,
                             t->section_name ? " port " : "",
                             t->section_name ? t->section_name : ""));
        }
    }
}


const gw_gpolicy_t *
gw_policy_for(const gw_graph_t *g, const gw_gbackend_t *b)
{
    size_t                        i, j;
    const gw_gpolicy_t           *p, *any;
    const gw_backendtlspolicy_t  *spec;

    any = NULL;

    /* a policy naming the port wins over one naming the whole Service */
    for (i = 0; i < g->policies.n; i++) {
        p = g->policies.items[i];
        if (!p->accepted) {
            continue;
        }

        spec = &p->obj->u.backendtlspolicy;
        for (j = 0; j < spec->ntargets; j++) {
            if (!gw_policy_target_matches(&spec->targets[j],
                                          p->obj->meta.namespace, b, 0))
            {
                continue;
            }
            if (spec->targets[j].section_name != NULL) {
                return p;
            }
            if (any == NULL) {
                any = p;
            }
        }
    }

    return any;
}


int
gw_policy_targeted(const gw_graph_t *g, const gw_gbackend_t *b)
{
    size_t                        i, j;
    const gw_gpolicy_t           *p;
    const gw_backendtlspolicy_t  *spec;

    for (i = 0; i < g->policies.n; i++) {
        p = g->policies.items[i];
        spec = &p->obj->u.backendtlspolicy;

        for (j = 0; j < spec->ntargets; j++) {
            if (gw_policy_target_matches(&spec->targets[j],
                                         p->obj->meta.namespace, b, 0))
            {
                return 1;
            }
        }
    }

    return 0;
}
