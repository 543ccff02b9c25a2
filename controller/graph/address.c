/*
 * ngx-gateway: the address a Gateway is served at, from its
 * spec.addresses, and whether this host can serve an address at all.
 *
 * Every entry is checked: a type other than IPAddress refuses the Gateway
 * (Accepted False, UnsupportedAddress); an IP address this host does not
 * have is never listened on (nginx would fail to bind) and makes the
 * Gateway Programmed False, AddressNotUsable.  The data plane serves one
 * address per Gateway: the first usable entry.
 */

#include <string.h>
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "graph/graph.h"
#include "validate/names.h"


/* Whether a and b agree on the bits mask selects (len bytes). */
static int
gw_addr_masked_eq(const unsigned char *a, const unsigned char *b,
    const unsigned char *mask, size_t len)
{
    size_t  i;

    for (i = 0; i < len; i++) {
        if ((a[i] & mask[i]) != (b[i] & mask[i])) {
            return 0;
        }
    }

    return 1;
}


/* The address bytes of a sockaddr of family af, or NULL. */
static const unsigned char *
gw_addr_bytes(const struct sockaddr *sa, int af)
{
    if (sa == NULL || sa->sa_family != af) {
        return NULL;
    }

    if (af == AF_INET) {
        return (const unsigned char *)
               &((const struct sockaddr_in *) sa)->sin_addr;
    }

    return (const unsigned char *)
           &((const struct sockaddr_in6 *) sa)->sin6_addr;
}


/*
 * The default check: ip is the wildcard address, one of this host's
 * interface addresses, or inside the prefix of a loopback interface
 * (Linux answers for all of 127.0.0.0/8 on lo).  If the interfaces cannot
 * be read the address is taken as usable: the data plane then reports the
 * bind failure itself.
 */
int
gw_addr_host_has(const char *ip)
{
    int                   af, found;
    size_t                len;
    unsigned char         want[16];
    struct ifaddrs       *ifs, *ifa;
    const unsigned char  *have, *mask;
    static const unsigned char  any[16];

    if (inet_pton(AF_INET, ip, want) == 1) {
        af = AF_INET;
        len = 4;

    } else if (inet_pton(AF_INET6, ip, want) == 1) {
        af = AF_INET6;
        len = 16;

    } else {
        return 0;
    }

    if (memcmp(want, any, len) == 0) {
        return 1;
    }

    if (getifaddrs(&ifs) != 0) {
        return 1;
    }

    found = 0;

    for (ifa = ifs; ifa != NULL && !found; ifa = ifa->ifa_next) {
        have = gw_addr_bytes(ifa->ifa_addr, af);
        if (have == NULL) {
            continue;
        }

        if (memcmp(have, want, len) == 0) {
            found = 1;
            continue;
        }

        mask = gw_addr_bytes(ifa->ifa_netmask, af);

        if ((ifa->ifa_flags & IFF_LOOPBACK) && mask != NULL
            && gw_addr_masked_eq(have, want, mask, len))
        {
            found = 1;
        }
    }

    freeifaddrs(ifs);

    return found;
}


/* Appends "what" to a "; "-separated list. */
static const char *
gw_addr_note(gw_graph_t *g, const char *list, const char *what)
{
    if (list == NULL) {
        return what;
    }

    return gw_arena_printf(g->arena, "%s; %s", list, what);
}


void
gw_gateway_address(gw_graph_t *g, gw_ggateway_t *gw)
{
    int                  assign;
    size_t               i, n;
    const char          *why;
    const gw_address_t  *addr, *addrs;

    addrs = gw->obj->u.gateway.addresses;
    n = gw->obj->u.gateway.naddresses;

    gw->address = NULL;
    gw->address_unusable = NULL;

    /* one address of a type we cannot serve refuses the Gateway */
    for (i = 0; i < n; i++) {
        addr = &addrs[i];

        if (strcmp(addr->type, "IPAddress") == 0
            && (addr->value == NULL || addr->value[0] == '\0'
                || gw_valid_ip(addr->value, NULL)))
        {
            continue;
        }

        gw_conds_set(&gw->conds, "Accepted", 0, "UnsupportedAddress",
                     gw_arena_printf(g->arena, "address %s %s is not "
                         "supported: only IPAddress values can be used in "
                         "standalone mode; remove it from spec.addresses",
                         addr->type,
                         addr->value != NULL ? addr->value : ""));
        return;
    }

    why = NULL;
    assign = (n == 0);

    for (i = 0; i < n; i++) {
        addr = &addrs[i];

        if (addr->value == NULL || addr->value[0] == '\0') {
            /* "assign one": served where Gateways without one are */
            assign = 1;
            continue;
        }

        if (gw->address != NULL && strcmp(gw->address, addr->value) == 0) {
            continue;
        }

        if (!g->addr_usable(addr->value)) {
            why = gw_addr_note(g, why, gw_arena_printf(g->arena,
                      "address %s is not assigned to this host; assign "
                      "it to an interface or remove it from "
                      "spec.addresses", addr->value));
            continue;
        }

        if (gw->address != NULL) {
            why = gw_addr_note(g, why, gw_arena_printf(g->arena,
                      "address %s is not served: a Gateway is served at "
                      "one address (%s); remove the others from "
                      "spec.addresses", addr->value, gw->address));
            continue;
        }

        gw->address = addr->value;
    }

    gw->address_unusable = why;

    if (gw->address == NULL && assign) {
        gw->address = g->default_address;
    }
}
