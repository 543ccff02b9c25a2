/*
 * ngx-gateway: the view of RequestMirror (dataplane/filter_mirror.c): the
 * `mirror` directives of a rule's location (rule.tmpl), the internal
 * location of each mirror in its server and the split_clients of the
 * mirrored shares (http.tmpl).
 */

#ifndef GW_RENDER_MIRROR_H
#define GW_RENDER_MIRROR_H

#include "dataplane/dataplane.h"
#include "render/tmpl.h"

/* Sets "mirror_paths" (mirror_path) and "mirrored" on a rule's view. */
void gw_render_mirror_names(gw_view_t *v, const gw_dp_location_t *loc);

/* Appends mirror m to the server view's "mirrors". */
void gw_render_mirror(gw_arena_t *a, gw_view_t *sv, const gw_dp_mirror_t *m);

/* The "mirror_shares" of dp on root: mirror_bp, mirror_percent. */
void gw_render_mirror_shares(gw_arena_t *a, gw_view_t *root,
    const gw_dp_t *dp);

#endif /* GW_RENDER_MIRROR_H */
