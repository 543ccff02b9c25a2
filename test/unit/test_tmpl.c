/*
 * Unit tests: the template engine (render/tmpl.c) and the embedding script
 * (render/gen_templates.sh).
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render/tmpl.h"


static gw_arena_t  arena;
static gw_buf_t    out;
static gw_err_t    err;


static int
setup(void **state)
{
    (void) state;

    gw_arena_init(&arena);
    gw_buf_init(&out);
    err.msg[0] = '\0';

    return 0;
}


static int
teardown(void **state)
{
    (void) state;

    gw_tmpl_cleanup();
    gw_arena_release(&arena);
    gw_buf_free(&out);

    return 0;
}


static void
reg(const char *name, const char *src)
{
    int  rc;

    rc = gw_tmpl_register(name, src, strlen(src), &err);
    if (rc != GW_OK) {
        print_error("register %s: %s\n", name, err.msg);
    }
    assert_int_equal(rc, GW_OK);
}


static const char *
render(const char *name, const gw_view_t *v)
{
    int  rc;

    gw_buf_reset(&out);

    rc = gw_tmpl_render(name, v, &out, &err);
    if (rc != GW_OK) {
        print_error("render %s: %s\n", name, err.msg);
    }
    assert_int_equal(rc, GW_OK);

    return out.data ? out.data : "";
}


/* Expects the render to fail, leave out alone and name every needle. */

static void
render_fails(const char *name, const gw_view_t *v, ...)
{
    int          rc;
    va_list      ap;
    const char  *needle;

    gw_buf_reset(&out);
    gw_buf_puts(&out, "kept");

    rc = gw_tmpl_render(name, v, &out, &err);
    assert_int_equal(rc, GW_ERR);
    assert_string_equal(out.data, "kept");

    va_start(ap, v);
    for ( ;; ) {
        needle = va_arg(ap, const char *);
        if (needle == NULL) {
            break;
        }
        if (strstr(err.msg, needle) == NULL) {
            print_error("\"%s\" not in error: %s\n", needle, err.msg);
            fail();
        }
    }
    va_end(ap);
}


static void
compile_fails(const char *src, ...)
{
    int          rc;
    va_list      ap;
    gw_tmpl_t   *t;
    const char  *needle;

    rc = gw_tmpl_compile(&t, "bad", src, strlen(src), &err);
    assert_int_equal(rc, GW_ERR);
    assert_null(t);
    assert_non_null(strstr(err.msg, "template \"bad\""));

    va_start(ap, src);
    for ( ;; ) {
        needle = va_arg(ap, const char *);
        if (needle == NULL) {
            break;
        }
        if (strstr(err.msg, needle) == NULL) {
            print_error("\"%s\" not in error: %s\n", needle, err.msg);
            fail();
        }
    }
    va_end(ap);
}


