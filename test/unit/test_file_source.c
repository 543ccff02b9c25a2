/*
 * Unit tests: the standalone file source (controller/source/file.c).
 *
 * Every test works in its own temporary directory.  The watcher tests
 * wait for inotify with poll() and a timeout of a few seconds.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "source/file.h"


#define WAIT_MS     5000      /* for a change that must come */
#define QUIET_MS    300       /* for one that must not */


typedef struct {
    char     root[64];
    char     path[512];       /* scratch for join() */
} fx_t;


static const char *
join(fx_t *fx, const char *rel)
{
    snprintf(fx->path, sizeof(fx->path), "%s/%s", fx->root, rel);
    return fx->path;
}


static void
write_path(const char *path, const char *content)
{
    FILE  *f;

    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    assert_int_equal(fclose(f), 0);
}


static void
write_file(fx_t *fx, const char *rel, const char *content)
{
    write_path(join(fx, rel), content);
}


static void
make_dir(fx_t *fx, const char *rel)
{
    assert_int_equal(mkdir(join(fx, rel), 0755), 0);
}


static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;

    return remove(path);
}


static void
rm_rf(const char *path)
{
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}


static int
setup(void **state)
{
    fx_t  *fx;

    fx = calloc(1, sizeof(fx_t));
    snprintf(fx->root, sizeof(fx->root), "/tmp/gw-file-test-XXXXXX");
    if (mkdtemp(fx->root) == NULL) {
        free(fx);
        return -1;
    }

    *state = fx;
    return 0;
}


static int
teardown(void **state)
{
    fx_t  *fx = *state;

    rm_rf(fx->root);
    free(fx);
    return 0;
}


static const char *
name_of(const gw_doc_t *d)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(d->json, "metadata"), "name");

    return cJSON_IsString(v) ? v->valuestring : "";
}


static const char *
label_of(const gw_doc_t *d)
{
    cJSON  *v;

    v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(
                cJSON_GetObjectItemCaseSensitive(d->json, "metadata"),
                "labels"), "v");

    return cJSON_IsString(v) ? v->valuestring : "";
}


/* "name@file-relative-to-root:line name@..." for compact assertions */
static char *
describe(fx_t *fx, const gw_doc_t *docs, size_t n)
{
    size_t     i, skip;
    gw_buf_t   b;

    gw_buf_init(&b);
    gw_buf_puts(&b, "");
    skip = strlen(fx->root) + 1;

    for (i = 0; i < n; i++) {
        gw_buf_printf(&b, "%s%s@%s:%d", i ? " " : "", name_of(&docs[i]),
                      strlen(docs[i].file) > skip ? docs[i].file + skip
                                                  : docs[i].file,
                      docs[i].line);
    }

    return gw_buf_detach(&b);
}


static void
assert_docs(fx_t *fx, const gw_doc_t *docs, size_t n, const char *want)
{
    char  *got;

    got = describe(fx, docs, n);
    if (strcmp(got, want) != 0) {
        print_error("got  %s\nwant %s\n", got, want);
        free(got);
        fail();
    }
    free(got);
}


/* Runs a scan with stderr captured; returns how many times it says s. */
static int
scan_counting(gw_file_source_t *s, const gw_doc_t **docs, size_t *n,
    size_t *nerrors, const char *needle, char *log, size_t loglen)
{
    int        fd, saved, count;
    char      *p;
    ssize_t    len;
    gw_err_t   err;

    fflush(stderr);
    fd = open("/tmp", O_TMPFILE | O_RDWR, 0600);
    assert_true(fd >= 0);
    saved = dup(2);
    dup2(fd, 2);

    assert_int_equal(gw_file_source_scan(s, docs, n, nerrors, &err), GW_OK);

    fflush(stderr);
    dup2(saved, 2);
    close(saved);

    len = pread(fd, log, loglen - 1, 0);
    close(fd);
    log[len > 0 ? len : 0] = '\0';

    count = 0;
    for (p = strstr(log, needle); p != NULL; p = strstr(p + 1, needle)) {
        count++;
    }

    return count;
}


