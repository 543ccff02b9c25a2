/*
 * ngx-gateway: command line: run | render | status | version.
 */

#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <curl/curl.h>

#include "app/app.h"
#include "core/gw_log.h"
#include "render/render.h"
#include "render/tmpl.h"
#include "runtime/files.h"
#include "status/status.h"

#define GW_DEFAULT_CONTROLLER  "ngx-gateway.io/gateway-controller"
#define GW_DEFAULT_STATE_DIR   "/tmp/ngx-gateway"


static const char  *gw_usage =
    "usage: ngx-gateway COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  run -f PATH       standalone controller: serve the manifests in PATH\n"
    "                    with a local nginx, apply changes as files change\n"
    "  run [--kubeconfig PATH]\n"
    "                    Kubernetes mode: watch the API server (in-cluster,\n"
    "                    $KUBECONFIG or PATH), program the local nginx, write\n"
    "                    status (the Lease holder only)\n"
    "  render -f PATH    print the nginx configuration for PATH\n"
    "  status -f PATH    print the status the controller would write\n"
    "  status --state-dir DIR\n"
    "                    print the status of a running standalone controller\n"
    "  version           print the version\n"
    "\n"
    "options:\n"
    "  -f, --filename PATH         manifests: a file or a directory\n"
    "                              (recursive)\n"
    "  -o, --output FORMAT         status format: json, yaml, describe\n"
    "      --state-dir DIR         nginx config, pid, sockets, logs, status\n"
    "                              (default " GW_DEFAULT_STATE_DIR ")\n"
    "      --controller-name NAME  GatewayClass controllerName to serve\n"
    "                              (default " GW_DEFAULT_CONTROLLER ")\n"
    "      --default-address IP    where Gateways without spec.addresses\n"
    "                              listen (default 127.0.0.1)\n"
    "      --port-offset N         add N to every listener port (e.g. 8000\n"
    "                              to run port 80 listeners without root)\n"
    "      --nginx PATH            nginx binary (default /usr/sbin/nginx)\n"
    "      --module PATH           our nginx module (default: next to this\n"
    "                              binary)\n"
    "      --stream-module PATH    our nginx stream module, loaded when a\n"
    "                              TCP, UDP or TLS listener is served\n"
    "                              (default: next to this binary)\n"
    "      --worker-processes N    nginx worker processes (default auto)\n"
    "      --external-nginx        nginx runs beside the controller (its own\n"
    "                              container, same state dir): signal it\n"
    "                              through STATE_DIR/nginx.pid, never start\n"
    "                              or stop it; its access log (JSON) and\n"
    "                              error log also go to its stdout and\n"
    "                              stderr (kubectl logs -c nginx)\n"
    "      --no-stdio-logs         not on nginx's stdout/stderr (a runtime\n"
    "                              that does not give the container's user\n"
    "                              its stdio: nginx could not open them)\n"
    "      --templates DIR         load templates from DIR (development)\n"
    "      --log-level LEVEL       debug, info, warn, error (default info)\n"
    "      --log-format FORMAT     logfmt or json (default logfmt)\n"
    "      --admin-address ADDR    /healthz, /readyz, /metrics (default\n"
    "                              127.0.0.1:9113 standalone, 0.0.0.0:9113\n"
    "                              in Kubernetes mode; \"off\" disables)\n"
    "\n"
    "Kubernetes mode:\n"
    "      --kubeconfig PATH       kubeconfig (default $KUBECONFIG, else the\n"
    "                              in-cluster service account)\n"
    "      --lease-name NAME       leader election Lease (default\n"
    "                              ngx-gateway-leader)\n"
    "      --lease-namespace NS    its namespace (default the pod's or the\n"
    "                              kubeconfig context's, else default)\n"
    "      --no-leader-election    write status without a Lease (one replica)\n"
    "      --lease-duration MS, --lease-renew-deadline MS,\n"
    "      --lease-retry-period MS leader election timing (default 15000,\n"
    "                              10000, 2000)\n"
    "      --publish-service NS/NAME\n"
    "                              report the addresses of this Service\n"
    "                              (LoadBalancer ingress, else ClusterIP) in\n"
    "                              Gateway status; default $POD_IP\n";


