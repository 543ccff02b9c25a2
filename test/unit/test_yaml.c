/*
 * Unit tests: YAML -> cJSON (controller/source/yaml.c).
 *
 * Run from the repository root (fixtures are read from
 * test/unit/fixtures/yaml/).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "core/gw_buf.h"
#include "source/yaml.h"


#define FIXTURES  "test/unit/fixtures/yaml/"


typedef struct {
    cJSON   *docs;          /* array of the documents */
    int      lines[16];
    int      ndocs;
    int      nerrs;
    int      err_line[16];
    int      err_col[16];
    char     err_msg[16][512];
} result_t;


static void
on_doc(void *ctx, cJSON *doc, const char *file, int line)
{
    result_t  *r = ctx;

    assert_string_equal(file, "test.yaml");
    if (r->ndocs < 16) {
        r->lines[r->ndocs] = line;
    }
    r->ndocs++;
    cJSON_AddItemToArray(r->docs, doc);
}


static void
on_err(void *ctx, const char *file, int line, int column,
    const char *problem)
{
    result_t  *r = ctx;

    assert_string_equal(file, "test.yaml");
    if (r->nerrs < 16) {
        r->err_line[r->nerrs] = line;
        r->err_col[r->nerrs] = column;
        snprintf(r->err_msg[r->nerrs], sizeof(r->err_msg[0]), "%s",
                 problem);
    }
    r->nerrs++;
}


static int
parse_n(result_t *r, const char *data, size_t len)
{
    int  rc;

    memset(r, 0, sizeof(*r));
    r->docs = cJSON_CreateArray();

    rc = gw_yaml_parse("test.yaml", data, len, on_doc, on_err, r);

    if (rc >= 0) {
        assert_int_equal(rc, r->nerrs);
    }

    return rc;
}


static int
parse(result_t *r, const char *data)
{
    return parse_n(r, data, strlen(data));
}


static void
result_free(result_t *r)
{
    cJSON_Delete(r->docs);
    r->docs = NULL;
}


static cJSON *
doc(result_t *r, int i)
{
    return cJSON_GetArrayItem(r->docs, i);
}


/* Asserts that got is the JSON text want (order of keys aside). */
static void
assert_json(const cJSON *got, const char *want)
{
    int     same;
    char   *text;
    cJSON  *w;

    w = cJSON_Parse(want);
    assert_non_null(w);

    same = cJSON_Compare(got, w, 1);
    if (!same) {
        text = cJSON_PrintUnformatted(got);
        print_error("got  %s\nwant %s\n", text ? text : "(null)", want);
        free(text);
    }
    cJSON_Delete(w);

    assert_true(same);
}


static char *
read_fixture(const char *name, size_t *len)
{
    FILE      *f;
    char       path[256], chunk[4096];
    size_t     n;
    gw_buf_t   b;

    snprintf(path, sizeof(path), FIXTURES "%s", name);
    f = fopen(path, "rb");
    if (f == NULL) {
        fail_msg("cannot open %s (run the tests from the repo root)", path);
    }

    gw_buf_init(&b);
    for ( ;; ) {
        n = fread(chunk, 1, sizeof(chunk), f);
        if (n == 0) {
            break;
        }
        gw_buf_append(&b, chunk, n);
    }
    fclose(f);

    *len = b.len;
    return gw_buf_detach(&b);
}


/*
 * Plain scalars resolve as go-yaml v2 (YAML 1.1) does, which is what
 * kubectl and sigs.k8s.io/yaml produce.  Leading-zero numbers: we follow
 * go-yaml v2 exactly: 0755 is octal (493); 080 is not valid octal, so it
 * falls through to the float rule and is 80; 0o17 (YAML 1.2 octal) is 15.
 */
