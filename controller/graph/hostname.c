/*
 * ngx-gateway: hostname intersection between listeners and routes.
 */

#include <string.h>

#include "graph/graph.h"


int
gw_hostname_wildcard_match(const char *w, const char *h)
{
    size_t  wl, hl;

    if (w[0] != '*' || w[1] != '.') {
        return 0;
    }

    /* "*.example.com" covers any number of labels before ".example.com" */
    w += 1;
    wl = strlen(w);
    hl = strlen(h);

    return hl > wl && strcmp(h + hl - wl, w) == 0;
}


const char *
gw_hostname_intersect(const char *lh, const char *rh)
{
    if (lh == NULL) {
        return rh;
    }

    if (strcmp(lh, rh) == 0) {
        return lh;
    }

    if (gw_hostname_wildcard_match(lh, rh)) {
        return rh;
    }

    if (gw_hostname_wildcard_match(rh, lh)) {
        return lh;
    }

    return NULL;
}
