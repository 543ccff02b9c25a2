/*
 * kube-probe: a manual check of the informers against an API server (or
 * the stand-in, test/kube/apiserver.py).  Prints every informer event,
 * when the caches are synced, and counters at the end.
 *
 *   make build/kube-probe   (part of `make all`)
 *   build/kube-probe [--kubeconfig PATH] [--seconds N]
 */

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/gw_log.h"
#include "kube/informer.h"

static volatile sig_atomic_t  stop;


static void
on_signal(int sig)
{
    (void) sig;
    stop = 1;
}


static void
on_event(void *data, gw_watch_event_e ev, const char *api_version,
    const char *kind, const cJSON *obj)
{
    const cJSON  *meta;
    const char   *ns;

    static const char  *names[] = { "ADDED", "MODIFIED", "DELETED" };

    (void) data;

    meta = cJSON_GetObjectItem(obj, "metadata");
    ns = cJSON_GetStringValue(cJSON_GetObjectItem(meta, "namespace"));

    printf("%lld EVENT %s %s %s %s%s%s rv=%s\n", gw_kube_now_ms(), names[ev],
           api_version, kind, ns ? ns : "", ns ? "/" : "",
           cJSON_GetStringValue(cJSON_GetObjectItem(meta, "name")),
           cJSON_GetStringValue(cJSON_GetObjectItem(meta,
                                                    "resourceVersion")));
    fflush(stdout);
}


int
main(int argc, char **argv)
{
    int                    i, synced;
    long                   timeout, seconds;
    long long              end;
    gw_err_t               err;
    gw_kube_t             *k;
    const char            *kubeconfig;
    gw_informers_t        *inf;
    gw_kube_config_t       cfg;
    gw_informers_stats_t   st;

    static const char  *kinds[] = {
        "Namespace", "Service", "Secret", "ConfigMap", "EndpointSlice",
        "CustomResourceDefinition", "GatewayClass", "Gateway", "HTTPRoute",
        "GRPCRoute", "ReferenceGrant", "TLSRoute", "TCPRoute", "UDPRoute",
        "BackendTLSPolicy"
    };

    kubeconfig = NULL;
    seconds = 0;

    for (i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kubeconfig") == 0 && i + 1 < argc) {
            kubeconfig = argv[++i];
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: kube-probe [--kubeconfig PATH] "
                    "[--seconds N]\n");
            return 2;
        }
    }

    gw_log_setup(getenv("GW_DEBUG") ? GW_LOG_DEBUG : GW_LOG_INFO,
                 GW_LOG_LOGFMT);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    if (gw_kube_config_load(&cfg, kubeconfig, &err) != GW_OK) {
        fprintf(stderr, "kube-probe: %s\n", err.msg);
        return 1;
    }

    k = gw_kube_new(&cfg, &err);
    gw_kube_config_release(&cfg);
    if (k == NULL) {
        fprintf(stderr, "kube-probe: %s\n", err.msg);
        return 1;
    }

    inf = gw_informers_new(k, on_event, NULL, &err);
    if (inf == NULL) {
        fprintf(stderr, "kube-probe: %s\n", err.msg);
        gw_kube_free(k);
        return 1;
    }

    synced = 0;
    end = seconds > 0 ? gw_kube_now_ms() + seconds * 1000 : 0;

    while (!stop && (end == 0 || gw_kube_now_ms() < end)) {
        timeout = gw_informers_timeout_ms(inf);
        if (timeout < 0 || timeout > 500) {
            timeout = 500;
        }

        gw_kube_wait(k, NULL, 0, (int) timeout);
        gw_kube_perform(k);
        gw_informers_tick(inf);

        if (!synced && gw_informers_synced(inf)) {
            synced = 1;
            printf("%lld SYNCED\n", gw_kube_now_ms());
            fflush(stdout);
        }
    }

    gw_informers_stats(inf, &st);
    printf("STATS reconnects=%lu relists=%lu events=%lu\n", st.reconnects,
           st.relists, st.events);
    for (i = 0; i < (int) (sizeof(kinds) / sizeof(kinds[0])); i++) {
        printf("COUNT %s %zu %s\n", kinds[i], gw_informers_count(inf, kinds[i]),
               gw_informers_api_version(inf, kinds[i])
               ? gw_informers_api_version(inf, kinds[i]) : "-");
    }

    gw_informers_free(inf);
    gw_kube_free(k);

    return 0;
}