static void
test_scalar_types(void **state)
{
    size_t    i;
    char      src[256];
    result_t  r;

    static const struct {
        const char  *yaml;
        const char  *json;
    } cases[] = {
        /* booleans */
        { "true", "true" }, { "True", "true" }, { "TRUE", "true" },
        { "false", "false" }, { "False", "false" }, { "FALSE", "false" },
        { "yes", "true" }, { "Yes", "true" }, { "YES", "true" },
        { "no", "false" }, { "No", "false" }, { "NO", "false" },
        { "on", "true" }, { "On", "true" }, { "ON", "true" },
        { "off", "false" }, { "Off", "false" }, { "OFF", "false" },
        { "y", "true" }, { "n", "false" },
        { "tRUE", "\"tRUE\"" }, { "yess", "\"yess\"" },

        /* null */
        { "", "null" }, { "~", "null" }, { "null", "null" },
        { "Null", "null" }, { "NULL", "null" }, { "nULL", "\"nULL\"" },

        /* integers */
        { "0", "0" }, { "42", "42" }, { "-17", "-17" }, { "+12", "12" },
        { "-0", "0" }, { "1_000", "1000" }, { "0x1F", "31" },
        { "0X1f", "31" }, { "-0x10", "-16" }, { "0o17", "15" },
        { "0755", "493" }, { "080", "80" }, { "0b101", "5" },
        { "9007199254740992", "9007199254740992" },
        { "0xZZ", "\"0xZZ\"" }, { "0x", "\"0x\"" },

        /* floats */
        { "1.5", "1.5" }, { "-2.25", "-2.25" }, { "1e3", "1000" },
        { "1.5E-2", "0.015" }, { ".5", "0.5" }, { "-.5", "-0.5" },
        { "3.", "3" }, { "1_0.5", "10.5" },

        /* strings */
        { ".inf", "\".inf\"" }, { "-.inf", "\"-.inf\"" },
        { ".nan", "\".nan\"" }, { "1e400", "\"1e400\"" },
        { "1.2.3", "\"1.2.3\"" }, { "127.0.0.1", "\"127.0.0.1\"" },
        { "2001-12-14", "\"2001-12-14\"" }, { "10s", "\"10s\"" },
        { "1e", "\"1e\"" }, { "+", "\"+\"" }, { "-x", "\"-x\"" },
        { "hello world", "\"hello world\"" }, { "/tetris", "\"/tetris\"" },
        { "'*.example.com'", "\"*.example.com\"" },

        /* quoted and block scalars are always strings */
        { "\"true\"", "\"true\"" }, { "'true'", "\"true\"" },
        { "\"123\"", "\"123\"" }, { "'0755'", "\"0755\"" },
        { "\"\"", "\"\"" }, { "''", "\"\"" }, { "'null'", "\"null\"" },
        { "\"a\\tb\\u00e9\"", "\"a\\tb\\u00e9\"" },
        { "'it''s'", "\"it's\"" },
        { "|\n  80\n", "\"80\\n\"" }, { ">-\n  yes\n", "\"yes\"" },

        /* tags */
        { "!!str 123", "\"123\"" }, { "!!str true", "\"true\"" },
        { "!!str", "\"\"" }, { "!!int \"12\"", "12" },
        { "!!int 0x10", "16" }, { "!!float 1", "1" },
        { "!!float '2.5'", "2.5" }, { "!!bool yes", "true" },
        { "!!null ~", "null" }, { "!custom 5", "\"5\"" },
        { "! 5", "\"5\"" }, { "!!binary aGk=", "\"aGk=\"" },
    };

    static const struct {
        const char  *yaml;
        int          column;
    } errors[] = {
        { "*.example.com", 5 },     /* an alias, and not a valid one */
        { "!!int abc", 4 }, { "!!bool 1", 4 }, { "!!null 0", 4 },
        { "!!float x", 4 }, { "!!int .inf", 4 },
    };

    (void) state;

    for (i = 0; i < gw_countof(cases); i++) {
        snprintf(src, sizeof(src), "v: %s\n", cases[i].yaml);

        parse(&r, src);

        if (r.nerrs != 0 || r.ndocs != 1) {
            fail_msg("`%s`: %d errors (%s), %d documents", cases[i].yaml,
                     r.nerrs, r.nerrs ? r.err_msg[0] : "", r.ndocs);
        }

        assert_json(cJSON_GetObjectItemCaseSensitive(doc(&r, 0), "v"),
                    cases[i].json);
        result_free(&r);
    }

    for (i = 0; i < gw_countof(errors); i++) {
        snprintf(src, sizeof(src), "v: %s\n", errors[i].yaml);

        parse(&r, src);

        if (r.nerrs != 1 || r.ndocs != 0) {
            fail_msg("`%s`: expected an error", errors[i].yaml);
        }
        assert_int_equal(r.err_line[0], 1);
        assert_int_equal(r.err_col[0], errors[i].column);
        result_free(&r);
    }
}