static const char  *svc =
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata:\n"
    "  name: %s\n"
    "  namespace: default\n"
    "  labels: {v: \"%s\"}\n";


static char *
doc_text(const char *name, const char *v)
{
    gw_buf_t  b;

    gw_buf_init(&b);
    gw_buf_printf(&b, svc, name, v);
    return gw_buf_detach(&b);
}


static void
test_scan_tree(void **state)
{
    fx_t              *fx = *state;
    size_t             n, nerrors;
    gw_err_t           err;
    const gw_doc_t    *docs;
    gw_file_source_t  *s;

    make_dir(fx, "sub");
    make_dir(fx, "sub/deeper");
    make_dir(fx, ".git");

    write_file(fx, "b.yaml",
               "metadata: {name: b1}\n---\nmetadata: {name: b2}\n");
    write_file(fx, "a.yml", "# comment\nmetadata: {name: a1}\n");
    write_file(fx, "sub.yaml", "metadata: {name: s1}\n");
    write_file(fx, "sub/c.yaml", "---\nmetadata: {name: c1}\n");
    write_file(fx, "sub/deeper/d.yaml", "metadata: {name: d1}\n");
    write_file(fx, "sub/empty.yaml", "# nothing here\n");

    /* not manifests */
    write_file(fx, "notes.txt", "metadata: {name: txt}\n");
    write_file(fx, "a.json", "{\"metadata\": {\"name\": \"json\"}}\n");
    write_file(fx, ".hidden.yaml", "metadata: {name: hidden}\n");
    write_file(fx, ".git/x.yaml", "metadata: {name: git}\n");
    write_file(fx, "e.yaml~", "metadata: {name: backup}\n");
    write_file(fx, ".b.yaml.swp", "metadata: {name: swap}\n");
    write_file(fx, "f.yaml.swp", "metadata: {name: swap}\n");
    write_file(fx, "g.yaml.swx", "metadata: {name: swap}\n");
    assert_int_equal(symlink("missing.yaml", join(fx, "dangling.yaml")), 0);
    assert_int_equal(symlink("..", join(fx, "sub/loop")), 0);

    /* a trailing slash does not double the separator */
    s = gw_file_source_new(join(fx, "/"), &err);
    assert_non_null(s);
    assert_int_equal(gw_file_source_fd(s), -1);

    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 0);
    assert_docs(fx, docs, n,
                "a1@a.yml:2 b1@b.yaml:1 b2@b.yaml:2 s1@sub.yaml:1 "
                "c1@sub/c.yaml:1 d1@sub/deeper/d.yaml:1");

    /* scanning again gives the same, and does not accumulate */
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(n, 6);
    assert_int_equal(nerrors, 0);

    gw_file_source_free(s);
}


