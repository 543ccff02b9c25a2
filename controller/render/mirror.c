/*
 * ngx-gateway: RequestMirror rendered (see render/mirror.h).
 */

#include <string.h>

#include "render/mirror.h"
#include "render/render.h"

#define GW_RENDER_MIRROR_ALL  10000


void
gw_render_mirror_names(gw_view_t *v, const gw_dp_location_t *loc)
{
    size_t  i;

    for (i = 0; i < loc->nmirrors; i++) {
        gw_view_set(gw_view_add(v, "mirror_paths"), "mirror_path",
                    loc->mirrors[i]->path);
    }

    gw_view_set_flag(v, "mirrored", loc->nmirrors > 0);
}


void
gw_render_mirror(gw_arena_t *a, gw_view_t *sv, const gw_dp_mirror_t *m)
{
    gw_view_t         *v;
    gw_dp_location_t   loc;

    v = gw_view_add(sv, "mirrors");
    gw_view_set(v, "mirror_path", m->path);
    gw_view_set(v, "mirror_route", m->route);
    gw_view_set_int(v, "mirror_rule", (long long) m->rule);
    gw_view_set(v, "mirror_service", m->service);
    gw_view_set(v, "mirror_upstream", m->upstream);

    if (m->bp < GW_RENDER_MIRROR_ALL) {
        gw_view_set_int(v, "mirror_bp", m->bp);
    }

    /* the headers the rule's own locations send */
    memset(&loc, 0, sizeof(loc));
    loc.host = m->host;
    loc.request = m->request;

    gw_render_request_headers(a, v, &loc);
}


void
gw_render_mirror_shares(gw_arena_t *a, gw_view_t *root, const gw_dp_t *dp)
{
    size_t                 i;
    gw_view_t             *v;
    const gw_dp_mirror_t  *m;

    for (i = 0; i < dp->mirror_shares.n; i++) {
        m = dp->mirror_shares.items[i];
        v = gw_view_add(root, "mirror_shares");
        gw_view_set_int(v, "mirror_bp", m->bp);
        gw_view_set(v, "mirror_percent",
                    gw_arena_printf(a, "%d.%02d%%", m->bp / 100,
                                    m->bp % 100));
    }
}
