/*
 * ngx-gateway: Kubernetes Events (events.k8s.io/v1), what `kubectl
 * describe` and `kubectl events` show next to the status.
 *
 * Best effort: an Event that cannot be written is logged at debug and
 * forgotten.  A repeat of the same (object, reason, note) within 5
 * minutes of its last occurrence does not create a new Event: it updates
 * the series of the first one (count, lastObservedTime) with a merge
 * patch.  The table that remembers recent Events is bounded (the least
 * recently seen entry makes room).
 *
 * Notes are shown to anyone who can read Events in the namespace: never
 * put secrets (Secret data, tokens, keys) in them.
 */

#ifndef GW_KUBE_EVENT_H
#define GW_KUBE_EVENT_H

#include "core/gw_core.h"
#include "kube/kube.h"


/* The object an Event is about. */
typedef struct {
    const char  *api_version;
    const char  *kind;
    const char  *namespace;      /* NULL or "": cluster-scoped */
    const char  *name;
    const char  *uid;            /* NULL when unknown */
} gw_kube_ref_t;

typedef struct gw_kube_events_s  gw_kube_events_t;

/*
 * controller is the reportingController ("gateway.nginx.org/
 * ngx-gateway"), instance the reportingInstance (e.g. the pod name).
 * Events about cluster-scoped objects go to namespace "default".
 */
gw_kube_events_t *gw_kube_events_new(gw_kube_t *k, const char *controller,
    const char *instance);

/*
 * Records an Event: type "Normal" or "Warning"; reason a CamelCase word
 * ("Reloaded"), action what the controller did ("Reload"), note a
 * human-readable sentence (cut at 1 KiB).
 */
void gw_kube_event_post(gw_kube_events_t *ev, const gw_kube_ref_t *obj,
    const char *type, const char *reason, const char *note,
    const char *action);

/* Frees ev; with requests in flight, when the last of them ends. */
void gw_kube_events_free(gw_kube_events_t *ev);

#endif /* GW_KUBE_EVENT_H */