static void
test_last_good(void **state)
{
    fx_t              *fx = *state;
    char              *one, *two, *three, *one2, *two2, *four, log[8192];
    size_t             n, nerrors;
    gw_buf_t           b;
    gw_err_t           err;
    const gw_doc_t    *docs;
    gw_file_source_t  *s;

    one = doc_text("one", "1");
    two = doc_text("two", "1");
    three = doc_text("three", "1");
    one2 = doc_text("one", "2");
    two2 = doc_text("two", "2");
    four = doc_text("four", "1");

    gw_buf_init(&b);
    gw_buf_printf(&b, "%s---\n%s---\n%s", one, two, three);
    write_file(fx, "a.yaml", b.data);
    write_file(fx, "z.yaml", "metadata: {name: other}\n");

    s = gw_file_source_new(fx->root, &err);
    assert_non_null(s);

    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 0);
    assert_docs(fx, docs, n,
                "one@a.yaml:1 two@a.yaml:7 three@a.yaml:14 other@z.yaml:1");

    /*
     * the user edits: "one" changes, "two" breaks ("labels" on line 12
     * opens a flow mapping that is never closed; libyaml notices at the
     * ':' of "spec:", line 13, column 5), "four" is new
     */

    gw_buf_reset(&b);
    gw_buf_printf(&b, "%s---\n"
                      "apiVersion: v1\n"
                      "kind: Service\n"
                      "metadata:\n"
                      "  name: two\n"
                      "  labels: {v: broken\n"
                      "spec: {}\n"
                      "---\n%s---\n%s", one2, three, four);
    write_file(fx, "a.yaml", b.data);

    assert_int_equal(scan_counting(s, &docs, &n, &nerrors,
                                   "malformed manifest", log, sizeof(log)),
                     1);
    assert_non_null(strstr(log, "line=13 column=5"));
    assert_non_null(strstr(log, join(fx, "a.yaml")));
    assert_int_equal(nerrors, 1);

    /* the new good ones, then the last good "two" (with its old line) */
    assert_docs(fx, docs, n,
                "one@a.yaml:1 three@a.yaml:14 four@a.yaml:21 "
                "two@a.yaml:7 other@z.yaml:1");
    assert_string_equal(label_of(&docs[0]), "2");
    assert_string_equal(label_of(&docs[3]), "1");

    /* still broken: still kept, logged once again */

    assert_int_equal(scan_counting(s, &docs, &n, &nerrors,
                                   "malformed manifest", log, sizeof(log)),
                     1);
    assert_int_equal(nerrors, 1);
    assert_docs(fx, docs, n,
                "one@a.yaml:1 three@a.yaml:14 four@a.yaml:21 "
                "two@a.yaml:7 other@z.yaml:1");

    /* fixed (and "four" removed again): the fixed version returns */

    gw_buf_reset(&b);
    gw_buf_printf(&b, "%s---\n%s---\n%s", one2, two2, three);
    write_file(fx, "a.yaml", b.data);

    assert_int_equal(scan_counting(s, &docs, &n, &nerrors,
                                   "malformed manifest", log, sizeof(log)),
                     0);
    assert_int_equal(nerrors, 0);
    assert_docs(fx, docs, n,
                "one@a.yaml:1 two@a.yaml:7 three@a.yaml:14 other@z.yaml:1");
    assert_string_equal(label_of(&docs[1]), "2");

    /* a file that is all broken keeps all its documents */

    write_file(fx, "a.yaml", "metadata: [\n");
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 1);
    assert_docs(fx, docs, n,
                "one@a.yaml:1 two@a.yaml:7 three@a.yaml:14 other@z.yaml:1");

    /* deleting a file is intentional: its documents go, broken or not */

    assert_int_equal(unlink(join(fx, "a.yaml")), 0);
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 0);
    assert_docs(fx, docs, n, "other@z.yaml:1");

    /* a new file that is broken has nothing to fall back to */

    write_file(fx, "a.yaml", "metadata: [\n---\nmetadata: {name: ok}\n");
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 1);
    assert_docs(fx, docs, n, "ok@a.yaml:2 other@z.yaml:1");

    gw_file_source_free(s);
    gw_buf_free(&b);
    free(one);
    free(two);
    free(three);
    free(one2);
    free(two2);
    free(four);
}


/* The identity is group, kind, namespace and name, not the version. */
static void
test_last_good_identity(void **state)
{
    fx_t              *fx = *state;
    size_t             n, nerrors;
    gw_err_t           err;
    const gw_doc_t    *docs;
    gw_file_source_t  *s;

    write_file(fx, "r.yaml",
        "apiVersion: gateway.networking.k8s.io/v1beta1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: a}\n"
        "---\n"
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: b}\n"
        "---\n"
        "apiVersion: example.com/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: a}\n");

    s = gw_file_source_new(join(fx, "r.yaml"), &err);
    assert_non_null(s);
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(n, 3);

    /* v1beta1 -> v1 of the same route in a, plus a broken document */

    write_file(fx, "r.yaml",
        "apiVersion: gateway.networking.k8s.io/v1\n"
        "kind: HTTPRoute\n"
        "metadata: {name: r, namespace: a}\n"
        "---\n"
        "kind: [\n");

    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 1);
    assert_int_equal(n, 3);
    assert_string_equal(cJSON_GetObjectItem(docs[0].json,
                        "apiVersion")->valuestring,
                        "gateway.networking.k8s.io/v1");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(docs[1].json,
                        "metadata"), "namespace")->valuestring, "b");
    assert_string_equal(cJSON_GetObjectItem(docs[2].json,
                        "apiVersion")->valuestring, "example.com/v1");

    gw_file_source_free(s);
}


