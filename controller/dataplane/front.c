/*
 * ngx-gateway: which ports need a front (see front.h), and, for TLS
 * listeners of different kinds on one port (HTTPS, TLS Terminate, TLS
 * Passthrough), which server names go where.
 *
 * The spec picks the listener of a connection by the most specific
 * hostname: the same name, then the longest wildcard, then a listener
 * without hostname.  An nginx map with `hostnames` looks names up in that
 * order too, so the front's map has one key per listener hostname (two
 * listeners of one port with one hostname conflict in the graph) and the
 * listener without hostname as its default; with none, the default is
 * http{} when the port has HTTPS, whose catch-all server answers unknown
 * names as it does on a port of its own, else the passthrough server,
 * which closes them before any handshake.  A
 * name a TLS listener takes but none of its routes does is closed by the
 * stream server's own map.
 */

#include <string.h>

#include "dataplane/front.h"
#include "validate/names.h"


typedef struct {
    gw_dp_front_t   f;
    gw_ptrs_t       listeners;  /* gw_glistener_t *, HTTPS and TLS */
} gw_dp_front_port_t;


/* The server behind a front that serves listener gl, or NULL. */
static const char *
gw_dp_front_server(const gw_glistener_t *gl)
{
    if (gl->served && strcmp(gl->spec->protocol, "HTTPS") == 0) {
        return GW_FRONT_HTTPS;
    }

    if (!gl->stream || strcmp(gl->spec->protocol, "TLS") != 0) {
        return NULL;
    }

    return gw_streq(gl->spec->tls_mode, "Passthrough") ? GW_FRONT_TLS
                                                        : GW_FRONT_TERM;
}


/*
 * An HTTP listener takes h2c beside HTTP/1.1 when it carries HTTP/2
 * end to end: a GRPCRoute, or an HTTPRoute rule to h2c backends
 * (appProtocol kubernetes.io/h2c), whose clients may speak HTTP/2 with
 * prior knowledge too.
 */
static int
gw_dp_front_grpc(const gw_glistener_t *gl)
{
    size_t        i, j;
    gw_attach_t  *at;
    const char   *proto;

    for (i = 0; i < gl->attachments.n; i++) {
        at = gl->attachments.items[i];
        if (at->route->kind == GW_KIND_GRPCROUTE
            && gw_listener_serves(gl, GW_KIND_GRPCROUTE))
        {
            return 1;
        }

        if (at->route->kind != GW_KIND_HTTPROUTE) {
            continue;
        }

        for (j = 0; j < at->route->nrules; j++) {
            proto = at->route->rules[j].protocol;
            if (at->route->rules[j].valid && proto != NULL
                && strcmp(proto, "kubernetes.io/h2c") == 0)
            {
                return 1;
            }
        }
    }

    return 0;
}


static gw_dp_front_port_t *
gw_dp_front_port(gw_arena_t *a, gw_map_t *ports, gw_ptrs_t *all,
    const gw_ggateway_t *gw, int port)
{
    const char          *key;
    gw_dp_front_port_t  *fp;

    key = gw_arena_printf(a, "%s %d", gw->address, port);

    fp = gw_map_get(ports, key);
    if (fp != NULL) {
        return fp;
    }

    fp = gw_arena_alloc(a, sizeof(gw_dp_front_port_t));
    fp->f.address = gw->address;
    fp->f.port = port;
    gw_valid_ip(gw->address, &fp->f.is_v6);
    fp->f.gateway = gw_arena_printf(a, "%s/%s", gw->obj->meta.namespace,
                                    gw->obj->meta.name);

    gw_map_put(ports, key, fp);
    gw_ptrs_push(a, all, fp);

    return fp;
}


/* By hostname, the default (NULL) last. */
static int
gw_dp_front_sni_cmp(const void *a, const void *b)
{
    const gw_dp_front_sni_t  *x = *(gw_dp_front_sni_t * const *) a;
    const gw_dp_front_sni_t  *y = *(gw_dp_front_sni_t * const *) b;

    if (x->hostname == NULL || y->hostname == NULL) {
        return (x->hostname == NULL) - (y->hostname == NULL);
    }

    return strcmp(x->hostname, y->hostname);
}