static void
large_mapping(void)
{
    int        i;
    char       key[32];
    cJSON     *m;
    result_t   r;
    gw_buf_t   b;

    gw_buf_init(&b);
    gw_buf_puts(&b, "m:\n  k7: first\n");
    for (i = 0; i < 3000; i++) {
        gw_buf_printf(&b, "  k%d: %d\n", i % 1000, i);
    }
    gw_buf_puts(&b, "  <<: [{k5: merged, extra: 1}, {extra: 2, more: 2}]\n");

    assert_int_equal(parse_n(&r, b.data, b.len), 0);
    m = cJSON_GetObjectItem(doc(&r, 0), "m");
    assert_int_equal(cJSON_GetArraySize(m), 1002);

    for (i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(cJSON_GetObjectItem(m, key)->valueint, 2000 + i);
    }

    assert_string_equal(cJSON_GetArrayItem(m, 0)->string, "k7");
    assert_int_equal(cJSON_GetObjectItem(m, "extra")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(m, "more")->valueint, 2);

    result_free(&r);
    gw_buf_free(&b);
}


static void
test_keys_are_strings(void **state)
{
    result_t  r;

    (void) state;

    assert_int_equal(parse(&r,
        "on: 1\n"
        "yes: 2\n"
        "80: 3\n"
        "~: 4\n"
        "\"quoted key\": 5\n"
        "0x10: 6\n"
        "null: 7\n"), 0);

    assert_json(doc(&r, 0),
        "{\"on\": 1, \"yes\": 2, \"80\": 3, \"~\": 4, \"quoted key\": 5,"
        " \"0x10\": 6, \"null\": 7}");
    result_free(&r);

    /* a key written twice keeps the last value */

    assert_int_equal(parse(&r, "a: 1\nb: 2\na: 3\n"), 0);
    assert_json(doc(&r, 0), "{\"a\": 3, \"b\": 2}");
    result_free(&r);

    /* the same in a large mapping (its keys are indexed) */

    large_mapping();

    /* collections cannot be keys */

    assert_int_equal(parse(&r, "a: 1\n? [x, y]\n: 2\n"), 1);
    assert_int_equal(r.err_line[0], 2);
    assert_int_equal(r.err_col[0], 3);
    result_free(&r);
}


static void
test_nested(void **state)
{
    result_t  r;

    (void) state;

    assert_int_equal(parse(&r,
        "metadata:\n"
        "  name: web\n"
        "  labels:\n"
        "    app: web\n"
        "spec:\n"
        "  ports:\n"
        "  - port: 80\n"
        "    protocol: TCP\n"
        "  -   port: 443\n"
        "      names: [a, 'b', {c: [1, [2, []], {}]}]\n"
        "  empty:\n"
        "  list:\n"
        "    - - 1\n"
        "      - 2\n"
        "    -\n"
        "    - k: v\n"), 0);

    assert_int_equal(r.ndocs, 1);
    assert_json(doc(&r, 0),
        "{\"metadata\": {\"name\": \"web\", \"labels\": {\"app\": \"web\"}},"
        " \"spec\": {\"ports\": [{\"port\": 80, \"protocol\": \"TCP\"},"
        "  {\"port\": 443, \"names\": [\"a\", \"b\","
        "   {\"c\": [1, [2, []], {}]}]}],"
        "  \"empty\": null,"
        "  \"list\": [[1, 2], null, {\"k\": \"v\"}]}}");
    result_free(&r);
}