/* A file that cannot be read keeps its documents; a symlink loop is one
 * that even root cannot read. */
static void
test_unreadable_file(void **state)
{
    fx_t              *fx = *state;
    char              *p;
    size_t             n, nerrors;
    gw_err_t           err;
    const gw_doc_t    *docs;
    gw_file_source_t  *s;

    write_file(fx, "a.yaml", "metadata: {name: a}\n");
    write_file(fx, "b.yaml", "metadata: {name: b}\n");

    s = gw_file_source_new(fx->root, &err);
    assert_non_null(s);
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_docs(fx, docs, n, "a@a.yaml:1 b@b.yaml:1");

    assert_int_equal(unlink(join(fx, "a.yaml")), 0);
    p = strdup(fx->path);
    assert_int_equal(symlink(p, p), 0);
    free(p);

    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 1);
    assert_docs(fx, docs, n, "a@a.yaml:1 b@b.yaml:1");

    assert_int_equal(unlink(join(fx, "a.yaml")), 0);
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 0);
    assert_docs(fx, docs, n, "b@b.yaml:1");

    gw_file_source_free(s);
}


static void
test_single_file_and_errors(void **state)
{
    fx_t              *fx = *state;
    char               path[512];
    size_t             n, nerrors, n2, e2;
    gw_err_t           err;
    const gw_doc_t    *docs, *docs2;
    gw_file_source_t  *s;

    /* a missing path */

    memset(&err, 0, sizeof(err));
    assert_null(gw_file_source_new(join(fx, "missing"), &err));
    assert_non_null(strstr(err.msg, "missing"));

    /* a file named explicitly is read whatever its extension */

    make_dir(fx, "d");
    write_file(fx, "d/manifest.txt", "metadata: {name: m}\n---\n[\n");
    write_file(fx, "d/other.yaml", "metadata: {name: o}\n");

    snprintf(path, sizeof(path), "%s", join(fx, "d/manifest.txt"));
    s = gw_file_source_new(path, &err);
    assert_non_null(s);
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 1);
    assert_docs(fx, docs, n, "m@d/manifest.txt:1");
    gw_file_source_free(s);

    /* the root going away: GW_ERR, and the last documents stay valid */

    s = gw_file_source_new(join(fx, "d"), &err);
    assert_non_null(s);
    assert_int_equal(gw_file_source_scan(s, &docs, &n, &nerrors, &err),
                     GW_OK);
    assert_int_equal(nerrors, 0);
    assert_docs(fx, docs, n, "o@d/other.yaml:1");

    rm_rf(join(fx, "d"));

    docs2 = NULL;
    n2 = 99;
    e2 = 99;
    memset(&err, 0, sizeof(err));
    assert_int_equal(gw_file_source_scan(s, &docs2, &n2, &e2, &err), GW_ERR);
    assert_non_null(strstr(err.msg, "cannot read"));
    assert_null(docs2);
    assert_int_equal(n2, 99);
    assert_int_equal(e2, 99);
    assert_docs(fx, docs, n, "o@d/other.yaml:1");

    gw_file_source_free(s);
}


/* Waits up to ms for the source to report a relevant change. */
static int
wait_changed(gw_file_source_t *s, int ms)
{
    int              left, rc;
    struct pollfd    pfd;
    struct timespec  start, now;

    clock_gettime(CLOCK_MONOTONIC, &start);
    left = ms;

    for ( ;; ) {
        pfd.fd = gw_file_source_fd(s);
        pfd.events = POLLIN;
        pfd.revents = 0;

        rc = poll(&pfd, 1, left);
        if (rc == -1 && errno != EINTR) {
            return -1;
        }

        if (rc > 0 && gw_file_source_changed(s)) {
            return 1;
        }

        clock_gettime(CLOCK_MONOTONIC, &now);
        left = ms - (int) ((now.tv_sec - start.tv_sec) * 1000
                           + (now.tv_nsec - start.tv_nsec) / 1000000);
        if (left <= 0) {
            return 0;
        }
    }
}


