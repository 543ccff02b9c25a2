/*
 * Unit tests: the address a Gateway is served at (graph/address.c): every
 * spec.addresses entry, UnsupportedAddress for a type we cannot serve,
 * AddressNotUsable for an address the host does not have, which is then
 * neither listened on nor reported in status.addresses.
 */

#include <stdio.h>

#include "gw_test_util.h"
#include "status/status.h"


/* The Gateway "gw" of gw_test_base with these spec.addresses. */
#define GW_ADDRESSES(list)                                                  \
    "apiVersion: gateway.networking.k8s.io/v1\n"                            \
    "kind: GatewayClass\n"                                                  \
    "metadata: {name: gc}\n"                                                \
    "spec: {controllerName: " GW_TEST_CONTROLLER "}\n"                      \
    "---\n"                                                                 \
    "apiVersion: gateway.networking.k8s.io/v1\n"                            \
    "kind: Gateway\n"                                                       \
    "metadata: {name: gw, namespace: infra}\n"                              \
    "spec:\n"                                                               \
    "  gatewayClassName: gc\n"                                              \
    "  addresses: " list "\n"                                               \
    "  listeners: [{name: http, port: 80, protocol: HTTP}]\n"


typedef struct {
    gw_arena_t      arena;
    gw_store_t      store;
    gw_graph_t     *g;
    gw_ggateway_t  *gw;
    gw_buf_t        conf;
} fixture_t;


static void
fixture_build(fixture_t *f, const char *yaml)
{
    gw_arena_init(&f->arena);
    gw_store_init(&f->store);
    gw_buf_init(&f->conf);
    gw_test_load(&f->store, yaml);

    f->g = gw_test_graph(&f->arena, &f->store);
    assert_int_equal(f->g->gateways.n, 1);
    f->gw = f->g->gateways.items[0];
}


static void
fixture_release(fixture_t *f)
{
    gw_buf_free(&f->conf);
    gw_arena_release(&f->arena);
    gw_store_release(&f->store);
}


/* The http config of the fixture's graph. */
static char *
fixture_render(fixture_t *f)
{
    gw_err_t          err;
    gw_render_conf_t  conf;

    memset(&conf, 0, sizeof(conf));
    conf.state_dir = "/var/lib/ngx-gateway";
    conf.module_path = "/usr/lib/nginx/modules/ngx_http_gateway_module.so";

    if (gw_render_http(gw_dataplane_build(&f->arena, f->g, 0), &conf,
                       &f->conf, &err)
        != GW_OK)
    {
        fail_msg("render: %s", err.msg);
    }

    return f->conf.data;
}


/* status.addresses of the Gateway as "type=value,...", "" when absent. */
static void
fixture_status_addresses(fixture_t *f, char *buf, size_t size)
{
    cJSON        *list, *it, *arr, *a;
    const cJSON  *items;
    size_t        len;

    list = gw_status_build(f->g, NULL, NULL);
    assert_non_null(list);

    items = cJSON_GetObjectItemCaseSensitive(list, "items");
    it = NULL;
    cJSON_ArrayForEach(it, items) {
        if (strcmp(cJSON_GetObjectItem(it, "kind")->valuestring, "Gateway")
            == 0)
        {
            break;
        }
    }
    assert_non_null(it);

    arr = cJSON_GetObjectItem(cJSON_GetObjectItem(it, "status"),
                              "addresses");
    buf[0] = '\0';
    len = 0;
    cJSON_ArrayForEach(a, arr) {
        len += snprintf(buf + len, size - len, "%s%s=%s", len ? "," : "",
                        cJSON_GetObjectItem(a, "type")->valuestring,
                        cJSON_GetObjectItem(a, "value")->valuestring);
        assert_true(len < size);
    }

    cJSON_Delete(list);
}


