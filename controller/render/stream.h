/*
 * ngx-gateway: rendering the stream{} data plane (conf/stream.conf) with
 * templates/stream.tmpl.
 */

#ifndef GW_RENDER_STREAM_H
#define GW_RENDER_STREAM_H

#include "dataplane/stream.h"
#include "render/render.h"

/*
 * The size of the stream module's zone (gateway_stream_status_zone) for
 * s: at least twice what its series need, a power of two from 1m up.
 */
size_t gw_render_stream_zone_size(const gw_dp_stream_t *s);

/*
 * conf/stream.conf for s, included inside stream{}; s must have servers
 * (without any there is no stream{} block at all).
 */
int gw_render_stream(const gw_dp_stream_t *s, const gw_render_conf_t *conf,
    gw_buf_t *out, gw_err_t *err);

#endif /* GW_RENDER_STREAM_H */
