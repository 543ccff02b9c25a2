/*
 * ngx-gateway: the data plane in a canonical order, so the same input
 * always renders byte-identical configuration.
 */

#include <string.h>

#include "dataplane/dataplane_int.h"


static int
gw_dp_listen_cmp(const void *a, const void *b)
{
    const gw_dp_listen_t  *x = *(gw_dp_listen_t * const *) a;
    const gw_dp_listen_t  *y = *(gw_dp_listen_t * const *) b;
    int                    rc;

    rc = strcmp(x->address, y->address);
    if (rc != 0) {
        return rc;
    }

    return x->port - y->port;
}


/* The catch-all server first, then by hostname. */
static int
gw_dp_server_cmp(const void *a, const void *b)
{
    const gw_dp_server_t  *x = *(gw_dp_server_t * const *) a;
    const gw_dp_server_t  *y = *(gw_dp_server_t * const *) b;

    if (x->hostname == NULL || y->hostname == NULL) {
        return (x->hostname != NULL) - (y->hostname != NULL);
    }

    return strcmp(x->hostname, y->hostname);
}


static int
gw_dp_location_cmp(const void *a, const void *b)
{
    const gw_dp_location_t  *x = *(gw_dp_location_t * const *) a;
    const gw_dp_location_t  *y = *(gw_dp_location_t * const *) b;
    int                      rc;

    rc = strcmp(x->path, y->path);
    if (rc != 0) {
        return rc;
    }

    return y->exact - x->exact;
}


int
gw_dp_upstream_cmp(const void *a, const void *b)
{
    const gw_dp_upstream_t  *x = *(gw_dp_upstream_t * const *) a;
    const gw_dp_upstream_t  *y = *(gw_dp_upstream_t * const *) b;

    return strcmp(x->name, y->name);
}


int
gw_dp_cert_cmp(const void *a, const void *b)
{
    const gw_dp_cert_t  *x = *(gw_dp_cert_t * const *) a;
    const gw_dp_cert_t  *y = *(gw_dp_cert_t * const *) b;

    return strcmp(x->file, y->file);
}


static int
gw_dp_string_cmp(const void *a, const void *b)
{
    return strcmp(*(const char * const *) a, *(const char * const *) b);
}


void
gw_dp_sort(gw_dp_t *dp)
{
    size_t           i, j;
    gw_dp_listen_t  *l;

    gw_ptrs_sort(&dp->listens, gw_dp_listen_cmp);
    gw_ptrs_sort(&dp->upstreams, gw_dp_upstream_cmp);
    gw_ptrs_sort(&dp->joins, gw_dp_string_cmp);

    for (i = 0; i < dp->listens.n; i++) {
        l = dp->listens.items[i];
        gw_ptrs_sort(&l->servers, gw_dp_server_cmp);
        for (j = 0; j < l->servers.n; j++) {
            gw_ptrs_sort(&((gw_dp_server_t *) l->servers.items[j])->locations,
                         gw_dp_location_cmp);
        }
    }
}