static void
test_anchors_aliases(void **state)
{
    result_t  r;

    (void) state;

    assert_int_equal(parse(&r,
        "base: &base\n"
        "  port: 80\n"
        "  labels: &labels {app: web, tier: \"1\"}\n"
        "copy: *base\n"
        "labels: *labels\n"
        "name: &n web\n"
        "names: [*n, *n]\n"
        "*n : key from alias\n"
        "merged:\n"
        "  <<: *base\n"
        "  port: 8080\n"
        "merged_first:\n"
        "  port: 9090\n"
        "  <<: *base\n"
        "merged_list:\n"
        "  <<: [{a: 1, b: 1}, {b: 2, c: 2}]\n"
        "redefined: &n other\n"
        "last: *n\n"
        "quoted_merge_key:\n"
        "  '<<': literal\n"), 0);

    assert_json(doc(&r, 0),
        "{\"base\": {\"port\": 80, \"labels\": {\"app\": \"web\","
        "   \"tier\": \"1\"}},"
        " \"copy\": {\"port\": 80, \"labels\": {\"app\": \"web\","
        "   \"tier\": \"1\"}},"
        " \"labels\": {\"app\": \"web\", \"tier\": \"1\"},"
        " \"name\": \"web\", \"names\": [\"web\", \"web\"],"
        " \"web\": \"key from alias\","
        " \"merged\": {\"port\": 8080, \"labels\": {\"app\": \"web\","
        "   \"tier\": \"1\"}},"
        " \"merged_first\": {\"port\": 9090, \"labels\": {\"app\": \"web\","
        "   \"tier\": \"1\"}},"
        " \"merged_list\": {\"a\": 1, \"b\": 1, \"c\": 2},"
        " \"redefined\": \"other\", \"last\": \"other\","
        " \"quoted_merge_key\": {\"<<\": \"literal\"}}");
    result_free(&r);

    /* copies are independent of the anchored node */

    assert_int_equal(parse(&r, "a: &x {k: 1}\nb: *x\na: 2\n"), 0);
    assert_json(doc(&r, 0), "{\"a\": 2, \"b\": {\"k\": 1}}");
    result_free(&r);

    /* unknown anchor, and an anchor used inside itself */

    assert_int_equal(parse(&r, "a: 1\nb: *nope\n"), 1);
    assert_int_equal(r.err_line[0], 2);
    assert_int_equal(r.err_col[0], 4);
    assert_non_null(strstr(r.err_msg[0], "nope"));
    result_free(&r);

    assert_int_equal(parse(&r, "a: &x [1, *x]\n"), 1);
    assert_int_equal(r.err_line[0], 1);
    assert_int_equal(r.err_col[0], 11);
    result_free(&r);

    /* anchors do not cross documents */

    assert_int_equal(parse(&r, "a: &x 1\n---\nb: *x\n"), 1);
    assert_int_equal(r.ndocs, 1);
    assert_int_equal(r.err_line[0], 3);
    result_free(&r);

    /* a merge needs mappings */

    assert_int_equal(parse(&r, "a:\n  <<: [1, 2]\n"), 1);
    assert_int_equal(r.err_line[0], 2);
    assert_int_equal(r.err_col[0], 7);
    result_free(&r);
}


static void
test_alias_limits(void **state)
{
    int       i, j;
    char      line[256];
    size_t    n;
    result_t  r;
    gw_buf_t  b;

    (void) state;

    /* "billion laughs": 10^9 nodes from a few hundred bytes */

    gw_buf_init(&b);
    gw_buf_puts(&b, "l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (i = 1; i < 9; i++) {
        n = (size_t) snprintf(line, sizeof(line), "l%d: &l%d [", i, i);
        gw_buf_append(&b, line, n);
        for (j = 0; j < 10; j++) {
            gw_buf_printf(&b, "%s*l%d", j ? ", " : "", i - 1);
        }
        gw_buf_puts(&b, "]\n");
    }
    gw_buf_puts(&b, "---\nafter: 1\n");

    assert_int_equal(parse_n(&r, b.data, b.len), 1);
    assert_non_null(strstr(r.err_msg[0], "excessive aliasing"));
    assert_int_equal(r.ndocs, 1);
    assert_json(doc(&r, 0), "{\"after\": 1}");
    result_free(&r);

    /* nesting deeper than cJSON_Parse() accepts */

    gw_buf_reset(&b);
    gw_buf_puts(&b, "a: ");
    for (i = 0; i < 1200; i++) {
        gw_buf_putc(&b, '[');
    }
    for (i = 0; i < 1200; i++) {
        gw_buf_putc(&b, ']');
    }
    gw_buf_putc(&b, '\n');

    assert_int_equal(parse_n(&r, b.data, b.len), 1);
    assert_non_null(strstr(r.err_msg[0], "too deep"));
    result_free(&r);

    gw_buf_free(&b);
}


static void
test_block_scalars(void **state)
{
    result_t  r;

    (void) state;

    assert_int_equal(parse(&r,
        "literal: |\n"
        "  line one\n"
        "    indented\n"
        "\n"
        "  line three\n"
        "strip: |-\n"
        "  no newline\n"
        "keep: |+\n"
        "  kept\n"
        "\n"
        "folded: >\n"
        "  folded\n"
        "  text\n"
        "\n"
        "  para\n"
        "folded_strip: >-\n"
        "  a\n"
        "  b\n"
        "number: |\n"
        "  123\n"
        "explicit: |2\n"
        "    two more\n"
        "end: 1\n"), 0);

    assert_json(doc(&r, 0),
        "{\"literal\": \"line one\\n  indented\\n\\nline three\\n\","
        " \"strip\": \"no newline\","
        " \"keep\": \"kept\\n\\n\","
        " \"folded\": \"folded text\\npara\\n\","
        " \"folded_strip\": \"a b\","
        " \"number\": \"123\\n\","
        " \"explicit\": \"  two more\\n\","
        " \"end\": 1}");
    result_free(&r);
}


