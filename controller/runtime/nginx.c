/*
 * ngx-gateway: running nginx: test, start, reload, confirm, restore.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "render/render.h"
#include "runtime/files.h"
#include "runtime/runtime.h"
#include "runtime/secrets.h"

#define GW_CONFIRM_TIMEOUT_MS  15000


int
gw_runtime_init(gw_runtime_t *rt, const char *state_dir,
    const char *nginx_bin, const char *module_path, gw_err_t *err)
{
    size_t       i;
    char         path[4096];
    static const char  *dirs[] = { "conf", "logs", "run", "tmp" };

    memset(rt, 0, sizeof(gw_runtime_t));
    rt->state_dir = state_dir;
    rt->nginx_bin = nginx_bin;
    rt->module_path = module_path;

    if (gw_render_check_path(state_dir, err) != GW_OK
        || gw_render_check_path(module_path, err) != GW_OK)
    {
        return GW_ERR;
    }

    if (access(module_path, R_OK) != 0) {
        gw_err_set(err, "nginx module %s: %s (run `make`)", module_path,
                   strerror(errno));
        return GW_ERR;
    }

    for (i = 0; i < gw_countof(dirs); i++) {
        snprintf(path, sizeof(path), "%s/%s", state_dir, dirs[i]);
        if (gw_mkdir_p(path, 0755, err) != GW_OK) {
            return GW_ERR;
        }
    }

    /* nginx workers may run as another user: let them into the state dir */
    chmod(state_dir, 0755);

    return GW_OK;
}


/* Forgets the live configuration: nginx no longer runs it. */
static void
gw_runtime_forget(gw_runtime_t *rt)
{
    free(rt->live_http);
    rt->live_http = NULL;
    free(rt->live_stream);
    rt->live_stream = NULL;
    free(rt->live_certs);
    rt->live_certs = NULL;
}


void
gw_runtime_release(gw_runtime_t *rt)
{
    gw_runtime_forget(rt);
}


int
gw_runtime_confs_live(const gw_runtime_t *rt,
    const gw_runtime_confs_t *confs)
{
    if (rt->pid == 0 || rt->live_http == NULL
        || strcmp(rt->live_http, confs->http) != 0)
    {
        return 0;
    }

    if (rt->live_stream == NULL || confs->stream == NULL) {
        return rt->live_stream == NULL && confs->stream == NULL;
    }

    return strcmp(rt->live_stream, confs->stream) == 0;
}


int
gw_runtime_is_live(const gw_runtime_t *rt, const char *http_conf)
{
    gw_runtime_confs_t  confs;

    confs.http = http_conf;
    confs.stream = NULL;
    confs.certs = NULL;

    return gw_runtime_confs_live(rt, &confs);
}


/* The first "[emerg]" (or "[alert]", "[crit]") line of text, trimmed. */
static int
gw_nginx_error_line(const char *text, gw_err_t *err)
{
    size_t       n;
    const char  *p, *end;
    static const char  *marks[] = { "[emerg]", "[alert]", "[crit]" };
    size_t       i;

    for (i = 0; i < gw_countof(marks); i++) {
        p = strstr(text, marks[i]);
        if (p == NULL) {
            continue;
        }
        end = strchr(p, '\n');
        n = end ? (size_t) (end - p) : strlen(p);
        gw_err_set(err, "nginx: %.*s", (int) n, p);
        return GW_OK;
    }

    return GW_ERR;
}


/* Runs argv, returning its exit status and what it wrote to stderr. */
static int
gw_run_capture(char *const argv[], gw_buf_t *out)
{
    int      fds[2], status;
    char     chunk[4096];
    pid_t    pid;
    ssize_t  n;

    if (pipe(fds) != 0) {
        return -1;
    }

    pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }

    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], argv);
        _exit(127);
    }

    close(fds[1]);
    for ( ;; ) {
        n = read(fds[0], chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        gw_buf_append(out, chunk, (size_t) n);
    }
    close(fds[0]);

    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            return -1;
        }
    }

    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}