/* The server names of a port with TLS listeners of different kinds. */
static void
gw_dp_front_snis(gw_arena_t *a, gw_dp_front_port_t *fp)
{
    size_t              i;
    gw_map_t            seen;
    const char         *key, *server, *dflt;
    gw_glistener_t     *gl;
    gw_dp_front_sni_t  *e;

    gw_map_init(&seen, a);
    dflt = fp->f.https ? GW_FRONT_HTTPS
           : fp->f.passthrough ? GW_FRONT_TLS : GW_FRONT_TERM;

    for (i = 0; i < fp->listeners.n; i++) {
        gl = fp->listeners.items[i];
        server = gw_dp_front_server(gl);

        if (gl->spec->hostname == NULL) {
            dflt = server;
            continue;
        }

        key = gl->spec->hostname;
        if (gw_map_get(&seen, key) != NULL) {
            continue;
        }

        e = gw_arena_alloc(a, sizeof(gw_dp_front_sni_t));
        e->hostname = key;
        e->server = server;

        gw_map_put(&seen, key, e);
        gw_ptrs_push(a, &fp->f.snis, e);
    }

    e = gw_arena_alloc(a, sizeof(gw_dp_front_sni_t));
    e->server = dflt;
    gw_ptrs_push(a, &fp->f.snis, e);

    gw_ptrs_sort(&fp->f.snis, gw_dp_front_sni_cmp);
}


static int
gw_dp_front_cmp(const void *a, const void *b)
{
    const gw_dp_front_t  *x = *(gw_dp_front_t * const *) a;
    const gw_dp_front_t  *y = *(gw_dp_front_t * const *) b;
    int                   rc;

    rc = strcmp(x->address, y->address);
    if (rc != 0) {
        return rc;
    }

    return x->port - y->port;
}


gw_ptrs_t *
gw_dp_fronts(gw_arena_t *a, const gw_graph_t *g, int port_offset)
{
    size_t               i, j;
    gw_map_t             ports;
    gw_ptrs_t            all, *fronts;
    const char          *server;
    gw_ggateway_t       *gw;
    gw_glistener_t      *gl;
    gw_dp_front_port_t  *fp;

    gw_map_init(&ports, a);
    memset(&all, 0, sizeof(all));
    fronts = gw_arena_alloc(a, sizeof(gw_ptrs_t));

    for (i = 0; i < g->gateways.n; i++) {
        gw = g->gateways.items[i];
        if (!gw->accepted || gw->address == NULL) {
            continue;
        }

        for (j = 0; j < gw->nlisteners; j++) {
            gl = &gw->listeners[j];
            if (!gl->accepted) {
                continue;
            }

            server = gw_dp_front_server(gl);

            if (server != NULL) {
                fp = gw_dp_front_port(a, &ports, &all, gw,
                                      gl->spec->port + port_offset);
                fp->f.https |= strcmp(server, GW_FRONT_HTTPS) == 0;
                fp->f.passthrough |= strcmp(server, GW_FRONT_TLS) == 0;
                fp->f.terminate |= strcmp(server, GW_FRONT_TERM) == 0;
                gw_ptrs_push(a, &fp->listeners, gl);

            } else if (gl->served && strcmp(gl->spec->protocol, "HTTP") == 0
                       && gw_dp_front_grpc(gl))
            {
                fp = gw_dp_front_port(a, &ports, &all, gw,
                                      gl->spec->port + port_offset);
                fp->f.h2c = 1;
            }
        }
    }

    for (i = 0; i < all.n; i++) {
        fp = all.items[i];
        fp->f.tls = fp->f.https + fp->f.passthrough + fp->f.terminate > 1;
        if (fp->f.tls) {
            gw_dp_front_snis(a, fp);
        }
        if (fp->f.tls || fp->f.h2c) {
            gw_ptrs_push(a, fronts, &fp->f);
        }
    }

    gw_ptrs_sort(fronts, gw_dp_front_cmp);

    for (i = 0; i < fronts->n; i++) {
        ((gw_dp_front_t *) fronts->items[i])->index = i;
    }

    return fronts;
}


const gw_dp_front_t *
gw_dp_front_find(const gw_ptrs_t *fronts, const char *address, int port)
{
    size_t                i;
    const gw_dp_front_t  *f;

    for (i = 0; i < fronts->n; i++) {
        f = fronts->items[i];
        if (f->port == port && strcmp(f->address, address) == 0) {
            return f;
        }
    }

    return NULL;
}


const char *
gw_dp_front_sock(gw_arena_t *a, const char *state_dir,
    const gw_dp_front_t *f, const char *server)
{
    return gw_arena_printf(a, "unix:%s/" GW_FRONT_SOCK, state_dir, f->index,
                           server);
}