/* The brief's main case: a broken document between two good ones. */
static void
test_malformed_middle(void **state)
{
    char      *data;
    size_t     len;
    result_t   r;

    (void) state;

    data = read_fixture("malformed-middle.yaml", &len);

    assert_int_equal(parse_n(&r, data, len), 1);
    assert_int_equal(r.ndocs, 2);

    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc(&r, 0),
                        "metadata"), "name")->valuestring, "first");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(doc(&r, 1),
                        "metadata"), "name")->valuestring, "third");
    assert_int_equal(r.lines[0], 2);
    assert_int_equal(r.lines[1], 14);

    /*
     * line 11 is "  labels: {app: broken", the flow mapping is never
     * closed; libyaml notices at the ':' of "spec:" on line 12, column 5
     */
    assert_int_equal(r.err_line[0], 12);
    assert_int_equal(r.err_col[0], 5);
    assert_non_null(strstr(r.err_msg[0], "flow mapping at line 11"));

    result_free(&r);
    free(data);
}


static void
test_error_positions(void **state)
{
    result_t  r;

    (void) state;

    /* a bad indentation in the first of three documents */

    assert_int_equal(parse(&r,
        "a: 1\n"
        " b: 2\n"
        "---\n"
        "c: 3\n"
        "---\n"
        "d: [\n"), 2);
    assert_int_equal(r.ndocs, 1);
    assert_int_equal(r.lines[0], 3);
    assert_json(doc(&r, 0), "{\"c\": 3}");
    assert_int_equal(r.err_line[0], 2);
    assert_int_equal(r.err_col[0], 3);
    assert_int_equal(r.err_line[1], 7);
    result_free(&r);

    /* a tab where indentation is expected, far into the file */

    assert_int_equal(parse(&r,
        "# one\n"
        "# two\n"
        "---\n"
        "a: 1\n"
        "---\n"
        "b:\n"
        "\tc: 1\n"), 1);
    assert_int_equal(r.ndocs, 1);
    assert_int_equal(r.err_line[0], 7);
    assert_int_equal(r.err_col[0], 1);
    result_free(&r);

    /* top level must be a mapping */

    assert_int_equal(parse(&r,
        "- a\n"
        "- b\n"
        "---\n"
        "just a string\n"
        "--- |\n"
        "  block\n"
        "---\n"
        "ok: true\n"), 3);
    assert_int_equal(r.ndocs, 1);
    assert_int_equal(r.err_line[0], 1);
    assert_int_equal(r.err_col[0], 1);
    assert_string_equal(r.err_msg[0], "document is not a mapping");
    assert_int_equal(r.err_line[1], 4);
    assert_int_equal(r.err_line[2], 5);
    assert_int_equal(r.err_col[2], 5);
    result_free(&r);

    /* invalid UTF-8: a reader error, positioned from its byte offset */

    assert_int_equal(parse(&r, "a: 1\n---\nb: x\nc: \xff\xfe\n"), 1);
    assert_int_equal(r.ndocs, 1);
    assert_int_equal(r.err_line[0], 4);
    assert_int_equal(r.err_col[0], 4);
    result_free(&r);
}