static int
gw_nginx_test(gw_runtime_t *rt, const char *conf, gw_err_t *err)
{
    int        rc;
    char       prefix[4096];
    gw_buf_t   out;
    char      *argv[8];

    snprintf(prefix, sizeof(prefix), "%s/", rt->state_dir);

    argv[0] = (char *) rt->nginx_bin;
    argv[1] = "-t";
    argv[2] = "-q";
    argv[3] = "-p";
    argv[4] = prefix;
    argv[5] = "-c";
    argv[6] = (char *) conf;
    argv[7] = NULL;

    gw_buf_init(&out);
    rc = gw_run_capture(argv, &out);

    if (rc != 0) {
        if (gw_nginx_error_line(out.data ? out.data : "", err) != GW_OK) {
            gw_err_set(err, "nginx -t failed (exit %d): %s", rc,
                       out.data ? out.data : "");
        }
        gw_buf_free(&out);
        return GW_ERR;
    }

    gw_buf_free(&out);

    return GW_OK;
}


/* nginx.conf at path, including http_conf and stream_conf (or none). */
static int
gw_write_main(gw_runtime_t *rt, const char *path, const char *http_conf,
    const char *stream_conf, uint64_t generation, gw_err_t *err)
{
    int               rc;
    gw_buf_t          b;
    gw_render_conf_t  rc_conf;

    memset(&rc_conf, 0, sizeof(rc_conf));
    rc_conf.state_dir = rt->state_dir;
    rc_conf.module_path = rt->module_path;
    rc_conf.stream_module_path = rt->stream_module_path;
    rc_conf.generation = generation;
    rc_conf.worker_processes = rt->worker_processes;
    rc_conf.stdio_logs = rt->stdio_logs;

    gw_buf_init(&b);

    rc = gw_render_main(&rc_conf, http_conf, stream_conf, &b, err);
    if (rc == GW_OK) {
        rc = gw_file_write_atomic(path, b.data, b.len, 0644, err);
    }

    gw_buf_free(&b);

    return rc;
}


static off_t
gw_file_size(const char *path)
{
    struct stat  st;

    return stat(path, &st) == 0 ? st.st_size : 0;
}


/* nginx's error log from offset on: the reason a reload or start failed. */
static void
gw_nginx_log_reason(gw_runtime_t *rt, off_t offset, gw_err_t *err,
    const char *fallback)
{
    char      path[4096], *data;
    size_t    len;
    gw_err_t  e;

    snprintf(path, sizeof(path), "%s/logs/error.log", rt->state_dir);

    if (gw_file_read(path, &data, &len, &e) == GW_OK) {
        if ((size_t) offset <= len
            && gw_nginx_error_line(data + offset, err) == GW_OK)
        {
            free(data);
            return;
        }
        free(data);
    }

    gw_err_set(err, "%s", fallback);
}


/*
 * Removes the unix sockets a previous nginx left in STATE_DIR/run: nginx
 * unlinks them when it exits cleanly, but not when its start failed half
 * way (a port in use: the sockets bound before it stay), and a fresh
 * start cannot bind over them.  Called only when no nginx of ours runs.
 */
static void
gw_nginx_unlink_sockets(gw_runtime_t *rt)
{
    DIR            *dir;
    char            path[4096];
    struct stat     st;
    struct dirent  *e;

    snprintf(path, sizeof(path), "%s/run", rt->state_dir);

    dir = opendir(path);
    if (dir == NULL) {
        return;
    }

    while ((e = readdir(dir)) != NULL) {
        snprintf(path, sizeof(path), "%s/run/%s", rt->state_dir, e->d_name);
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
            unlink(path);
        }
    }

    closedir(dir);
}


