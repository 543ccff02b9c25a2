/*
 * ngx-gateway unit tests: names and values checked before they can reach
 * a template (validate/names.c).  Hostile values (quotes, braces, ';',
 * newlines, '$', '#', '../', very long strings) are refused with a message
 * naming the field, and the message never carries more than 64 bytes of
 * the value, nor its control characters.
 */

#include <stdio.h>
#include <string.h>

#include "gw_test_util.h"
#include "validate/names.h"


static const char  *hostile[] = {
    "a\"b", "a'b", "a{b", "a}b", "a;b", "a\nb", "a\rb", "a$b", "a${x}",
    "a#b", "a\\b", "a\x01" "b", "a b", "../etc", "a/b", "caf\xc3\xa9",
    "x; } server { listen 1; } #", "", "-a", "a-", ".a", "A",
};


static void
test_object_names_pass(void **state)
{
    size_t     i;
    gw_err_t   err;
    static const char  *ok[] = {
        "a", "web", "my-route", "h1", "0abc", "tls.example.com",
        "a-b.c-d",
    };

    (void) state;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (gw_valid_object_name("metadata.name", ok[i], 0, &err) != GW_OK) {
            fail_msg("subdomain \"%s\" refused: %s", ok[i], err.msg);
        }
        if (strchr(ok[i], '.') == NULL
            && gw_valid_object_name("metadata.name", ok[i], 1, &err)
               != GW_OK)
        {
            fail_msg("label \"%s\" refused: %s", ok[i], err.msg);
        }
    }
}


static void
test_object_names_hostile_refused(void **state)
{
    size_t     i;
    gw_err_t   err;

    (void) state;

    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        if (gw_valid_object_name("metadata.name", hostile[i], 0, &err)
            == GW_OK)
        {
            fail_msg("subdomain \"%s\" accepted", hostile[i]);
        }
        assert_non_null(strstr(err.msg, "metadata.name: Invalid value: "));
        assert_null(strchr(err.msg, '\n'));
        assert_null(strchr(err.msg, '\r'));
        assert_null(strchr(err.msg, '\x01'));
    }

    /* a label has no '.' */
    assert_int_equal(gw_valid_object_name("metadata.namespace", "a.b", 1,
                                          &err), GW_ERR);
    assert_non_null(strstr(err.msg, "metadata.namespace: Invalid value: "
                                    "\"a.b\": a lowercase RFC 1123 label"));
}


static void
test_object_names_length(void **state)
{
    char       buf[300];
    gw_err_t   err;

    (void) state;

    memset(buf, 'a', sizeof(buf));

    buf[63] = '\0';
    assert_int_equal(gw_valid_object_name("n", buf, 1, &err), GW_OK);
    buf[63] = 'a';
    buf[64] = '\0';
    assert_int_equal(gw_valid_object_name("n", buf, 1, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "must be 1 to 63 characters"));

    buf[64] = 'a';
    buf[253] = '\0';
    assert_int_equal(gw_valid_object_name("n", buf, 0, &err), GW_OK);
    buf[253] = 'a';
    buf[254] = '\0';
    assert_int_equal(gw_valid_object_name("n", buf, 0, &err), GW_ERR);

    /* the message shows 64 bytes of the value and "..." */
    assert_non_null(strstr(err.msg, "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                                    "aaaaaaaaaaaaaaaaaaaaaaaa...\""));
}


static void
test_hostnames_hostile_refused(void **state)
{
    size_t     i;
    gw_err_t   err;

    (void) state;

    for (i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        if (gw_valid_hostname(hostile[i], 1, &err) == GW_OK) {
            fail_msg("hostname \"%s\" accepted", hostile[i]);
        }
    }

    assert_int_equal(gw_valid_hostname("*.example.com", 1, &err), GW_OK);
    assert_int_equal(gw_valid_hostname("*.example.com", 0, &err), GW_ERR);
}


static void
test_nginx_paths_hostile_refused(void **state)
{
    size_t     i;
    gw_err_t   err;
    static const char  *bad[] = {
        "/a\"b", "/a'b", "/a{b", "/a}b", "/a;b", "/a\nb", "/a\rb", "/a$b",
        "/a#b", "/a\\b", "/a b", "/a\x01", "a", "",
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (gw_valid_nginx_path(bad[i], &err) == GW_OK) {
            fail_msg("path \"%s\" accepted", bad[i]);
        }
        assert_null(strchr(err.msg, '\n'));
    }

    assert_int_equal(gw_valid_nginx_path("/a/b-c_d.e~f%20", &err), GW_OK);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_object_names_pass),
        cmocka_unit_test(test_object_names_hostile_refused),
        cmocka_unit_test(test_object_names_length),
        cmocka_unit_test(test_hostnames_hostile_refused),
        cmocka_unit_test(test_nginx_paths_hostile_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
