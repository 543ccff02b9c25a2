/*
 * ngx-gateway unit tests: HTTPRoute rules[].timeouts, .retry and
 * .sessionPersistence as decoded with the CRD's checks
 * (api/decode_rule_ext.c).
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


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_durations_parse_to_milliseconds),
        cmocka_unit_test(test_bad_durations_are_refused),
        cmocka_unit_test(test_rule_without_fields_has_none),
        cmocka_unit_test(test_timeouts_retry_and_session_decode),
        cmocka_unit_test(test_crd_refusals_name_the_field),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
