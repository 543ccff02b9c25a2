/*
 * ngx-gateway unit tests: HTTPRoute rules[].timeouts, .retry and
 * .sessionPersistence as decoded with the CRD's checks
 * (api/decode_rule_ext.c); sessionPersistence through the graph
 * (graph/route_ext.c) and the data plane (dataplane/session.c).
 */

#include <stdio.h>
#include <string.h>

#include "gw_test_util.h"
#include "api/rule_ext.h"


static void
test_durations_parse_to_milliseconds(void **state)
{
    size_t    i;
    int64_t   ms;
    static const struct {
        const char  *s;
        int64_t      ms;
    } ok[] = {
        { "0s", 0 },
        { "500ms", 500 },
        { "1s", 1000 },
        { "1h30m", 5400000 },
        { "1h1m1s1ms", 3661001 },
        { "99999ms", 99999 },
        { "2m", 120000 },
    };

    (void) state;

    for (i = 0; i < gw_countof(ok); i++) {
        ms = -2;
        assert_int_equal(gw_duration_parse(ok[i].s, &ms), GW_OK);
        assert_true(ms == ok[i].ms);
    }
}


static void
test_bad_durations_are_refused(void **state)
{
    size_t    i;
    int64_t   ms;
    static const char  *bad[] = {
        "", "1", "1d", "s", "-1s", "1.5s", "123456s", "1h1m1s1ms1h",
        " 1s", "1s ", "1us", "1S",
    };

    (void) state;

    for (i = 0; i < gw_countof(bad); i++) {
        assert_int_equal(gw_duration_parse(bad[i], &ms), GW_ERR);
    }
}


/* Decodes the rule given as JSON; GW_OK or GW_ERR with err. */
static int
decode(const char *json, gw_rule_ext_t *out, gw_err_t *err,
    gw_arena_t *a)
{
    int     rc;
    cJSON  *rule;

    rule = cJSON_Parse(json);
    assert_non_null(rule);
    rc = gw_rule_ext_decode(a, rule, "spec.rules[0]", out, err);
    cJSON_Delete(rule);

    return rc;
}


static void
test_rule_without_fields_has_none(void **state)
{
    gw_err_t       err;
    gw_arena_t     a;
    gw_rule_ext_t  ext;

    (void) state;
    gw_arena_init(&a);

    assert_int_equal(decode("{}", &ext, &err, &a), GW_OK);
    assert_true(ext.request_ms == GW_DURATION_UNSET);
    assert_true(ext.backend_ms == GW_DURATION_UNSET);
    assert_int_equal(ext.retry, 0);
    assert_null(ext.session);

    gw_arena_release(&a);
}


static void
test_timeouts_retry_and_session_decode(void **state)
{
    gw_err_t       err;
    gw_arena_t     a;
    gw_rule_ext_t  ext;

    (void) state;
    gw_arena_init(&a);

    assert_int_equal(decode("{\"timeouts\": {\"request\": \"10s\", "
                            "\"backendRequest\": \"500ms\"}, "
                            "\"retry\": {\"codes\": [500, 503], "
                            "\"attempts\": 3, \"backoff\": \"100ms\"}, "
                            "\"sessionPersistence\": {\"sessionName\": "
                            "\"s\", \"absoluteTimeout\": \"1h\", "
                            "\"cookieConfig\": {\"lifetimeType\": "
                            "\"Permanent\"}}}", &ext, &err, &a), GW_OK);
    assert_true(ext.request_ms == 10000);
    assert_true(ext.backend_ms == 500);
    assert_int_equal(ext.retry, 1);
    assert_int_equal(ext.attempts, 3);
    assert_int_equal(ext.ncodes, 2);
    assert_int_equal(ext.codes[0], 500);
    assert_int_equal(ext.codes[1], 503);
    assert_true(ext.backoff_ms == 100);
    assert_non_null(ext.session);
    assert_int_equal(ext.session->type, GW_SESSION_COOKIE);
    assert_string_equal(ext.session->name, "s");
    assert_int_equal(ext.session->permanent, 1);
    assert_true(ext.session->absolute_ms == 3600000);

    /* backendRequest may exceed a disabled (0s) request timeout */
    assert_int_equal(decode("{\"timeouts\": {\"request\": \"0s\", "
                            "\"backendRequest\": \"5s\"}}", &ext, &err, &a),
                     GW_OK);
    assert_true(ext.request_ms == 0);
    assert_true(ext.backend_ms == 5000);

    gw_arena_release(&a);
}