enum {
    GW_OPT_STATE_DIR = 256,
    GW_OPT_CONTROLLER,
    GW_OPT_ADDRESS,
    GW_OPT_PORT_OFFSET,
    GW_OPT_NGINX,
    GW_OPT_MODULE,
    GW_OPT_STREAM_MODULE,
    GW_OPT_WORKERS,
    GW_OPT_TEMPLATES,
    GW_OPT_LOG_LEVEL,
    GW_OPT_LOG_FORMAT,
    GW_OPT_ADMIN,
    GW_OPT_KUBECONFIG,
    GW_OPT_LEASE_NAME,
    GW_OPT_LEASE_NS,
    GW_OPT_NO_LEADER,
    GW_OPT_PUBLISH,
    GW_OPT_EXTERNAL,
    GW_OPT_NO_STDIO_LOGS,
    GW_OPT_LEASE_DURATION,
    GW_OPT_LEASE_RENEW,
    GW_OPT_LEASE_RETRY
};


typedef struct {
    gw_app_conf_t  app;
    const char    *output;
    const char    *templates;
    int            state_dir_set;
    int            admin_set;
    char           module_buf[PATH_MAX];
    char           stream_module_buf[PATH_MAX];
    char           state_buf[PATH_MAX];
} gw_cli_t;


static int
gw_cli_fail(const char *msg, const char *arg)
{
    fprintf(stderr, "ngx-gateway: %s%s%s\n\n%s", msg, arg ? ": " : "",
            arg ? arg : "", gw_usage);

    return 2;
}


/* The modules sit next to the binary (build/), unless told otherwise. */
static void
gw_cli_default_module(gw_cli_t *cli)
{
    char         exe[PATH_MAX];
    ssize_t      n;
    const char  *dir;

    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) {
        dir = "/usr/lib/nginx/modules";
    } else {
        exe[n] = '\0';
        dir = dirname(exe);
    }

    snprintf(cli->module_buf, sizeof(cli->module_buf),
             "%s/ngx_http_gateway_module.so", dir);
    snprintf(cli->stream_module_buf, sizeof(cli->stream_module_buf),
             "%s/ngx_stream_gateway_module.so", dir);
}