static int
gw_nginx_start(gw_runtime_t *rt, gw_err_t *err)
{
    int    fd;
    char   prefix[4096], conf[4096], out[4096];
    pid_t  pid;

    gw_nginx_unlink_sockets(rt);

    snprintf(prefix, sizeof(prefix), "%s/", rt->state_dir);
    snprintf(conf, sizeof(conf), "%s/" GW_FILE_MAIN, rt->state_dir);
    snprintf(out, sizeof(out), "%s/logs/nginx.out", rt->state_dir);

    pid = fork();
    if (pid < 0) {
        gw_err_set(err, "fork: %s", strerror(errno));
        return GW_ERR;
    }

    if (pid == 0) {
        fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        /* nginx must not inherit the controller's signal mask */
        {
            sigset_t  none;
            sigemptyset(&none);
            sigprocmask(SIG_SETMASK, &none, NULL);
        }
        execl(rt->nginx_bin, rt->nginx_bin, "-p", prefix, "-c", conf,
              "-g", "daemon off;", (char *) NULL);
        _exit(127);
    }

    rt->pid = pid;
    gw_log(GW_LOG_INFO, "nginx started", "pid",
           gw_log_int((long long) pid), NULL);

    return GW_OK;
}


int
gw_runtime_reap(gw_runtime_t *rt)
{
    int    status;
    pid_t  pid;

    if (rt->pid == 0) {
        return 0;
    }

    pid = waitpid(rt->pid, &status, WNOHANG);
    if (pid != rt->pid) {
        return 0;
    }

    gw_log(GW_LOG_WARN, "nginx exited", "pid", gw_log_int((long long) pid),
           "status", gw_log_int(WIFEXITED(status) ? WEXITSTATUS(status)
                                                   : 128 + WTERMSIG(status)),
           NULL);
    rt->pid = 0;
    gw_runtime_forget(rt);

    return 1;
}


/*
 * 1 when nginx logged an [emerg] line since offset: the master refused
 * the new configuration (e.g. a port `nginx -t` could not know is taken)
 * and keeps running the old one, so there is nothing to wait for.
 */
static int
gw_nginx_refused(gw_runtime_t *rt, off_t offset, gw_err_t *err)
{
    int      fd, found;
    char     path[4096], buf[16384];
    ssize_t  n;

    snprintf(path, sizeof(path), "%s/logs/error.log", rt->state_dir);

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return 0;
    }

    n = pread(fd, buf, sizeof(buf) - 1, offset);
    close(fd);

    if (n <= 0) {
        return 0;
    }

    buf[n] = '\0';
    found = strstr(buf, "[emerg]") != NULL;

    if (found) {
        gw_nginx_error_line(buf, err);
    }

    return found;
}


/* Polls the module until it reports generation, or nginx gives up. */
static int
gw_nginx_confirm(gw_runtime_t *rt, uint64_t generation, off_t log_offset,
    gw_err_t *err)
{
    double    deadline;
    uint64_t  live;
    gw_err_t  e;

    deadline = gw_now_ms() + GW_CONFIRM_TIMEOUT_MS;

    while (gw_now_ms() < deadline) {
        if (gw_runtime_query(rt->state_dir, &live, &e) == GW_OK
            && live == generation)
        {
            return GW_OK;
        }

        if (gw_runtime_reap(rt)) {
            gw_nginx_log_reason(rt, log_offset, err, "nginx exited");
            return GW_ERR;
        }

        if (gw_nginx_refused(rt, log_offset, err)) {
            return GW_ERR;
        }

        gw_sleep_ms(2);
    }

    gw_nginx_log_reason(rt, log_offset, err,
                        "nginx did not load the new configuration in time");

    return GW_ERR;
}


/*
 * The files of one generation below the state directory: where each
 * lives, where its candidate is written, its new text (NULL: the
 * generation has no such file) and the last good text.
 */
typedef struct {
    char          path[4096];
    char          candidate[4096];
    const char   *text;
    char        **live;
} gw_conf_file_t;

enum { GW_CONF_HTTP = 0, GW_CONF_STREAM, GW_CONF_N };