static void
test_crd_refusals_name_the_field(void **state)
{
    size_t         i;
    gw_err_t       err;
    gw_arena_t     a;
    gw_rule_ext_t  ext;
    static const struct {
        const char  *json;
        const char  *want;
    } bad[] = {
        { "{\"timeouts\": {\"request\": \"1d\"}}",
          "spec.rules[0].timeouts.request: Invalid value: \"1d\"" },
        { "{\"timeouts\": {\"request\": \"1s\", \"backendRequest\": \"2s\"}}",
          "backendRequest timeout cannot be longer than request timeout" },
        { "{\"retry\": {\"codes\": [399]}}",
          "spec.rules[0].retry.codes[0]: Invalid value" },
        { "{\"retry\": {\"codes\": [500, 500]}}",
          "retry.codes[1]: Duplicate value: 500" },
        { "{\"retry\": {\"attempts\": 0}}",
          "retry.attempts: must be between 1 and" },
        { "{\"sessionPersistence\": {\"type\": \"Query\"}}",
          "sessionPersistence.type: Unsupported value: \"Query\"" },
        { "{\"sessionPersistence\": {\"type\": \"Header\", "
          "\"cookieConfig\": {}}}",
          "cookieConfig can only be set with type Cookie" },
        { "{\"sessionPersistence\": {\"cookieConfig\": "
          "{\"lifetimeType\": \"Permanent\"}}}",
          "AbsoluteTimeout must be specified" },
    };

    (void) state;
    gw_arena_init(&a);

    for (i = 0; i < gw_countof(bad); i++) {
        err.msg[0] = '\0';
        assert_int_equal(decode(bad[i].json, &ext, &err, &a), GW_ERR);
        if (strstr(err.msg, bad[i].want) == NULL) {
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].json, err.msg,
                     bad[i].want);
        }
    }

    gw_arena_release(&a);
}


/* The http config of the test base and one route "r" with rules. */
static void
render_route(const char *rules, gw_buf_t *out)
{
    char        doc[8192];
    gw_store_t  st;

    snprintf(doc, sizeof(doc),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: r, namespace: app}\n"
             "spec:\n"
             "  parentRefs: [{name: gw, namespace: infra}]\n"
             "  rules:\n"
             "%s", rules);

    gw_store_init(&st);
    gw_test_load(&st, gw_test_base);
    gw_test_load(&st, doc);
    gw_buf_init(out);
    gw_test_render(&st, out);
    gw_store_release(&st);
}


/* The PartiallyInvalid condition of route "r" with rules. */
static const gw_cond_t *
route_cond(gw_arena_t *a, gw_store_t *st, const char *rules)
{
    char  doc[8192];

    snprintf(doc, sizeof(doc),
             "apiVersion: gateway.networking.k8s.io/v1\n"
             "kind: HTTPRoute\n"
             "metadata: {name: r, namespace: app}\n"
             "spec:\n"
             "  parentRefs: [{name: gw, namespace: infra}]\n"
             "  rules:\n"
             "%s"
             "  - backendRefs: [{name: svc, port: 80}]\n", rules);

    gw_store_init(st);
    gw_test_load(st, gw_test_base);
    gw_test_load(st, doc);

    return gw_test_route_cond(gw_test_graph(a, st), "r",
                              "PartiallyInvalid");
}


static void
test_cookie_session_renders_maps_hash_and_header(void **state)
{
    gw_buf_t  out;

    (void) state;

    render_route(
        "  - matches:\n"
        "    - {path: {type: PathPrefix, value: /shop/a/}}\n"
        "    - {path: {type: Exact, value: /shop/b}}\n"
        "    sessionPersistence:\n"
        "      sessionName: sid.v1\n"
        "      absoluteTimeout: 1500ms\n"
        "      cookieConfig: {lifetimeType: Permanent}\n"
        "    backendRefs: [{name: svc, port: 80}]\n", &out);

    /* the rule's own upstream, balanced by the session key */
    assert_non_null(strstr(out.data, "upstream app_svc_80_gw_sp_0 {\n"
                                     "    hash $gw_sp_0_key consistent;"));
    /* the cookie's value, '.' escaped (and the '\' quoted for nginx) */
    assert_non_null(strstr(out.data, "map $http_cookie $gw_sp_0 {\n"
                           "    \"~(?:^|;)\\\\s*sid\\\\.v1="
                           "([^;\\\\s]+)\" $1;"));
    assert_non_null(strstr(out.data, "map $gw_sp_0 $gw_sp_0_key {\n"
                                     "    \"\" $request_id;\n"
                                     "    default $gw_sp_0;"));
    /* Path: the segments both matches share; Max-Age rounded up */
    assert_non_null(strstr(out.data, "\"\" \"sid.v1=$request_id; "
                                     "Path=/shop; Max-Age=2; "
                                     "HttpOnly\";"));
    assert_non_null(strstr(out.data, "add_header Set-Cookie $gw_sp_0_set "
                                     "always;"));
    assert_non_null(strstr(out.data, "proxy_pass http://"
                                     "app_svc_80_gw_sp_0;"));

    gw_buf_free(&out);
}