static void
test_watch_directory(void **state)
{
    fx_t              *fx = *state;
    char               away[128], from[512];
    gw_err_t           err;
    gw_file_source_t  *s;

    make_dir(fx, "sub");

    s = gw_file_source_new(fx->root, &err);
    assert_non_null(s);
    assert_int_equal(gw_file_source_changed(s), 0);

    assert_int_equal(gw_file_source_watch(s, &err), GW_OK);
    assert_true(gw_file_source_fd(s) >= 0);
    assert_int_equal(gw_file_source_watch(s, &err), GW_OK);  /* no-op */
    assert_int_equal(gw_file_source_changed(s), 0);

    /* a manifest appears, in the root and in an existing subdirectory */

    write_file(fx, "x.yaml", "metadata: {name: x}\n");
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    write_file(fx, "sub/y.yml", "metadata: {name: y}\n");
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    /* other files, hidden entries and editor files are not changes */

    write_file(fx, "notes.txt", "hello\n");
    write_file(fx, ".x.yaml.swp", "swap\n");
    write_file(fx, "x.yaml~", "backup\n");
    make_dir(fx, ".git");
    write_file(fx, ".git/config.yaml", "a: 1\n");
    assert_int_equal(wait_changed(s, QUIET_MS), 0);

    /* a new directory is a change, and is watched from then on */

    make_dir(fx, "new");
    assert_int_equal(wait_changed(s, WAIT_MS), 1);
    write_file(fx, "new/z.yaml", "metadata: {name: z}\n");
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    /* modified in place, renamed over, deleted */

    write_file(fx, "x.yaml", "metadata: {name: x2}\n");
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    snprintf(from, sizeof(from), "%s", join(fx, "tmpfile"));
    write_file(fx, "tmpfile", "metadata: {name: x3}\n");
    assert_int_equal(wait_changed(s, QUIET_MS), 0);
    assert_int_equal(rename(from, join(fx, "x.yaml")), 0);
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    assert_int_equal(unlink(join(fx, "x.yaml")), 0);
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    /* a directory moved out of the tree: a change, then no longer ours */

    snprintf(away, sizeof(away), "%s-away", fx->root);
    assert_int_equal(rename(join(fx, "new"), away), 0);
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    snprintf(from, sizeof(from), "%s/late.yaml", away);
    write_path(from, "metadata: {name: late}\n");
    assert_int_equal(wait_changed(s, QUIET_MS), 0);
    rm_rf(away);

    gw_file_source_free(s);
}


static void
test_watch_single_file(void **state)
{
    fx_t              *fx = *state;
    char               tmp[512];
    gw_err_t           err;
    gw_file_source_t  *s;

    write_file(fx, "one.yaml", "metadata: {name: one}\n");

    s = gw_file_source_new(join(fx, "one.yaml"), &err);
    assert_non_null(s);
    assert_int_equal(gw_file_source_watch(s, &err), GW_OK);

    write_file(fx, "other.yaml", "metadata: {name: other}\n");
    assert_int_equal(wait_changed(s, QUIET_MS), 0);

    write_file(fx, "one.yaml", "metadata: {name: one2}\n");
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    /* an editor's atomic save: write a temporary file, rename it over */
    snprintf(tmp, sizeof(tmp), "%s", join(fx, ".one.yaml.tmp"));
    write_file(fx, ".one.yaml.tmp", "metadata: {name: one3}\n");
    assert_int_equal(rename(tmp, join(fx, "one.yaml")), 0);
    assert_int_equal(wait_changed(s, WAIT_MS), 1);

    gw_file_source_free(s);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_scan_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_good_identity, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_file, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_single_file_and_errors, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watch_directory, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_watch_single_file, setup,
                                        teardown),
    };

    gw_log_setup(GW_LOG_INFO, GW_LOG_LOGFMT);

    return cmocka_run_group_tests_name("file_source", tests, NULL, NULL);
}