static void
gw_conf_files(gw_runtime_t *rt, const gw_runtime_confs_t *confs,
    gw_conf_file_t *f)
{
    size_t              i;
    static const char  *names[GW_CONF_N] = { GW_FILE_HTTP, GW_FILE_STREAM };

    for (i = 0; i < GW_CONF_N; i++) {
        snprintf(f[i].path, sizeof(f[i].path), "%s/%s", rt->state_dir,
                 names[i]);
        snprintf(f[i].candidate, sizeof(f[i].candidate), "%s/%s.new",
                 rt->state_dir, names[i]);
    }

    f[GW_CONF_HTTP].text = confs->http;
    f[GW_CONF_HTTP].live = &rt->live_http;
    f[GW_CONF_STREAM].text = confs->stream;
    f[GW_CONF_STREAM].live = &rt->live_stream;
}


/* The last good files and the nginx.conf that includes them. */
static void
gw_runtime_restore(gw_runtime_t *rt, gw_conf_file_t *f,
    const char *main_path)
{
    size_t    i;
    gw_err_t  e;

    if (rt->live_http == NULL) {
        return;
    }

    for (i = 0; i < GW_CONF_N; i++) {
        if (*f[i].live != NULL
            && gw_file_write_atomic(f[i].path, *f[i].live,
                                    strlen(*f[i].live), 0644, &e) != GW_OK)
        {
            goto failed;
        }
    }

    if (gw_write_main(rt, main_path, f[GW_CONF_HTTP].path,
                      rt->live_stream ? f[GW_CONF_STREAM].path : NULL,
                      rt->generation, &e) == GW_OK)
    {
        return;
    }

failed:

    gw_log(GW_LOG_ERROR, "restoring the last good configuration failed",
           "error", e.msg, NULL);
}


/*
 * nginx in its own container (same pod, shared process namespace and
 * state directory): SIGHUP its master, found through its pid file.  No pid
 * file yet means it has not started: it waits for nginx.conf and loads
 * this generation when it does, which the confirmation then sees.
 */
static int
gw_nginx_signal_external(gw_runtime_t *rt, gw_err_t *err)
{
    char      path[4096], *text;
    long      pid;
    size_t    len;
    gw_err_t  e;

    snprintf(path, sizeof(path), "%s/nginx.pid", rt->state_dir);

    pid = 0;
    if (gw_file_read(path, &text, &len, &e) == GW_OK) {
        pid = strtol(text, NULL, 10);
        free(text);
    }

    if (pid <= 1) {
        gw_log(GW_LOG_INFO, "waiting for nginx to start", "pid_file", path,
               NULL);
        return GW_OK;
    }

    if (kill((pid_t) pid, SIGHUP) != 0) {
        gw_err_set(err, "signal nginx (pid %ld from %s): %s", pid, path,
                   strerror(errno));
        return GW_ERR;
    }

    return GW_OK;
}


