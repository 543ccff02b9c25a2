/*
 * ngx-gateway unit tests: regular expressions of HTTPRoute matches,
 * checked as nginx's gateway_match compiles them (validate/regex.c).
 */

#include <stdio.h>

#include "gw_test_util.h"
#include "validate/regex.h"


static void
test_valid_regexes_pass(void **state)
{
    size_t     i;
    gw_err_t   err;
    static const char  *ok[] = {
        "",
        "[0-9]+",
        "prod|stag\\d+",
        "/items/[0-9]+(/.*)?",
        "(?i)abc",
        "\\Qa.b",                   /* the module closes the quote: \E */
        "a$|^b",
        "caf\xc3\xa9",
        "(?<year>[0-9]{4})-(?&year)?",
    };

    (void) state;

    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        if (gw_valid_regex(ok[i], &err) != GW_OK) {
            fail_msg("\"%s\" refused: %s", ok[i], err.msg);
        }
    }
}


/* The message names the pattern, PCRE2's reason and where. */
static void
test_invalid_regexes_say_why(void **state)
{
    size_t     i;
    gw_err_t   err;
    static const struct {
        const char  *re;
        const char  *says;
    } bad[] = {
        { "a(b", "missing closing parenthesis at offset 3" },
        { "[z-a]", "range out of order in character class at offset 3" },
        { "a{2,1}", "numbers out of order in {} quantifier at offset 5" },
        { "ab\\", "\\ at end of pattern at offset 3" },
        { "*a", "quantifier does not follow a repeatable item at offset 0" },
        { "(?<n>a)(?<n>b)", "two named subpatterns have the same name" },
        { "a)(b", "unmatched closing parenthesis at offset 1" },
    };

    (void) state;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (gw_valid_regex(bad[i].re, &err) == GW_OK) {
            fail_msg("\"%s\" accepted", bad[i].re);
        }
        if (strstr(err.msg, bad[i].says) == NULL
            || strstr(err.msg, bad[i].re) == NULL)
        {
            fail_msg("\"%s\": \"%s\", want \"%s\"", bad[i].re, err.msg,
                     bad[i].says);
        }
    }
}


/*
 * A pattern that compiles alone but not anchored as ^(?:RE\E)\z: nginx -t
 * would fail on it, so it is refused here.
 */
static void
test_regex_that_cannot_be_anchored_is_refused(void **state)
{
    gw_err_t  err;

    (void) state;

    /* extended mode: '#' comments out the anchoring's ")" */
    assert_int_equal(gw_valid_regex("(?x)/a#", &err), GW_ERR);
    assert_non_null(strstr(err.msg, "cannot be anchored"));
    assert_non_null(strstr(err.msg, "(?x)/a#"));
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_valid_regexes_pass),
        cmocka_unit_test(test_invalid_regexes_say_why),
        cmocka_unit_test(test_regex_that_cannot_be_anchored_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
