/*
 * ngx-gateway: store -> graph -> data plane -> rendered http config.
 */

#include <string.h>

#include "app/app.h"
#include "render/render.h"


int
gw_plan_build(gw_plan_t *p, const gw_store_t *store,
    const gw_app_conf_t *conf, gw_err_t *err)
{
    gw_graph_conf_t   gc;
    gw_render_conf_t  rc;

    memset(p, 0, sizeof(gw_plan_t));
    gw_arena_init(&p->arena);
    gw_buf_init(&p->http);

    gc.controller_name = conf->controller_name;
    gc.default_address = conf->default_address;

    p->graph = gw_graph_build(&p->arena, store, &gc);
    p->dp = gw_dataplane_build(&p->arena, p->graph, conf->port_offset);

    memset(&rc, 0, sizeof(rc));
    rc.state_dir = conf->state_dir;
    rc.module_path = conf->module_path;

    return gw_render_http(p->dp, &rc, &p->http, err);
}


void
gw_plan_release(gw_plan_t *p)
{
    gw_buf_free(&p->http);
    gw_arena_release(&p->arena);
}