/* The configuration files: candidates, nginx -t, swap, reload, confirm. */
static int
gw_runtime_swap(gw_runtime_t *rt, const gw_runtime_confs_t *confs,
    gw_err_t *err)
{
    int             rc;
    size_t          i;
    char            main_path[4096], main_test[4096], log_path[4096];
    off_t           log_offset;
    double          start;
    uint64_t        generation;
    gw_conf_file_t  f[GW_CONF_N];

    gw_conf_files(rt, confs, f);
    snprintf(main_path, sizeof(main_path), "%s/" GW_FILE_MAIN,
             rt->state_dir);
    snprintf(main_test, sizeof(main_test), "%s/" GW_FILE_MAIN ".test",
             rt->state_dir);
    snprintf(log_path, sizeof(log_path), "%s/logs/error.log", rt->state_dir);

    generation = rt->generation + 1;

    /* 1. the candidates, tested together beside the live files */
    rc = GW_OK;
    for (i = 0; i < GW_CONF_N && rc == GW_OK; i++) {
        if (f[i].text != NULL) {
            rc = gw_file_write_atomic(f[i].candidate, f[i].text,
                                      strlen(f[i].text), 0644, err);
        }
    }

    if (rc == GW_OK) {
        rc = gw_write_main(rt, main_test, f[GW_CONF_HTTP].candidate,
                           confs->stream ? f[GW_CONF_STREAM].candidate
                                         : NULL,
                           generation, err);
    }

    if (rc == GW_OK) {
        rc = gw_nginx_test(rt, main_test, err);
        unlink(main_test);
    }

    if (rc != GW_OK) {
        for (i = 0; i < GW_CONF_N; i++) {
            unlink(f[i].candidate);
        }
        return GW_ERR;
    }

    /* 2. swap them in */
    for (i = 0; i < GW_CONF_N; i++) {
        if (f[i].text != NULL && rename(f[i].candidate, f[i].path) != 0) {
            gw_err_set(err, "rename %s: %s", f[i].path, strerror(errno));
            unlink(f[i].candidate);
            gw_runtime_restore(rt, f, main_path);
            return GW_ERR;
        }
    }

    if (gw_write_main(rt, main_path, f[GW_CONF_HTTP].path,
                      confs->stream ? f[GW_CONF_STREAM].path : NULL,
                      generation, err) != GW_OK)
    {
        gw_runtime_restore(rt, f, main_path);
        return GW_ERR;
    }

    /* 3. start or reload, then wait for the module to report it */
    log_offset = gw_file_size(log_path);
    start = gw_now_ms();

    gw_runtime_reap(rt);

    if (rt->external) {
        rc = gw_nginx_signal_external(rt, err);
    } else if (rt->pid == 0) {
        rc = gw_nginx_start(rt, err);
    } else if (kill(rt->pid, SIGHUP) != 0) {
        gw_err_set(err, "signal nginx %ld: %s", (long) rt->pid,
                   strerror(errno));
        rc = GW_ERR;
    } else {
        rc = GW_OK;
    }

    if (rc == GW_OK) {
        rc = gw_nginx_confirm(rt, generation, log_offset, err);
    }

    if (rc != GW_OK) {
        gw_runtime_restore(rt, f, main_path);
        return GW_ERR;
    }

    rt->last_reload_ms = gw_now_ms() - start;
    rt->generation = generation;

    for (i = 0; i < GW_CONF_N; i++) {
        free(*f[i].live);
        *f[i].live = f[i].text ? gw_xstrdup(f[i].text) : NULL;
        if (f[i].text == NULL) {
            unlink(f[i].path);      /* nginx.conf no longer includes it */
        }
    }

    return GW_OK;
}


/*
 * The certificate files around gw_runtime_swap(): the candidate's are
 * written first; afterwards only the live configuration's are kept (the
 * candidate's when it went live, else the previous ones).
 */
int
gw_runtime_apply_confs(gw_runtime_t *rt, const gw_runtime_confs_t *confs,
    gw_err_t *err)
{
    int       rc;
    gw_buf_t  names;

    if (confs->certs == NULL) {
        return gw_runtime_swap(rt, confs, err);
    }

    gw_buf_init(&names);
    gw_secrets_names(confs->certs, &names);

    rc = gw_secrets_write(rt->state_dir, confs->certs, err);
    if (rc == GW_OK) {
        rc = gw_runtime_swap(rt, confs, err);
    }

    if (rc == GW_OK) {
        free(rt->live_certs);
        rt->live_certs = gw_buf_detach(&names);
    }

    gw_secrets_prune(rt->state_dir, rt->live_certs);
    gw_buf_free(&names);

    return rc;
}


int
gw_runtime_apply(gw_runtime_t *rt, const char *http_conf, gw_err_t *err)
{
    gw_runtime_confs_t  confs;

    confs.http = http_conf;
    confs.stream = NULL;

    return gw_runtime_apply_confs(rt, &confs, err);
}


void
gw_runtime_stop(gw_runtime_t *rt)
{
    int     i;

    if (rt->pid == 0 || rt->external) {
        return;
    }

    kill(rt->pid, SIGQUIT);

    for (i = 0; i < 500; i++) {
        if (gw_runtime_reap(rt)) {
            return;
        }
        gw_sleep_ms(10);
    }

    kill(rt->pid, SIGKILL);
    waitpid(rt->pid, NULL, 0);
    rt->pid = 0;
}