static int
gw_cli_parse(gw_cli_t *cli, int argc, char **argv)
{
    int             c;
    long            ms;
    char           *end;
    gw_log_level_e  level;
    static const struct option  opts[] = {
        { "filename", required_argument, NULL, 'f' },
        { "output", required_argument, NULL, 'o' },
        { "state-dir", required_argument, NULL, GW_OPT_STATE_DIR },
        { "controller-name", required_argument, NULL, GW_OPT_CONTROLLER },
        { "default-address", required_argument, NULL, GW_OPT_ADDRESS },
        { "port-offset", required_argument, NULL, GW_OPT_PORT_OFFSET },
        { "nginx", required_argument, NULL, GW_OPT_NGINX },
        { "module", required_argument, NULL, GW_OPT_MODULE },
        { "stream-module", required_argument, NULL, GW_OPT_STREAM_MODULE },
        { "worker-processes", required_argument, NULL, GW_OPT_WORKERS },
        { "templates", required_argument, NULL, GW_OPT_TEMPLATES },
        { "log-level", required_argument, NULL, GW_OPT_LOG_LEVEL },
        { "log-format", required_argument, NULL, GW_OPT_LOG_FORMAT },
        { "admin-address", required_argument, NULL, GW_OPT_ADMIN },
        { "kubeconfig", required_argument, NULL, GW_OPT_KUBECONFIG },
        { "lease-name", required_argument, NULL, GW_OPT_LEASE_NAME },
        { "lease-namespace", required_argument, NULL, GW_OPT_LEASE_NS },
        { "no-leader-election", no_argument, NULL, GW_OPT_NO_LEADER },
        { "publish-service", required_argument, NULL, GW_OPT_PUBLISH },
        { "external-nginx", no_argument, NULL, GW_OPT_EXTERNAL },
        { "no-stdio-logs", no_argument, NULL, GW_OPT_NO_STDIO_LOGS },
        { "lease-duration", required_argument, NULL, GW_OPT_LEASE_DURATION },
        { "lease-renew-deadline", required_argument, NULL,
          GW_OPT_LEASE_RENEW },
        { "lease-retry-period", required_argument, NULL,
          GW_OPT_LEASE_RETRY },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 }
    };

    gw_log_format_e  format = GW_LOG_LOGFMT;

    level = GW_LOG_INFO;

    while ((c = getopt_long(argc, argv, "f:o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'f':
            cli->app.manifests = optarg;
            break;
        case 'o':
            cli->output = optarg;
            break;
        case GW_OPT_STATE_DIR:
            if (realpath(optarg, cli->state_buf) == NULL) {
                snprintf(cli->state_buf, sizeof(cli->state_buf), "%s",
                         optarg);
            }
            cli->app.state_dir = cli->state_buf;
            cli->state_dir_set = 1;
            break;
        case GW_OPT_CONTROLLER:
            cli->app.controller_name = optarg;
            break;
        case GW_OPT_ADDRESS:
            cli->app.default_address = optarg;
            break;
        case GW_OPT_PORT_OFFSET:
            cli->app.port_offset = (int) strtol(optarg, &end, 10);
            if (*end != '\0' || cli->app.port_offset < 0
                || cli->app.port_offset > 60000)
            {
                return gw_cli_fail("--port-offset wants 0..60000", optarg);
            }
            break;
        case GW_OPT_NGINX:
            cli->app.nginx_bin = optarg;
            break;
        case GW_OPT_MODULE:
            if (realpath(optarg, cli->module_buf) == NULL) {
                return gw_cli_fail("--module: no such file", optarg);
            }
            break;
        case GW_OPT_STREAM_MODULE:
            if (realpath(optarg, cli->stream_module_buf) == NULL) {
                return gw_cli_fail("--stream-module: no such file", optarg);
            }
            break;
        case GW_OPT_WORKERS:
            cli->app.worker_processes = (int) strtol(optarg, &end, 10);
            if (*end != '\0' || cli->app.worker_processes < 1) {
                return gw_cli_fail("--worker-processes wants a number",
                                   optarg);
            }
            break;
        case GW_OPT_TEMPLATES:
            cli->templates = optarg;
            break;
        case GW_OPT_LOG_LEVEL:
            if (gw_log_parse_level(optarg, &level) != GW_OK) {
                return gw_cli_fail("unknown log level", optarg);
            }
            break;
        case GW_OPT_LOG_FORMAT:
            if (strcmp(optarg, "json") == 0) {
                format = GW_LOG_JSON;
            } else if (strcmp(optarg, "logfmt") == 0) {
                format = GW_LOG_LOGFMT;
            } else {
                return gw_cli_fail("unknown log format", optarg);
            }
            break;
        case GW_OPT_ADMIN:
            cli->app.admin_address = strcmp(optarg, "off") == 0 ? NULL
                                                                : optarg;
            cli->admin_set = 1;
            break;
        case GW_OPT_KUBECONFIG:
            cli->app.kubeconfig = optarg;
            break;
        case GW_OPT_LEASE_NAME:
            cli->app.lease_name = optarg;
            break;
        case GW_OPT_LEASE_NS:
            cli->app.lease_namespace = optarg;
            break;
        case GW_OPT_NO_LEADER:
            cli->app.leader_election = 0;
            break;
        case GW_OPT_PUBLISH:
            if (strchr(optarg, '/') == NULL) {
                return gw_cli_fail("--publish-service wants NAMESPACE/NAME",
                                   optarg);
            }
            cli->app.publish_service = optarg;
            break;
        case GW_OPT_EXTERNAL:
            cli->app.external_nginx = 1;
            break;
        case GW_OPT_NO_STDIO_LOGS:
            cli->app.no_stdio_logs = 1;
            break;
        case GW_OPT_LEASE_DURATION:
        case GW_OPT_LEASE_RENEW:
        case GW_OPT_LEASE_RETRY:
            ms = strtol(optarg, &end, 10);
            if (*end != '\0' || ms < 100 || ms > 600000) {
                return gw_cli_fail("lease times are milliseconds, "
                                   "100..600000", optarg);
            }
            if (c == GW_OPT_LEASE_DURATION) {
                cli->app.lease_duration_ms = ms;
            } else if (c == GW_OPT_LEASE_RENEW) {
                cli->app.lease_renew_deadline_ms = ms;
            } else {
                cli->app.lease_retry_period_ms = ms;
            }
            break;
        case 'h':
            fputs(gw_usage, stdout);
            exit(0);
        default:
            return gw_cli_fail("bad option", NULL);
        }
    }

    if (optind < argc) {
        return gw_cli_fail("unexpected argument", argv[optind]);
    }

    gw_log_setup(level, format);

    return 0;
}