static void
check_cond(const gw_conds_t *conds, const char *type, const char *status,
    const char *reason)
{
    const gw_cond_t  *c;

    c = gw_conds_get(conds, type);
    assert_non_null(c);
    assert_string_equal(c->status, status);
    assert_string_equal(c->reason, reason);
}


static void
test_unsupported_type_refuses(void **state)
{
    fixture_t         f;
    const gw_cond_t  *c;
    char              addrs[256];

    (void) state;

    /* the conformance test's first state: one invalid type among them */
    fixture_build(&f, GW_ADDRESSES(
        "[{type: test/fake-invalid-type, value: 'fake address teehee!'},"
        " {type: IPAddress, value: 192.0.2.1},"
        " {type: IPAddress, value: 127.0.1.240}]"));

    check_cond(&f.gw->conds, "Accepted", "False", "UnsupportedAddress");
    check_cond(&f.gw->conds, "Programmed", "False", "Invalid");
    c = gw_conds_get(&f.gw->conds, "Accepted");
    assert_non_null(strstr(c->message, "test/fake-invalid-type"));
    assert_false(f.gw->accepted);

    fixture_status_addresses(&f, addrs, sizeof(addrs));
    assert_string_equal(addrs, "");
    assert_null(strstr(fixture_render(&f), "listen 127.0.1.240"));

    fixture_release(&f);
}


static void
test_unusable_address_not_programmed(void **state)
{
    fixture_t         f;
    char             *conf;
    const gw_cond_t  *c;
    char              addrs[256];

    (void) state;

    fixture_build(&f, GW_ADDRESSES(
        "[{type: IPAddress, value: 192.0.2.1},"
        " {type: IPAddress, value: 127.0.1.240}]"));

    check_cond(&f.gw->conds, "Accepted", "True", "Accepted");
    check_cond(&f.gw->conds, "Programmed", "False", "AddressNotUsable");
    c = gw_conds_get(&f.gw->conds, "Programmed");
    assert_non_null(strstr(c->message, "192.0.2.1"));

    /* the usable address keeps serving; the other is never bound */
    conf = fixture_render(&f);
    assert_non_null(strstr(conf, "listen 127.0.1.240:80"));
    assert_null(strstr(conf, "192.0.2.1"));

    fixture_status_addresses(&f, addrs, sizeof(addrs));
    assert_string_equal(addrs, "IPAddress=127.0.1.240");

    fixture_release(&f);
}


static void
test_usable_address_programmed(void **state)
{
    fixture_t  f;
    char       addrs[256];

    (void) state;

    fixture_build(&f, GW_ADDRESSES("[{type: IPAddress, value: 127.0.1.240}]"));

    check_cond(&f.gw->conds, "Accepted", "True", "Accepted");
    check_cond(&f.gw->conds, "Programmed", "True", "Programmed");
    check_cond(&f.gw->listeners[0].conds, "Programmed", "True",
               "Programmed");
    assert_non_null(strstr(fixture_render(&f), "listen 127.0.1.240:80"));

    fixture_status_addresses(&f, addrs, sizeof(addrs));
    assert_string_equal(addrs, "IPAddress=127.0.1.240");

    fixture_release(&f);
}


static void
test_only_unusable_serves_nothing(void **state)
{
    fixture_t  f;
    char      *conf;
    char       addrs[256];

    (void) state;

    fixture_build(&f, GW_ADDRESSES("[{type: IPAddress, value: 192.0.2.7}]"));

    check_cond(&f.gw->conds, "Accepted", "True", "Accepted");
    check_cond(&f.gw->conds, "Programmed", "False", "AddressNotUsable");
    check_cond(&f.gw->listeners[0].conds, "Programmed", "False", "Pending");
    assert_null(f.gw->address);

    /* neither the unusable address nor the default one is listened on */
    conf = fixture_render(&f);
    assert_null(strstr(conf, "192.0.2.7"));
    assert_null(strstr(conf, "listen 127.0.0.1:80"));

    fixture_status_addresses(&f, addrs, sizeof(addrs));
    assert_string_equal(addrs, "");

    fixture_release(&f);
}


