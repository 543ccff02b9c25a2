/*
 * ngx-gateway: store -> graph -> data plane -> rendered http and stream
 * config.
 */

#include <string.h>

#include "app/app.h"
#include "render/render.h"
#include "render/stream.h"


/*
 * The certificate files of stream{} (TLS Terminate) join those of
 * http{}, so the runtime writes and keeps every file either names.
 */
static void
gw_plan_stream_certs(gw_plan_t *p)
{
    size_t         i, j;
    gw_dp_cert_t  *c;

    for (i = 0; i < p->stream_dp->certs.n; i++) {
        c = p->stream_dp->certs.items[i];

        for (j = 0; j < p->dp->certs.n; j++) {
            if (strcmp(((gw_dp_cert_t *) p->dp->certs.items[j])->file,
                       c->file) == 0)
            {
                break;
            }
        }

        if (j == p->dp->certs.n) {
            gw_ptrs_push(&p->arena, &p->dp->certs, c);
        }
    }

    gw_ptrs_sort(&p->dp->certs, gw_dp_cert_cmp);
}


int
gw_plan_build(gw_plan_t *p, const gw_store_t *store,
    const gw_store_t *served_secrets, const gw_app_conf_t *conf,
    gw_err_t *err)
{
    gw_graph_conf_t   gc;
    gw_render_conf_t  rc;

    memset(p, 0, sizeof(gw_plan_t));
    gw_arena_init(&p->arena);
    gw_buf_init(&p->http);
    gw_buf_init(&p->stream);

    gc.controller_name = conf->controller_name;
    gc.default_address = conf->default_address;
    gc.served_secrets = served_secrets;
    /* an address this host does not have is never listened on */
    gc.addr_usable = gw_addr_host_has;

    p->graph = gw_graph_build(&p->arena, store, &gc);
    p->dp = gw_dataplane_build(&p->arena, p->graph, conf->port_offset);
    p->stream_dp = gw_dp_stream_build(&p->arena, p->graph,
                                      conf->port_offset);
    gw_plan_stream_certs(p);

    memset(&rc, 0, sizeof(rc));
    rc.state_dir = conf->state_dir;
    rc.module_path = conf->module_path;
    rc.stream_module_path = conf->stream_module_path;

    if (gw_render_http(p->dp, &rc, &p->http, err) != GW_OK) {
        return GW_ERR;
    }

    if (p->stream_dp->servers.n == 0) {
        return GW_OK;
    }

    return gw_render_stream(p->stream_dp, &rc, &p->stream, err);
}


void
gw_plan_confs(const gw_plan_t *p, gw_runtime_confs_t *confs)
{
    confs->http = p->http.data;
    confs->stream = p->stream.len > 0 ? p->stream.data : NULL;
    confs->certs = p->dp != NULL ? &p->dp->certs : NULL;
}


void
gw_plan_release(gw_plan_t *p)
{
    gw_buf_free(&p->stream);
    gw_buf_free(&p->http);
    gw_arena_release(&p->arena);
}