static void
test_header_session_and_split_by_session(void **state)
{
    gw_buf_t  out;

    (void) state;

    render_route(
        "  - matches: [{path: {type: PathPrefix, value: /api}}]\n"
        "    sessionPersistence: {type: Header}\n"
        "    backendRefs: [{name: svc, port: 80}]\n"
        "  - matches: [{path: {type: RegularExpression, value: /s.*}}]\n"
        "    sessionPersistence: {}\n"
        "    backendRefs: [{name: svc, port: 80, weight: 1},\n"
        "                  {name: svc, port: 81, weight: 3}]\n"
        "  - matches: [{path: {type: PathPrefix, value: /plain}}]\n"
        "    backendRefs: [{name: svc, port: 80, weight: 1},\n"
        "                  {name: svc, port: 81, weight: 3}]\n", &out);

    /* the default header name, read as nginx has it, handed back once */
    assert_non_null(strstr(out.data, "map $http_x_gw_session $gw_sp_0_key {\n"
                                     "    \"\" $request_id;\n"
                                     "    default $http_x_gw_session;"));
    assert_non_null(strstr(out.data, "map $http_x_gw_session $gw_sp_0_set {\n"
                                     "    \"\" $request_id;\n"
                                     "    default \"\";"));
    assert_non_null(strstr(out.data, "add_header X-Gw-Session $gw_sp_0_set "
                                     "always;"));

    /* a regex match: the cookie is for the whole host */
    assert_non_null(strstr(out.data, "\"\" \"gw_session=$request_id; "
                                     "Path=/; HttpOnly\";"));

    /*
     * the session's split hashes its key, the plain one $request_id
     * (port 81 is not the Service's: a 500 share, but still a split)
     */
    assert_non_null(strstr(out.data, "split_clients $gw_sp_1_key "));
    assert_non_null(strstr(out.data, "split_clients $request_id "));
    assert_non_null(strstr(out.data, "upstream app_svc_80_gw_sp_1 {"));
    assert_non_null(strstr(out.data, "upstream app_svc_80 {"));

    gw_buf_free(&out);
}


static void
test_session_refusals_drop_the_rule(void **state)
{
    size_t            i;
    gw_arena_t        a;
    gw_store_t        st;
    const gw_cond_t  *c;
    static const struct {
        const char  *rule;
        const char  *want;
    } bad[] = {
        { "  - sessionPersistence: {sessionName: \"a;b\"}\n",
          "spec.rules[0].sessionPersistence.sessionName: Invalid value: "
          "the character at offset 1 cannot be in a cookie name" },
        { "  - sessionPersistence: {sessionName: \"a$b\"}\n",
          "at offset 1 cannot be in a cookie name" },
        { "  - sessionPersistence: {sessionName: \"a b\"}\n",
          "at offset 1 cannot be in a cookie name" },
        { "  - sessionPersistence: {sessionName: \"\"}\n",
          "sessionName: Invalid value: \"\": must not be empty" },
        { "  - sessionPersistence: {type: Header, sessionName: X_S}\n",
          "at offset 1 cannot be in a header name" },
        { "  - sessionPersistence: {type: Header, sessionName: \"X:S\"}\n",
          "at offset 1 cannot be in a header name" },
        { "  - sessionPersistence: {idleTimeout: 1m}\n",
          "sessionPersistence.idleTimeout: not supported" },
        { "  - sessionPersistence: {absoluteTimeout: 1m}\n",
          "sessionPersistence.absoluteTimeout: supported only with" },
        { "  - sessionPersistence: {type: Header, absoluteTimeout: 1m}\n",
          "sessionPersistence.absoluteTimeout: supported only with" },
    };

    (void) state;

    for (i = 0; i < gw_countof(bad); i++) {
        gw_arena_init(&a);
        c = route_cond(&a, &st, bad[i].rule);
        if (c == NULL || strstr(c->message, bad[i].want) == NULL) {
            fail_msg("%s: got \"%s\", want \"%s\"", bad[i].rule,
                     c ? c->message : "(no PartiallyInvalid)", bad[i].want);
        }
        gw_store_release(&st);
        gw_arena_release(&a);
    }

    /* names nginx can carry are accepted */
    gw_arena_init(&a);
    c = route_cond(&a, &st, "  - sessionPersistence: {sessionName: "
                            "\"a!%&*+-.^_`|~Z9\"}\n"
                            "    backendRefs: [{name: svc, port: 80}]\n"
                            "  - sessionPersistence: {type: Header, "
                            "sessionName: X-Session-9}\n"
                            "    backendRefs: [{name: svc, port: 80}]\n");
    assert_null(c);
    gw_store_release(&st);
    gw_arena_release(&a);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_durations_parse_to_milliseconds),
        cmocka_unit_test(test_bad_durations_are_refused),
        cmocka_unit_test(test_rule_without_fields_has_none),
        cmocka_unit_test(test_timeouts_retry_and_session_decode),
        cmocka_unit_test(test_crd_refusals_name_the_field),
        cmocka_unit_test(test_cookie_session_renders_maps_hash_and_header),
        cmocka_unit_test(test_header_session_and_split_by_session),
        cmocka_unit_test(test_session_refusals_drop_the_rule),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