static void
test_second_usable_address_named(void **state)
{
    fixture_t         f;
    char             *conf;
    const gw_cond_t  *c;

    (void) state;

    /* one address per Gateway: the second is reported, not ignored */
    fixture_build(&f, GW_ADDRESSES(
        "[{type: IPAddress, value: 127.0.1.241},"
        " {type: IPAddress, value: 127.0.1.242}]"));

    check_cond(&f.gw->conds, "Programmed", "False", "AddressNotUsable");
    c = gw_conds_get(&f.gw->conds, "Programmed");
    assert_non_null(strstr(c->message, "127.0.1.242"));

    conf = fixture_render(&f);
    assert_non_null(strstr(conf, "listen 127.0.1.241:80"));
    assert_null(strstr(conf, "127.0.1.242"));

    fixture_release(&f);
}


static void
test_empty_value_takes_default(void **state)
{
    fixture_t  f;
    char       addrs[256];

    (void) state;

    /* an empty value asks for an address: the default one */
    fixture_build(&f, GW_ADDRESSES(
        "[{type: IPAddress, value: ''}, {type: IPAddress, value: 192.0.2.1}]"));

    check_cond(&f.gw->conds, "Programmed", "False", "AddressNotUsable");
    assert_non_null(strstr(fixture_render(&f), "listen 127.0.0.1:80"));

    fixture_status_addresses(&f, addrs, sizeof(addrs));
    assert_string_equal(addrs, "IPAddress=127.0.0.1");

    fixture_release(&f);
}


static int  gw_test_calls;


static int
gw_test_none_usable(const char *ip)
{
    (void) ip;
    gw_test_calls++;
    return 0;
}


static void
test_check_injected(void **state)
{
    gw_arena_t        a;
    gw_store_t        s;
    gw_graph_t       *g;
    gw_graph_conf_t   conf;
    gw_ggateway_t    *gw;

    (void) state;

    gw_arena_init(&a);
    gw_store_init(&s);
    gw_test_load(&s, GW_ADDRESSES("[{type: IPAddress, value: 127.0.0.1}]"));

    memset(&conf, 0, sizeof(conf));
    conf.controller_name = GW_TEST_CONTROLLER;
    conf.default_address = "127.0.0.1";
    conf.addr_usable = gw_test_none_usable;
    gw_test_calls = 0;

    g = gw_graph_build(&a, &s, &conf);
    gw = g->gateways.items[0];

    assert_int_equal(gw_test_calls, 1);
    check_cond(&gw->conds, "Programmed", "False", "AddressNotUsable");
    assert_null(gw->address);

    gw_arena_release(&a);
    gw_store_release(&s);
}


static void
test_host_check(void **state)
{
    (void) state;

    /* the wildcard addresses are always usable */
    assert_true(gw_addr_host_has("0.0.0.0"));
    assert_true(gw_addr_host_has("::"));

    /* Linux answers for all of 127.0.0.0/8 on lo */
    assert_true(gw_addr_host_has("127.0.0.1"));
    assert_true(gw_addr_host_has("127.0.1.240"));

    /* TEST-NET-1 is never assigned */
    assert_false(gw_addr_host_has("192.0.2.1"));

    assert_false(gw_addr_host_has("example.com"));
    assert_false(gw_addr_host_has(""));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_unsupported_type_refuses),
        cmocka_unit_test(test_unusable_address_not_programmed),
        cmocka_unit_test(test_usable_address_programmed),
        cmocka_unit_test(test_only_unusable_serves_nothing),
        cmocka_unit_test(test_second_usable_address_named),
        cmocka_unit_test(test_empty_value_takes_default),
        cmocka_unit_test(test_check_injected),
        cmocka_unit_test(test_host_check),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
