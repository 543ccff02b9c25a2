/*
 * ngx-gateway: the upstreams, session maps, mirror shares and weighted
 * splits of the http{} data plane.
 */

#include <string.h>

#include "render/mirror.h"
#include "render/proxy.h"
#include "render/render.h"
#include "render/render_int.h"


void
gw_render_upstreams(gw_arena_t *a, gw_view_t *root, const gw_dp_t *dp)
{
    size_t                   i, j;
    gw_view_t               *v, *sv;
    const gw_dp_upstream_t  *u;

    for (i = 0; i < dp->upstreams.n; i++) {
        u = dp->upstreams.items[i];
        v = gw_view_add(root, "upstreams");
        gw_view_set(v, "name", u->name);
        gw_view_set(v, "service", u->service);
        if (gw_render_tag_ok(u->service)) {
            gw_view_set(v, "backend_tag", u->service);
        }
        gw_render_proxy_upstream(v, u);
        for (j = 0; j < u->nservers; j++) {
            sv = gw_view_add(v, "servers");
            gw_view_set(sv, "address", u->servers[j]);
        }
    }

    gw_render_proxy_sessions(root, dp);
    gw_render_mirror_shares(a, root, dp);

    for (i = 0; i < dp->splits.n; i++) {
        gw_render_split(a, root, dp->splits.items[i]);
    }
}


/*
 * A labelled split's maps (dataplane.h): the upstream of each label, and
 * for each header its backendRefs modify, the value of each label.
 */
static void
gw_render_split_labelled(gw_arena_t *a, gw_view_t *v, const gw_dp_split_t *s)
{
    size_t                     i, j;
    gw_view_t                 *uv, *hv, *ev;
    const char                *label, *expr, *str;
    const gw_dp_header_mod_t  *m;

    gw_view_set_flag(v, "labelled", 1);

    for (i = 0; i < s->nshares; i++) {
        uv = gw_view_add(v, "split_ups");
        gw_view_setf(uv, "label", "b%zu", s->shares[i].backend);
        gw_view_set(uv, "up", s->shares[i].upstream);
    }

    for (j = 0; s->loc != NULL && j < s->nnames; j++) {
        hv = gw_view_add(v, "split_headers");
        gw_view_set(hv, "hname", s->names[j]);
        gw_view_setf(hv, "hvar", "%s_h_%zu", s->var, j);

        for (i = 0; i < s->nshares; i++) {
            label = gw_arena_printf(a, "b%zu", s->shares[i].backend);
            m = s->requests[i];
            gw_render_request_header_value(a, s->loc, m, s->names[j], &expr,
                                           &str);
            ev = gw_view_add(hv, "hvalues");
            gw_view_set(ev, "label", label);
            if (expr != NULL) {
                gw_view_set(ev, "hexpr", expr);
            } else {
                gw_view_set(ev, "hstr", str);
            }
        }
    }
}


void
gw_render_split(gw_arena_t *a, gw_view_t *root, const gw_dp_split_t *s)
{
    size_t      i;
    long        bp;
    gw_view_t  *v, *sv;

    v = gw_view_add(root, "splits");
    gw_view_set(v, "var", s->var);
    gw_view_set(v, "key", s->key ? s->key : "request_id");

    /* basis points, the last share takes the remainder ("*") */
    for (i = 0; i < s->nshares; i++) {
        sv = gw_view_add(v, "shares");
        if (s->labelled) {
            gw_view_setf(sv, "upstream", "b%zu", s->shares[i].backend);
        } else {
            gw_view_set(sv, "upstream", s->shares[i].upstream);
        }

        if (i == s->nshares - 1) {
            gw_view_set(sv, "percent", "*");
            break;
        }

        bp = (long) s->shares[i].weight * 10000 / s->total;
        gw_view_set(sv, "percent", gw_arena_printf(a, "%ld.%02ld%%",
                                                   bp / 100, bp % 100));
    }

    if (s->labelled) {
        gw_render_split_labelled(a, v, s);
    }
}