static void
test_values(void **state)
{
    gw_str_t    s;
    gw_view_t  *v;

    (void) state;

    reg("t", "a={{a}} b={{ b }} n={{n}} f={{f}} u={{u}}\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "a", "first");
    gw_view_set(v, "a", "x.y-z_1:2/3");            /* replaces */
    s.data = "tokenIGNORED";
    s.len = 5;
    gw_view_set_str(v, "b", s);
    gw_view_set_int(v, "n", -42);
    gw_view_setf(v, "f", "%s:%d", "h", 8080);
    gw_view_set(v, "u", "caf\xc3\xa9");

    assert_string_equal(render("t", v),
        "a=x.y-z_1:2/3 b=token n=-42 f=h:8080 u=caf\xc3\xa9\n");
}


static void
test_value_rejects(void **state)
{
    size_t       i;
    gw_view_t   *v;
    char         value[8];
    const char  *bad = " \t\n\r\x01\x1b\x7f;{}\"'\\$#";

    (void) state;

    reg("inj", "server {\n    server_name {{host_name}};\n}\n");

    for (i = 0; bad[i] != '\0'; i++) {
        snprintf(value, sizeof(value), "a%cb", bad[i]);

        v = gw_view_new(&arena);
        gw_view_set(v, "host_name", value);

        render_fails("inj", v, "template \"inj\"", "line 2",
                     "\"host_name\"", "safe nginx token", "offset 1", NULL);
    }

    v = gw_view_new(&arena);
    gw_view_set(v, "host_name", "");
    render_fails("inj", v, "line 2", "\"host_name\"", "empty", NULL);

    v = gw_view_new(&arena);
    gw_view_set(v, "host_name", NULL);
    render_fails("inj", v, "line 2", "\"host_name\"", "empty", NULL);

    /* a value with a NUL inside (a gw_str_t) is caught too */
    v = gw_view_new(&arena);
    gw_view_set_str(v, "host_name", (gw_str_t) { "a\0b", 3 });
    render_fails("inj", v, "\\x00", NULL);
}


static void
test_raw(void **state)
{
    size_t       i;
    gw_view_t   *v;
    const char  *bad[] = { "a\nb", "a\rb", "a;b", "a{b", "a}b", "#b",
                           "a #b", "a\t#b", "a\x01" };

    (void) state;

    reg("raw", "    rewrite {{&rule}};\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "rule", "^/a(.*)$ /b$1?x=\"q\"&y='z'\\d\tbreak a#b");
    assert_string_equal(render("raw", v),
        "    rewrite ^/a(.*)$ /b$1?x=\"q\"&y='z'\\d\tbreak a#b;\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "rule", "");
    assert_string_equal(render("raw", v), "    rewrite ;\n");

    for (i = 0; i < gw_countof(bad); i++) {
        v = gw_view_new(&arena);
        gw_view_set(v, "rule", bad[i]);
        render_fails("raw", v, "template \"raw\" line 1", "\"rule\"",
                     "raw value", NULL);
    }
}


static void
test_quoted(void **state)
{
    size_t       i;
    gw_view_t   *v;
    const char  *bad[] = { "$host", "a$", "a\nb", "a\rb", "a\tb", "\x01",
                           "\x7f" };

    (void) state;

    reg("q", "return 200 {{\"body}};\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "body", "say \"hi\" \\ o'k; {x} #c");
    assert_string_equal(render("q", v),
                        "return 200 \"say \\\"hi\\\" \\\\ o'k; {x} #c\";\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "body", "\"\\");
    assert_string_equal(render("q", v), "return 200 \"\\\"\\\\\";\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "body", "");
    assert_string_equal(render("q", v), "return 200 \"\";\n");

    for (i = 0; i < gw_countof(bad); i++) {
        v = gw_view_new(&arena);
        gw_view_set(v, "body", bad[i]);
        render_fails("q", v, "template \"q\" line 1", "\"body\"",
                     "quoted string", NULL);
    }
}


static void
test_sections_lists(void **state)
{
    gw_view_t  *v, *s, *l;

    (void) state;

    reg("http",
        "{{#servers}}\n"
        "server {\n"
        "    server_name {{name}};\n"
        "    {{#locations}}\n"
        "    location {{path}} {\n"
        "        proxy_pass http://{{upstream}};\n"
        "        {{#headers}}\n"
        "        add_header {{hname}} {{\"hvalue}}; # {{path}} {{name}}\n"
        "        {{/headers}}\n"
        "    }\n"
        "    {{/locations}}\n"
        "    {{^locations}}\n"
        "    return 404;\n"
        "    {{/locations}}\n"
        "}\n"
        "{{/servers}}\n"
        "{{^servers}}\n"
        "# no servers\n"
        "{{/servers}}\n");

    v = gw_view_new(&arena);
    assert_string_equal(render("http", v), "# no servers\n");

    gw_view_set(v, "upstream", "default_up");

    s = gw_view_add(v, "servers");
    gw_view_set(s, "name", "a.example.com");

    l = gw_view_add(s, "locations");
    gw_view_set(l, "path", "/");
    l = gw_view_add(s, "locations");
    gw_view_set(l, "path", "/api");
    gw_view_set(l, "upstream", "api_up");
    l = gw_view_add(l, "headers");
    gw_view_set(l, "hname", "X-Name");
    gw_view_set(l, "hvalue", "v 1");

    s = gw_view_add(v, "servers");
    gw_view_set(s, "name", "b.example.com");

    assert_string_equal(render("http", v),
        "server {\n"
        "    server_name a.example.com;\n"
        "    location / {\n"
        "        proxy_pass http://default_up;\n"
        "    }\n"
        "    location /api {\n"
        "        proxy_pass http://api_up;\n"
        "        add_header X-Name \"v 1\"; # /api a.example.com\n"
        "    }\n"
        "}\n"
        "server {\n"
        "    server_name b.example.com;\n"
        "    return 404;\n"
        "}\n");
}


static void
test_sections_flags(void **state)
{
    gw_view_t  *v, *c;

    (void) state;

    reg("f",
        "{{#ssl}}ssl {{/ssl}}{{^ssl}}plain {{/ssl}}"
        "{{#cert}}cert={{cert}} {{/cert}}{{^cert}}nocert {{/cert}}"
        "{{#missing}}never{{/missing}}{{^missing}}missing{{/missing}}\n");

    v = gw_view_new(&arena);
    assert_string_equal(render("f", v), "plain nocert missing\n");

    gw_view_set_flag(v, "ssl", 1);
    gw_view_set(v, "cert", "a.pem");
    assert_string_equal(render("f", v), "ssl cert=a.pem missing\n");

    gw_view_set_flag(v, "ssl", 0);
    gw_view_set(v, "cert", "");
    assert_string_equal(render("f", v), "plain nocert missing\n");

    /* a key of a list item hides the same key of an enclosing view */
    reg("g", "{{#items}}{{#ssl}}on{{/ssl}}{{^ssl}}off{{/ssl}} {{/items}}\n");

    v = gw_view_new(&arena);
    gw_view_set_flag(v, "ssl", 1);
    gw_view_add(v, "items");
    c = gw_view_add(v, "items");
    gw_view_set_flag(c, "ssl", 0);
    gw_view_add(v, "items");
    assert_string_equal(render("g", v), "on off on \n");
}


static void
test_partials_indent(void **state)
{
    gw_view_t  *v, *l;

    (void) state;

    reg("srv",
        "server {\n"
        "    {{#locs}}\n"
        "    {{>loc}}\n"
        "    {{/locs}}\n"
        "}\n");
    reg("loc",
        "location {{path}} {\n"
        "    proxy_pass {{up}};\n"
        "\n"
        "  {{> hdr }}\n"
        "}\n");
    reg("hdr",
        "add_header X-A {{a}};\n"
        "add_header X-B b;\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "up", "u");
    gw_view_set(v, "a", "1");
    l = gw_view_add(v, "locs");
    gw_view_set(l, "path", "/a");
    l = gw_view_add(v, "locs");
    gw_view_set(l, "path", "/b");
    gw_view_set(l, "a", "2");

    assert_string_equal(render("srv", v),
        "server {\n"
        "    location /a {\n"
        "        proxy_pass u;\n"
        "\n"
        "      add_header X-A 1;\n"
        "      add_header X-B b;\n"
        "    }\n"
        "    location /b {\n"
        "        proxy_pass u;\n"
        "\n"
        "      add_header X-A 2;\n"
        "      add_header X-B b;\n"
        "    }\n"
        "}\n");

    /* not standalone: no indentation, the line stays */
    reg("inl", "x {{>p}} y\n");
    reg("p", "P\nQ");
    assert_string_equal(render("inl", v), "x P\nQ y\n");

    reg("unk", "a\n{{>nope}}\n");
    render_fails("unk", v, "template \"unk\" line 2",
                 "unknown partial \"nope\"", NULL);

    reg("loop", "{{>loop}}");
    render_fails("loop", v, "nested deeper", NULL);

    /* errors inside a partial name the partial and its line */
    reg("outer", "a\n  {{>inner}}\n");
    reg("inner", "b\nc {{nokey}}\n");
    render_fails("outer", v, "template \"inner\" line 2",
                 "unknown key \"nokey\"", NULL);
}


static void
test_standalone(void **state)
{
    gw_view_t  *v;

    (void) state;

    v = gw_view_new(&arena);
    gw_view_set_flag(v, "f", 1);
    gw_view_set(v, "a", "va");

    reg("s1", "a\n{{#f}}\nb\n{{/f}}\nc\n");
    assert_string_equal(render("s1", v), "a\nb\nc\n");

    reg("s2", "a\n  \t{{#f}}  \n  b\n  {{/f}}\t\n{{^f}}\nno\n{{/f}}\nc\n");
    assert_string_equal(render("s2", v), "a\n  b\nc\n");

    reg("crlf", "a\r\n{{#f}}\r\nb\r\n{{/f}}\r\n");
    assert_string_equal(render("crlf", v), "a\r\nb\r\n");

    reg("cmt", "{{! first }}\na\n  {{! multi\nline }}  \nb\n{{! last }}");
    assert_string_equal(render("cmt", v), "a\nb\n");

    /* text or a second tag on the line: not standalone */
    reg("ns1", "x {{#f}}y{{/f}}\n");
    assert_string_equal(render("ns1", v), "x y\n");

    reg("ns2", "{{#f}}{{/f}}\nz\n");
    assert_string_equal(render("ns2", v), "\nz\n");

    reg("ns3", "  {{a}}\n{{#f}} b\n{{/f}}\n");
    assert_string_equal(render("ns3", v), "  va\n b\n");

    /* no trailing newline on the last line */
    reg("ns4", "a\n{{#f}}\nb\n{{/f}}");
    assert_string_equal(render("ns4", v), "a\nb\n");
}


static void
test_unknown_key(void **state)
{
    gw_view_t  *v;

    (void) state;

    reg("uk", "one\ntwo\n{{#items}}\n  x {{missing}};\n{{/items}}\n");

    v = gw_view_new(&arena);
    gw_view_add(v, "items");
    render_fails("uk", v, "template \"uk\" line 4", "unknown key \"missing\"",
                 NULL);

    reg("ukr", "{{&missing}}");
    render_fails("ukr", v, "unknown key \"missing\"", NULL);

    reg("ukq", "{{\"missing}}");
    render_fails("ukq", v, "unknown key \"missing\"", NULL);

    reg("lst", "\n{{items}}\n");
    render_fails("lst", v, "line 2", "\"items\" is a list", NULL);

    gw_view_set_flag(v, "fl", 1);
    reg("flg", "{{fl}}\n");
    render_fails("flg", v, "line 1", "\"fl\" is a flag", NULL);

    render_fails("no_such_template", v, "unknown template", NULL);
}


static void
test_compile_errors(void **state)
{
    int    i;
    char   deep[1024];
    char  *p;

    (void) state;

    compile_fails("a\n  {{#x}}\nb\n", "line 2 column 3",
                  "{{#x}} is not closed", NULL);
    compile_fails("{{^x}}", "line 1 column 1", "{{^x}} is not closed", NULL);
    compile_fails("{{#a}}\n{{#b}}\n{{/a}}\n", "line 3 column 1",
                  "{{/a}} does not close {{#b}} opened at line 2 column 1",
                  NULL);
    compile_fails("x {{/a}}", "line 1 column 3", "closes no section", NULL);
    compile_fails("ab\ncd {{name\n", "line 2 column 4", "unterminated", NULL);
    compile_fails("ab\n{{! never closed", "line 2 column 1", "unterminated",
                  NULL);
    compile_fails("{{bad name}}", "line 1 column 1", "invalid name", NULL);
    compile_fails("\n\n  x{{}}", "line 3 column 4", "invalid name", NULL);
    compile_fails("{{#}}", "invalid name", NULL);
    compile_fails("{{a.b}}", "invalid name", NULL);
    compile_fails("{{{x}}}", "line 1 column 1", "not supported", NULL);
    compile_fails("{{=<% %>=}}", "not supported", NULL);

    p = deep;
    for (i = 0; i < 33; i++) {
        p += sprintf(p, "{{#s%d}}", i);
    }
    compile_fails(deep, "nested deeper", NULL);
}


static void
test_render_tmpl(void **state)
{
    gw_tmpl_t   *t;
    gw_view_t   *v;
    const char  *src;

    (void) state;

    src = "{{x}} {{>p}}\n";
    assert_int_equal(gw_tmpl_compile(&t, "direct", src, strlen(src), &err),
                     GW_OK);
    reg("p", "part");

    v = gw_view_new(&arena);
    gw_view_set(v, "x", "1");

    gw_buf_puts(&out, "pre ");
    assert_int_equal(gw_tmpl_render_tmpl(t, v, &out, &err), GW_OK);
    assert_string_equal(out.data, "pre 1 part\n");

    gw_tmpl_free(t);

    /* an empty template, and a NULL view */
    assert_int_equal(gw_tmpl_compile(&t, "empty", "", 0, &err), GW_OK);
    gw_buf_reset(&out);
    assert_int_equal(gw_tmpl_render_tmpl(t, NULL, &out, &err), GW_OK);
    assert_int_equal(out.len, 0);
    gw_tmpl_free(t);

    assert_int_equal(gw_tmpl_register("../x", "", 0, &err), GW_ERR);
    assert_int_equal(gw_tmpl_register("ok", "{{#a}}", 6, &err), GW_ERR);
}


static void
test_large_list(void **state)
{
    int         i, lines;
    size_t      k;
    gw_view_t  *v, *r;

    (void) state;

    reg("big",
        "{{#routes}}\n"
        "location {{path}} {\n"
        "    {{#exact}}\n"
        "    # exact\n"
        "    {{/exact}}\n"
        "    proxy_pass http://{{upstream}};\n"
        "    proxy_set_header Host {{\"host}};\n"
        "}\n"
        "{{/routes}}\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "host", "example.com");

    for (i = 0; i < 10000; i++) {
        r = gw_view_add(v, "routes");
        gw_view_setf(r, "path", "/r%d", i);
        gw_view_setf(r, "upstream", "up_%d", i % 7);
        gw_view_set_flag(r, "exact", i % 2);
    }

    render("big", v);

    lines = 0;
    for (k = 0; k < out.len; k++) {
        lines += (out.data[k] == '\n');
    }

    assert_int_equal(lines, 10000 * 4 + 5000);
    assert_non_null(strstr(out.data, "location /r9999 {\n"
                                     "    # exact\n"
                                     "    proxy_pass http://up_3;\n"));
}


/* Templates from a directory. */

static void
write_file(const char *dir, const char *name, const char *content)
{
    char   path[512];
    FILE  *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "wb");
    assert_non_null(f);
    fwrite(content, 1, strlen(content), f);
    fclose(f);
}


static void
remove_dir(const char *dir)
{
    char  cmd[600];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}


static void
test_dir(void **state)
{
    char        good[] = "/tmp/gw-tmpl-good-XXXXXX";
    char        bad[] = "/tmp/gw-tmpl-bad-XXXXXX";
    gw_view_t  *v;

    (void) state;

    assert_non_null(mkdtemp(good));
    assert_non_null(mkdtemp(bad));

    write_file(good, "zz_dir_a.tmpl", "A\n  {{>zz_dir_b}}\n");
    write_file(good, "zz_dir_b.tmpl", "B {{x}}\n");
    write_file(good, "README.md", "{{#not a template");
    write_file(good, ".hidden.tmpl", "{{#not a template");
    write_file(bad, "zz_dir_a.tmpl", "ok\n");
    write_file(bad, "zz_dir_c.tmpl", "ok\n{{#x}}\n");

    v = gw_view_new(&arena);
    gw_view_set(v, "x", "1");

    assert_int_equal(gw_tmpl_set_dir(good, &err), GW_OK);
    assert_string_equal(render("zz_dir_a", v), "A\n  B 1\n");

    /* a broken directory changes nothing */
    assert_int_equal(gw_tmpl_set_dir(bad, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "template \"zz_dir_c\" line 2 column 1"));
    assert_string_equal(render("zz_dir_a", v), "A\n  B 1\n");

    assert_int_equal(gw_tmpl_set_dir("/nonexistent/gw-tmpl", &err), GW_ERR);
    assert_non_null(strstr(err.msg, "/nonexistent/gw-tmpl"));

    /* registered templates come first */
    reg("zz_dir_b", "R\n");
    assert_string_equal(render("zz_dir_a", v), "A\n  R\n");

    /* back to the embedded templates */
    assert_int_equal(gw_tmpl_set_dir(NULL, &err), GW_OK);
    render_fails("zz_dir_a", v, "unknown template", NULL);

    remove_dir(good);
    remove_dir(bad);
}


static void
test_embedded(void **state)
{
    int                        rc;
    gw_tmpl_t                 *t;
    const gw_tmpl_embedded_t  *em;

    (void) state;

    /* every template built into this binary compiles */
    for (em = gw_tmpl_embedded; em->name != NULL; em++) {
        rc = gw_tmpl_compile(&t, em->name, em->src, em->len, &err);
        if (rc != GW_OK) {
            print_error("%s\n", err.msg);
        }
        assert_int_equal(rc, GW_OK);
        gw_tmpl_free(t);

        /* found through the registry (rendering may want keys) */
        gw_buf_reset(&out);
        rc = gw_tmpl_render(em->name, NULL, &out, &err);
        if (rc != GW_OK) {
            assert_null(strstr(err.msg, "unknown template"));
        }
    }
}


/* gen_templates.sh, run with sh and the C compiler like the Makefile. */

static char  gen_root[4096];


/* Finds the repository root (the Makefile runs tests from there). */

static int
gen_available(void)
{
    const char  *src;
    gw_buf_t     path;
    int          ok;

    src = getenv("GW_SRCDIR");
    if (src == NULL) {
        src = ".";
    }

    if (realpath(src, gen_root) == NULL) {
        return 0;
    }

    gw_buf_init(&path);
    gw_buf_printf(&path, "%s/controller/render/gen_templates.sh", gen_root);
    ok = access(path.data, R_OK) == 0
         && system("command -v cc >/dev/null") == 0;
    gw_buf_free(&path);

    return ok;
}


/* Runs a shell command made with printf. */

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
    int       rc;
    va_list   ap;
    gw_buf_t  cmd;

    gw_buf_init(&cmd);

    va_start(ap, fmt);
    gw_buf_vprintf(&cmd, fmt, ap);
    va_end(ap);

    rc = system(cmd.data);
    gw_buf_free(&cmd);

    return rc;
}


static void
test_gen_empty(void **state)
{
    char  dir[] = "/tmp/gw-tmpl-gen-XXXXXX";

    (void) state;

    if (!gen_available()) {
        skip();
    }

    assert_non_null(mkdtemp(dir));

    assert_int_equal(run("sh '%s/controller/render/gen_templates.sh' "
                         "> '%s/t.c' && cc -std=c11 -D_GNU_SOURCE -Wall "
                         "-Wextra -Werror -I'%s/controller' -c '%s/t.c' "
                         "-o '%s/t.o'",
                         gen_root, dir, gen_root, dir, dir), 0);

    remove_dir(dir);
}


static void
test_gen_roundtrip(void **state)
{
    int           i;
    char          dir[] = "/tmp/gw-tmpl-gen-XXXXXX";
    char          path[600];
    char          got[256];
    size_t        n;
    FILE         *f;
    const char   *names[] = { "tricky", "empty", "blank_lines", "nul-byte" };
    const char   *data[] = {
        ("a \"q\" \\ back\\\\\n?\?= tri ?\?/\n?\?'\t%s %d %%\n"
         "\001\377\303\251 \\x41\\101 end"),
        "",
        "\n\n",
        "x\0y\n"
    };
    size_t        lens[] = { 0, 0, 2, 4 };

    (void) state;

    if (!gen_available()) {
        skip();
    }

    lens[0] = strlen(data[0]);

    assert_non_null(mkdtemp(dir));

    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/%s.tmpl", dir, names[i]);
        f = fopen(path, "wb");
        assert_non_null(f);
        fwrite(data[i], 1, lens[i], f);
        fclose(f);
    }

    write_file(dir, "dump.c",
        "#include <stdio.h>\n"
        "#include \"render/tmpl.h\"\n"
        "int\n"
        "main(int argc, char **argv)\n"
        "{\n"
        "    char  p[4096];\n"
        "    FILE *f;\n"
        "    const gw_tmpl_embedded_t *e;\n"
        "    (void) argc;\n"
        "    for (e = gw_tmpl_embedded; e->name != NULL; e++) {\n"
        "        if (e->src[e->len] != '\\0') return 1;\n"
        "        snprintf(p, sizeof(p), \"%s/out-%s\", argv[1], e->name);\n"
        "        f = fopen(p, \"wb\");\n"
        "        if (f == NULL) return 1;\n"
        "        fwrite(e->src, 1, e->len, f);\n"
        "        fclose(f);\n"
        "    }\n"
        "    return 0;\n"
        "}\n");

    /* -std=c11 turns trigraphs on: "??=" must survive */
    assert_int_equal(run("cd '%s' && sh "
                         "'%s/controller/render/gen_templates.sh'"
                         " tricky.tmpl empty.tmpl blank_lines.tmpl "
                         "./nul-byte.tmpl > gen.c && cc -std=c11 "
                         "-D_GNU_SOURCE -Wall -Wextra -Werror "
                         "-I'%s/controller' gen.c dump.c -o dump && ./dump .",
                         dir, gen_root, gen_root), 0);

    for (i = 0; i < 4; i++) {
        snprintf(path, sizeof(path), "%s/out-%s", dir, names[i]);
        f = fopen(path, "rb");
        assert_non_null(f);
        n = fread(got, 1, sizeof(got), f);
        fclose(f);

        assert_int_equal(n, lens[i]);
        assert_memory_equal(got, data[i], lens[i]);
    }

    /* bad names and duplicates are refused */
    assert_int_not_equal(run("cd '%s' && sh "
                             "'%s/controller/render/gen_templates.sh' "
                             "dump.c >/dev/null 2>&1", dir, gen_root), 0);
    assert_int_not_equal(run("cd '%s' && sh "
                             "'%s/controller/render/gen_templates.sh' "
                             "empty.tmpl ./empty.tmpl >/dev/null 2>&1",
                             dir, gen_root), 0);

    remove_dir(dir);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_value_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_quoted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sections_lists, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_sections_flags, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_partials_indent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_standalone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_key, setup, teardown),
        cmocka_unit_test_setup_teardown(test_compile_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_render_tmpl, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_embedded, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gen_roundtrip, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