static int
gw_cmd_render(gw_cli_t *cli, const gw_store_t *store)
{
    int               rc;
    gw_err_t          err;
    gw_buf_t          main_conf;
    gw_plan_t         plan;
    gw_render_conf_t  rc_conf;
    char              http_path[PATH_MAX], stream_path[PATH_MAX];

    rc = 1;
    gw_buf_init(&main_conf);

    if (gw_plan_build(&plan, store, NULL, &cli->app, &err) != GW_OK) {
        fprintf(stderr, "ngx-gateway: render: %s\n", err.msg);
        goto out;
    }

    memset(&rc_conf, 0, sizeof(rc_conf));
    rc_conf.state_dir = cli->app.state_dir;
    rc_conf.module_path = cli->app.module_path;
    rc_conf.stream_module_path = cli->app.stream_module_path;
    rc_conf.generation = 1;
    rc_conf.worker_processes = cli->app.worker_processes;
    snprintf(http_path, sizeof(http_path), "%s/" GW_FILE_HTTP,
             cli->app.state_dir);
    snprintf(stream_path, sizeof(stream_path), "%s/" GW_FILE_STREAM,
             cli->app.state_dir);

    if (gw_render_main(&rc_conf, http_path,
                       plan.stream.len > 0 ? stream_path : NULL,
                       &main_conf, &err) != GW_OK)
    {
        fprintf(stderr, "ngx-gateway: render: %s\n", err.msg);
        goto out;
    }

    printf("# file: %s/" GW_FILE_MAIN "\n%s\n# file: %s\n%s",
           cli->app.state_dir, main_conf.data, http_path, plan.http.data);

    if (plan.stream.len > 0) {
        printf("\n# file: %s\n%s", stream_path, plan.stream.data);
    }

    rc = 0;

out:

    gw_plan_release(&plan);
    gw_buf_free(&main_conf);

    return rc;
}


static int
gw_cmd_status_offline(gw_cli_t *cli, const gw_store_t *store)
{
    int                  rc;
    cJSON               *list;
    gw_err_t             err;
    gw_buf_t             out;
    gw_plan_t            plan;
    gw_status_outcome_t  outcome;

    rc = 1;
    gw_buf_init(&out);

    if (gw_plan_build(&plan, store, NULL, &cli->app, &err) != GW_OK) {
        fprintf(stderr, "ngx-gateway: status: %s\n", err.msg);
        gw_plan_release(&plan);
        return 1;
    }

    /* what the controller would write once nginx runs this config */
    outcome.programmed = 1;
    outcome.message = "";

    list = gw_status_build(plan.graph, &outcome, NULL);

    if (gw_status_write(&out, list, cli->output, &err) != GW_OK) {
        fprintf(stderr, "ngx-gateway: status: %s\n", err.msg);
    } else {
        fwrite(out.data, 1, out.len, stdout);
        rc = 0;
    }

    cJSON_Delete(list);
    gw_buf_free(&out);
    gw_plan_release(&plan);

    return rc;
}


static int
gw_cmd_status_live(gw_cli_t *cli)
{
    int        rc;
    char       path[PATH_MAX], *data;
    size_t     len;
    cJSON     *list, *reload;
    gw_err_t   err;
    gw_buf_t   out;

    snprintf(path, sizeof(path), "%s/status.json", cli->app.state_dir);

    if (gw_file_read(path, &data, &len, &err) != GW_OK) {
        fprintf(stderr, "ngx-gateway: status: %s (is `ngx-gateway run "
                "--state-dir %s` running?)\n", err.msg, cli->app.state_dir);
        return 1;
    }

    list = cJSON_Parse(data);
    free(data);
    if (list == NULL) {
        fprintf(stderr, "ngx-gateway: status: %s is not JSON\n", path);
        return 1;
    }

    gw_buf_init(&out);
    rc = 1;

    /* describe starts with the data plane: what nginx runs, last reload */
    if (strcmp(cli->output, "describe") == 0) {
        snprintf(path, sizeof(path), "%s/reload.json", cli->app.state_dir);
        if (gw_file_read(path, &data, &len, &err) == GW_OK) {
            reload = cJSON_Parse(data);
            free(data);
            if (reload != NULL) {
                gw_status_write_reload(&out, reload);
                cJSON_Delete(reload);
            }
        }
    }

    if (gw_status_write(&out, list, cli->output, &err) != GW_OK) {
        fprintf(stderr, "ngx-gateway: status: %s\n", err.msg);
    } else {
        fwrite(out.data, 1, out.len, stdout);
        rc = 0;
    }

    cJSON_Delete(list);
    gw_buf_free(&out);

    return rc;
}