static void
test_document_markers(void **state)
{
    result_t  r;

    (void) state;

    /* empty documents (comments, bare markers) are skipped silently */

    assert_int_equal(parse(&r, ""), 0);
    assert_int_equal(r.ndocs, 0);
    result_free(&r);

    assert_int_equal(parse(&r,
        "# only a comment\n"
        "---\n"
        "---\n"
        "   \n"
        "# another\n"
        "...\n"
        "---\n"), 0);
    assert_int_equal(r.ndocs, 0);
    result_free(&r);

    /* directives, a leading comment, `...` ends, markers with content */

    assert_int_equal(parse(&r,
        "# leading comment\n"
        "%YAML 1.1\n"
        "%TAG !k! tag:example.com,2024:\n"
        "---\n"
        "a: !k!thing 1\n"
        "...\n"
        "b: 2\n"
        "...\n"
        "# between\n"
        "--- {c: 3}\n"
        "--- # comment after the marker\n"
        "d: ---not a marker\n"
        "e: '---'\n"
        "----: 5\n"), 0);
    assert_int_equal(r.ndocs, 4);
    assert_json(doc(&r, 0), "{\"a\": \"1\"}");
    assert_json(doc(&r, 1), "{\"b\": 2}");
    assert_json(doc(&r, 2), "{\"c\": 3}");
    assert_json(doc(&r, 3),
                "{\"d\": \"---not a marker\", \"e\": \"---\", \"----\": 5}");
    assert_int_equal(r.lines[0], 2);  /* the directives start it */
    assert_int_equal(r.lines[1], 7);
    assert_int_equal(r.lines[2], 10);
    assert_int_equal(r.lines[3], 11);
    result_free(&r);

    /* CRLF line ends and a byte order mark */

    assert_int_equal(parse(&r,
        "\xef\xbb\xbf" "a: 1\r\n"
        "---\r\n"
        "b: |\r\n"
        "  x\r\n"
        "---\r\n"
        "c: [\r\n"), 1);
    assert_int_equal(r.ndocs, 2);
    assert_json(doc(&r, 0), "{\"a\": 1}");
    assert_json(doc(&r, 1), "{\"b\": \"x\\n\"}");
    assert_int_equal(r.lines[1], 2);
    assert_int_equal(r.err_line[0], 7);
    result_free(&r);

    /* input is a length, not a C string */

    assert_int_equal(parse_n(&r, "a: 1\nb: 2\nGARBAGE: [", 10), 0);
    assert_json(doc(&r, 0), "{\"a\": 1, \"b\": 2}");
    result_free(&r);
}


static void
test_gateway_round_trip(void **state)
{
    int        i;
    char      *data, *json;
    size_t     len, jlen;
    cJSON     *want;
    result_t   r;

    (void) state;

    data = read_fixture("gateway.yaml", &len);
    json = read_fixture("gateway.json", &jlen);

    want = cJSON_ParseWithLength(json, jlen);
    assert_non_null(want);

    assert_int_equal(parse_n(&r, data, len), 0);
    assert_int_equal(r.ndocs, cJSON_GetArraySize(want));
    assert_int_equal(r.lines[0], 3);
    assert_int_equal(r.lines[1], 42);

    for (i = 0; i < r.ndocs; i++) {
        if (!cJSON_Compare(doc(&r, i), cJSON_GetArrayItem(want, i), 1)) {
            char *got = cJSON_Print(doc(&r, i));
            print_error("document %d differs:\n%s\n", i, got);
            free(got);
            fail();
        }
    }

    /* the port written as 0x1F90 is the number 8080 */
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(
        cJSON_GetObjectItem(doc(&r, 1), "spec"), "rules"), 1),
        "backendRefs"), 0), "port")->valueint, 8080);

    cJSON_Delete(want);
    result_free(&r);
    free(json);
    free(data);
}


static void
count_doc(void *ctx, cJSON *doc, const char *file, int line)
{
    (void) file;
    (void) line;
    (*(int *) ctx)++;
    cJSON_Delete(doc);
}


static void
test_null_callbacks(void **state)
{
    int  n;

    (void) state;

    assert_int_equal(gw_yaml_parse("x", "a: 1\n---\n[\n", 11, NULL, NULL,
                                   NULL), 1);

    n = 0;
    assert_int_equal(gw_yaml_parse(NULL, "a: 1\n---\nb: 2\n", 14, count_doc,
                                   NULL, &n), 0);
    assert_int_equal(n, 2);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test(test_scalar_types),
        cmocka_unit_test(test_keys_are_strings),
        cmocka_unit_test(test_nested),
        cmocka_unit_test(test_anchors_aliases),
        cmocka_unit_test(test_alias_limits),
        cmocka_unit_test(test_block_scalars),
        cmocka_unit_test(test_malformed_middle),
        cmocka_unit_test(test_error_positions),
        cmocka_unit_test(test_document_markers),
        cmocka_unit_test(test_gateway_round_trip),
        cmocka_unit_test(test_null_callbacks),
    };

    return cmocka_run_group_tests_name("yaml", tests, NULL, NULL);
}
