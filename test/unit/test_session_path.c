/*
 * ngx-gateway unit tests: the cookie of a rule's sessionPersistence
 * (dataplane/session.c): its Path is the leading whole segments every
 * path match of the rule shares, so the browser sends it on each of the
 * rule's paths and on no path the rule does not match; one session per
 * rule, however many listeners serve it.
 */

#include <stdio.h>

#include "gw_test_util.h"


static const gw_dp_session_t *
gw_session_of(gw_arena_t *a, gw_store_t *s, const char *matches,
    size_t *nsessions)
{
    gw_graph_t       *g;
    gw_dp_t          *dp;
    const char       *yaml;
    const gw_cond_t  *c;

    yaml = gw_arena_printf(a,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra}]\n"
        "  rules:\n"
        "  - matches: %s\n"
        "    sessionPersistence: {sessionName: s}\n"
        "    backendRefs: [{name: svc, port: 80}]\n", matches);

    gw_store_init(s);
    gw_test_load(s, gw_test_base);
    gw_test_load(s, yaml);

    g = gw_test_graph(a, s);
    c = gw_test_route_cond(g, "r", "Accepted");
    if (strcmp(c->status, "True") != 0) {
        fail_msg("%s: Accepted %s: %s", matches, c->reason, c->message);
    }

    dp = gw_dataplane_build(a, g, 0);
    *nsessions = dp->sessions.n;

    return dp->sessions.n ? dp->sessions.items[0] : NULL;
}


static void
test_cookie_path_is_the_common_leading_segments(void **state)
{
    size_t                  i, n;
    gw_arena_t              a;
    gw_store_t              s;
    const gw_dp_session_t  *sp;
    static const struct {
        const char  *matches;
        const char  *path;
    } cases[] = {
        { "[{path: {type: PathPrefix, value: /cart}}]", "/cart" },
        { "[{path: {type: PathPrefix, value: /cart/}}]", "/cart" },
        { "[{path: {type: Exact, value: /cart/checkout}}]",
          "/cart/checkout" },
        { "[{path: {type: PathPrefix, value: /a/b}},"
          " {path: {type: PathPrefix, value: /a/c}}]", "/a" },
        { "[{path: {type: PathPrefix, value: /a/bc}},"
          " {path: {type: PathPrefix, value: /a/b}}]", "/a" },
        { "[{path: {type: Exact, value: /a}},"
          " {path: {type: PathPrefix, value: /a/b}}]", "/a" },
        { "[{path: {type: PathPrefix, value: /a/b}},"
          " {path: {type: Exact, value: /a}}]", "/a" },
        /* "/ab" and "/a" share no whole segment */
        { "[{path: {type: PathPrefix, value: /ab}},"
          " {path: {type: Exact, value: /a}}]", "/" },
        { "[{path: {type: PathPrefix, value: /a/b/c}},"
          " {path: {type: PathPrefix, value: /a/b/d}},"
          " {path: {type: PathPrefix, value: /a/x}}]", "/a" },
        { "[{path: {type: PathPrefix, value: /x}},"
          " {path: {type: PathPrefix, value: /y}}]", "/" },
        { "[{path: {type: RegularExpression, value: /cart/.*}}]", "/" },
        { "[{headers: [{name: X-A, value: b}]}]", "/" },
        /* a character the Path attribute does not keep as written */
        { "[{path: {type: PathPrefix, value: '/a(b)/c'}}]", "/" },
    };

    (void) state;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        gw_arena_init(&a);

        sp = gw_session_of(&a, &s, cases[i].matches, &n);
        if (sp == NULL || sp->path == NULL
            || strcmp(sp->path, cases[i].path) != 0)
        {
            fail_msg("case %zu %s: Path %s, want %s", i, cases[i].matches,
                     sp && sp->path ? sp->path : "(none)", cases[i].path);
        }
        assert_int_equal(n, 1);
        assert_string_equal(sp->name, "s");
        assert_false(sp->header);
        assert_int_equal(sp->max_age, -1);

        gw_store_release(&s);
        gw_arena_release(&a);
    }
}


/* Served on two listeners (two servers): one session, one set of maps. */
static void
test_one_session_per_rule(void **state)
{
    size_t                  i;
    gw_arena_t              a;
    gw_store_t              s;
    gw_graph_t             *g;
    gw_dp_t                *dp;
    const gw_dp_session_t  *sp;

    (void) state;
    gw_arena_init(&a);
    gw_store_init(&s);
    gw_test_load(&s, gw_test_base);
    gw_test_load(&s,
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: Gateway\n"
        "metadata: {name: gw2, namespace: infra}\n"
        "spec:\n"
        "  gatewayClassName: gc\n"
        "  listeners:\n"
        "  - {name: a, port: 8080, protocol: HTTP,"
        " allowedRoutes: {namespaces: {from: All}}}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: app}\n"
        "spec:\n"
        "  parentRefs: [{name: gw, namespace: infra},"
        " {name: gw2, namespace: infra}]\n"
        "  hostnames: [a.example.com, b.example.com]\n"
        "  rules:\n"
        "  - sessionPersistence: {type: Header}\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /p}}]\n"
        "    sessionPersistence:\n"
        "      absoluteTimeout: 1500ms\n"
        "      cookieConfig: {lifetimeType: Permanent}\n"
        "    backendRefs: [{name: svc, port: 80}]\n");

    g = gw_test_graph(&a, &s);
    dp = gw_dataplane_build(&a, g, 0);

    assert_int_equal(dp->sessions.n, 2);

    /* the defaults; a permanent cookie lives whole seconds, rounded up */
    assert_true(((gw_dp_session_t *) dp->sessions.items[0])->header
                != ((gw_dp_session_t *) dp->sessions.items[1])->header);

    for (i = 0; i < 2; i++) {
        sp = dp->sessions.items[i];

        if (sp->header) {
            assert_string_equal(sp->name, "X-Gw-Session");
            assert_string_equal(sp->source, "http_x_gw_session");
        } else {
            assert_string_equal(sp->name, "gw_session");
            assert_string_equal(sp->path, "/p");
            assert_int_equal(sp->max_age, 2);
        }
    }

    gw_store_release(&s);
    gw_arena_release(&a);
}


int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cookie_path_is_the_common_leading_segments),
        cmocka_unit_test(test_one_session_per_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