/* Loads -f PATH once; malformed documents are logged and left out. */
static int
gw_cli_load(gw_cli_t *cli, gw_store_t *store)
{
    size_t             nerrors;
    gw_err_t           err;
    gw_file_source_t  *src;

    src = gw_file_source_new(cli->app.manifests, &err);
    if (src == NULL) {
        fprintf(stderr, "ngx-gateway: %s\n", err.msg);
        return GW_ERR;
    }

    if (gw_manifests_load(src, store, &nerrors, &err) != GW_OK) {
        fprintf(stderr, "ngx-gateway: %s\n", err.msg);
        gw_file_source_free(src);
        gw_manifests_release();
        return GW_ERR;
    }

    gw_file_source_free(src);
    gw_manifests_release();

    return GW_OK;
}


int
main(int argc, char **argv)
{
    int          rc;
    gw_cli_t     cli;
    gw_err_t     err;
    gw_store_t   store;
    const char  *cmd;

    if (argc < 2) {
        fputs(gw_usage, stderr);
        return 2;
    }

    cmd = argv[1];
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("ngx-gateway %s\n", GW_VERSION);
        return 0;
    }

    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0
        || strcmp(cmd, "help") == 0)
    {
        fputs(gw_usage, stdout);
        return 0;
    }

    memset(&cli, 0, sizeof(cli));
    cli.app.controller_name = GW_DEFAULT_CONTROLLER;
    cli.app.default_address = "127.0.0.1";
    cli.app.state_dir = GW_DEFAULT_STATE_DIR;
    cli.app.nginx_bin = "/usr/sbin/nginx";
    cli.app.leader_election = 1;
    cli.app.lease_name = "ngx-gateway-leader";
    cli.output = "json";
    gw_cli_default_module(&cli);

    optind = 2;
    rc = gw_cli_parse(&cli, argc, argv);
    if (rc != 0) {
        return rc;
    }
    cli.app.module_path = cli.module_buf;
    cli.app.stream_module_path = cli.stream_module_buf;

    if (cli.templates != NULL
        && gw_tmpl_set_dir(cli.templates, &err) != GW_OK)
    {
        fprintf(stderr, "ngx-gateway: templates: %s\n", err.msg);
        return 1;
    }

    if (strcmp(cmd, "status") == 0 && cli.app.manifests == NULL) {
        if (!cli.state_dir_set) {
            return gw_cli_fail("status needs -f PATH or --state-dir DIR",
                               NULL);
        }
        return gw_cmd_status_live(&cli);
    }

    if (strcmp(cmd, "run") != 0 && strcmp(cmd, "render") != 0
        && strcmp(cmd, "status") != 0)
    {
        return gw_cli_fail("unknown command", cmd);
    }

    if (cli.app.manifests == NULL && strcmp(cmd, "run") != 0) {
        return gw_cli_fail("missing -f PATH", NULL);
    }

    if (gw_render_check_path(cli.app.state_dir, &err) != GW_OK) {
        fprintf(stderr, "ngx-gateway: --state-dir: %s\n", err.msg);
        return 2;
    }

    curl_global_init(CURL_GLOBAL_DEFAULT);

    if (strcmp(cmd, "run") == 0) {
        if (!cli.admin_set) {
            cli.app.admin_address = cli.app.manifests != NULL
                                    ? "127.0.0.1:9113" : "0.0.0.0:9113";
        }
        /* standalone on a laptop keeps serving if 9113 is taken */
        cli.app.admin_required = cli.admin_set || cli.app.manifests == NULL;
        rc = cli.app.manifests != NULL ? gw_app_run(&cli.app)
                                       : gw_kube_run(&cli.app);
        goto out;
    }

    gw_store_init(&store);

    if (gw_cli_load(&cli, &store) != GW_OK) {
        rc = 1;
    } else if (strcmp(cmd, "render") == 0) {
        rc = gw_cmd_render(&cli, &store);
    } else {
        rc = gw_cmd_status_offline(&cli, &store);
    }

    gw_store_release(&store);

out:

    gw_tmpl_cleanup();
    curl_global_cleanup();

    return rc;
}
