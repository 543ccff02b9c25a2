/*
 * ngx-gateway: Kubernetes Events with series (see event.h).
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/gw_buf.h"
#include "core/gw_log.h"
#include "kube/event.h"
#include "kube/lease.h"

#define GW_EVENT_API        "/apis/events.k8s.io/v1"
#define GW_EVENT_SLOTS      256
#define GW_EVENT_WINDOW_MS  (5 * 60 * 1000)
#define GW_EVENT_NOTE_MAX   1024
#define GW_EVENT_WORD_MAX   128


typedef enum {
    GW_EVENT_IDLE = 0,
    GW_EVENT_CREATE,
    GW_EVENT_PATCH
} gw_event_req_e;

/* One recent Event. */
typedef struct {
    char               *key;        /* object, reason and note */
    char               *ns;
    char               *name;       /* the Event object's name */
    cJSON              *body;       /* the Event, to create it again */
    long                count;
    long long           last_ms;
    char                last_time[40];
    int                 created;
    int                 dirty;      /* repeated while a request was out */
    gw_event_req_e      req;
    gw_kube_events_t   *ev;
} gw_kube_event_t;

struct gw_kube_events_s {
    gw_kube_t          *k;
    char               *controller;
    char               *instance;
    gw_kube_event_t    *slots[GW_EVENT_SLOTS];
    unsigned long       seq;
    size_t              in_flight;
    int                 closing;
};


static void gw_kube_event_send(gw_kube_event_t *e, gw_event_req_e req);


/* A copy of s cut to at most max bytes, not inside a UTF-8 sequence. */
static char *
gw_kube_event_cut(const char *s, size_t max)
{
    char    *c;
    size_t   n;

    n = strlen(s ? s : "");

    if (n > max) {
        n = max;

        while (n > 0 && ((unsigned char) s[n] & 0xc0) == 0x80) {
            n--;
        }
    }

    c = gw_xmalloc(n + 1);
    memcpy(c, s ? s : "", n);
    c[n] = '\0';

    return c;
}


gw_kube_events_t *
gw_kube_events_new(gw_kube_t *k, const char *controller,
    const char *instance)
{
    gw_kube_events_t  *ev;

    ev = gw_xcalloc(1, sizeof(gw_kube_events_t));
    ev->k = k;
    ev->controller = gw_xstrdup(controller);
    ev->instance = gw_kube_event_cut(instance, GW_EVENT_WORD_MAX);

    return ev;
}


static void
gw_kube_event_destroy(gw_kube_event_t *e)
{
    free(e->key);
    free(e->ns);
    free(e->name);
    cJSON_Delete(e->body);
    free(e);
}


static void
gw_kube_events_destroy(gw_kube_events_t *ev)
{
    size_t  i;

    for (i = 0; i < GW_EVENT_SLOTS; i++) {
        if (ev->slots[i] != NULL) {
            gw_kube_event_destroy(ev->slots[i]);
        }
    }

    free(ev->controller);
    free(ev->instance);
    free(ev);
}


void
gw_kube_events_free(gw_kube_events_t *ev)
{
    size_t  i;

    if (ev == NULL) {
        return;
    }

    if (ev->in_flight == 0) {
        gw_kube_events_destroy(ev);
        return;
    }

    ev->closing = 1;

    for (i = 0; i < GW_EVENT_SLOTS; i++) {
        if (ev->slots[i] != NULL && ev->slots[i]->req == GW_EVENT_IDLE) {
            gw_kube_event_destroy(ev->slots[i]);
            ev->slots[i] = NULL;
        }
    }
}


/* Forgets e (its slot is free again). */
static void
gw_kube_event_forget(gw_kube_event_t *e)
{
    size_t  i;

    for (i = 0; i < GW_EVENT_SLOTS; i++) {
        if (e->ev->slots[i] == e) {
            e->ev->slots[i] = NULL;
            break;
        }
    }

    gw_kube_event_destroy(e);
}


/*
 * The entry for key seen within the window, or NULL; *free_slot is where
 * a new entry goes: an empty or expired slot, else the least recently
 * seen one without a request out (-1 when all have one).
 */
static gw_kube_event_t *
gw_kube_event_find(gw_kube_events_t *ev, const char *key, long long now,
    int *free_slot)
{
    int               i, lru;
    gw_kube_event_t  *e;

    *free_slot = -1;
    lru = -1;

    for (i = 0; i < GW_EVENT_SLOTS; i++) {
        e = ev->slots[i];

        if (e == NULL) {
            if (*free_slot == -1) {
                *free_slot = i;
            }

            continue;
        }

        if (now - e->last_ms >= GW_EVENT_WINDOW_MS
            && e->req == GW_EVENT_IDLE)
        {
            gw_kube_event_destroy(e);
            ev->slots[i] = NULL;

            if (*free_slot == -1) {
                *free_slot = i;
            }

            continue;
        }

        if (strcmp(e->key, key) == 0) {
            return e;
        }

        if (e->req == GW_EVENT_IDLE
            && (lru == -1 || e->last_ms < ev->slots[lru]->last_ms))
        {
            lru = i;
        }
    }

    if (*free_slot == -1) {
        *free_slot = lru;
    }

    return NULL;
}


/* The Event object for obj. */
static cJSON *
gw_kube_event_body(gw_kube_events_t *ev, const gw_kube_ref_t *obj,
    const char *ns, const char *type, const char *reason, const char *note,
    const char *action, const char *now)
{
    char   *s;
    cJSON  *e, *meta, *ref;

    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "apiVersion", "events.k8s.io/v1");
    cJSON_AddStringToObject(e, "kind", "Event");

    meta = cJSON_AddObjectToObject(e, "metadata");
    cJSON_AddStringToObject(meta, "namespace", ns);

    cJSON_AddStringToObject(e, "eventTime", now);
    cJSON_AddStringToObject(e, "reportingController", ev->controller);
    cJSON_AddStringToObject(e, "reportingInstance", ev->instance);
    cJSON_AddStringToObject(e, "type",
                            gw_streq(type, "Warning") ? "Warning" : "Normal");

    s = gw_kube_event_cut(reason, GW_EVENT_WORD_MAX);
    cJSON_AddStringToObject(e, "reason", s);
    free(s);

    s = gw_kube_event_cut(action, GW_EVENT_WORD_MAX);
    cJSON_AddStringToObject(e, "action", s);
    free(s);

    s = gw_kube_event_cut(note, GW_EVENT_NOTE_MAX);
    cJSON_AddStringToObject(e, "note", s);
    free(s);

    ref = cJSON_AddObjectToObject(e, "regarding");
    cJSON_AddStringToObject(ref, "apiVersion",
                            obj->api_version ? obj->api_version : "");
    cJSON_AddStringToObject(ref, "kind", obj->kind ? obj->kind : "");
    if (obj->namespace != NULL && obj->namespace[0] != '\0') {
        cJSON_AddStringToObject(ref, "namespace", obj->namespace);
    }
    cJSON_AddStringToObject(ref, "name", obj->name ? obj->name : "");
    if (obj->uid != NULL && obj->uid[0] != '\0') {
        cJSON_AddStringToObject(ref, "uid", obj->uid);
    }

    return e;
}


/* A new Event name: the object's name and a unique suffix, as client-go. */
static void
gw_kube_event_name(gw_kube_event_t *e, const char *obj_name)
{
    char             buf[256];
    cJSON           *meta;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);

    snprintf(buf, sizeof(buf), "%.200s.%llx%04lx", obj_name,
             (unsigned long long) ts.tv_sec * 1000000000ULL
             + (unsigned long long) ts.tv_nsec,
             e->ev->seq++ & 0xffff);

    free(e->name);
    e->name = gw_xstrdup(buf);

    meta = cJSON_GetObjectItemCaseSensitive(e->body, "metadata");
    cJSON_DeleteItemFromObjectCaseSensitive(meta, "name");
    cJSON_AddStringToObject(meta, "name", buf);
}


void
gw_kube_event_post(gw_kube_events_t *ev, const gw_kube_ref_t *obj,
    const char *type, const char *reason, const char *note,
    const char *action)
{
    int               slot;
    char              now[40];
    const char       *ns;
    gw_buf_t          key;
    long long         now_ms;
    gw_kube_event_t  *e;

    if (ev->closing || obj->name == NULL || obj->name[0] == '\0') {
        return;
    }

    now_ms = gw_kube_now_ms();
    gw_kube_time_micro(now, sizeof(now));

    ns = (obj->namespace != NULL && obj->namespace[0] != '\0')
         ? obj->namespace : "default";

    gw_buf_init(&key);
    gw_buf_printf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%.1024s",
                  obj->kind ? obj->kind : "", ns, obj->name,
                  obj->uid ? obj->uid : "", type ? type : "",
                  reason ? reason : "", note ? note : "");

    e = gw_kube_event_find(ev, key.data, now_ms, &slot);

    if (e != NULL) {
        /* a repeat: the series of the Event already there */
        e->count++;
        e->last_ms = now_ms;
        memcpy(e->last_time, now, sizeof(now));

        if (e->req != GW_EVENT_IDLE) {
            e->dirty = 1;

        } else {
            gw_kube_event_send(e, e->created ? GW_EVENT_PATCH
                                             : GW_EVENT_CREATE);
        }

        goto out;
    }

    if (slot == -1) {
        gw_log(GW_LOG_DEBUG, "event dropped: too many in flight",
               "reason", reason ? reason : "", NULL);
        goto out;
    }

    if (ev->slots[slot] != NULL) {
        gw_kube_event_destroy(ev->slots[slot]);
    }

    e = gw_xcalloc(1, sizeof(gw_kube_event_t));
    e->ev = ev;
    e->key = gw_buf_detach(&key);
    e->ns = gw_xstrdup(ns);
    e->count = 1;
    e->last_ms = now_ms;
    memcpy(e->last_time, now, sizeof(now));
    e->body = gw_kube_event_body(ev, obj, ns, type, reason, note, action,
                                 now);
    gw_kube_event_name(e, obj->name);
    ev->slots[slot] = e;

    gw_kube_event_send(e, GW_EVENT_CREATE);

out:

    gw_buf_free(&key);
}


static void
gw_kube_event_done(void *data, const gw_kube_response_t *r)
{
    gw_event_req_e     req;
    gw_kube_event_t   *e;
    gw_kube_events_t  *ev;

    e = data;
    ev = e->ev;
    req = e->req;
    e->req = GW_EVENT_IDLE;
    ev->in_flight--;

    if (ev->closing) {
        gw_kube_event_forget(e);

        if (ev->in_flight == 0) {
            gw_kube_events_destroy(ev);
        }

        return;
    }

    if (r->status == 200 || r->status == 201) {
        e->created = 1;

        if (e->dirty) {
            gw_kube_event_send(e, GW_EVENT_PATCH);
        }

        return;
    }

    if (req == GW_EVENT_PATCH && r->status == 404) {
        /* the Event expired on the server: start a new one */
        gw_kube_event_name(e, cJSON_GetStringValue(
                                  cJSON_GetObjectItemCaseSensitive(
                                      cJSON_GetObjectItemCaseSensitive(
                                          e->body, "regarding"), "name")));
        e->created = 0;
        e->count = 1;
        gw_kube_event_send(e, GW_EVENT_CREATE);
        return;
    }

    gw_log(GW_LOG_DEBUG, "event not written", "event", e->name,
           "status", gw_log_int(r->status),
           "error", r->error ? r->error : "", NULL);

    gw_kube_event_forget(e);
}


static void
gw_kube_event_send(gw_kube_event_t *e, gw_event_req_e req)
{
    int        rc;
    char       path[1024], *text;
    cJSON     *patch, *series;
    gw_err_t   err;

    e->dirty = 0;

    if (req == GW_EVENT_CREATE) {
        snprintf(path, sizeof(path), GW_EVENT_API "/namespaces/%s/events",
                 e->ns);
        cJSON_DeleteItemFromObjectCaseSensitive(e->body, "series");

        if (e->count > 1) {
            series = cJSON_AddObjectToObject(e->body, "series");
            cJSON_AddNumberToObject(series, "count", (double) e->count);
            cJSON_AddStringToObject(series, "lastObservedTime",
                                    e->last_time);
        }

        text = cJSON_PrintUnformatted(e->body);

    } else {
        snprintf(path, sizeof(path), GW_EVENT_API "/namespaces/%s/events/%s",
                 e->ns, e->name);

        patch = cJSON_CreateObject();
        series = cJSON_AddObjectToObject(patch, "series");
        cJSON_AddNumberToObject(series, "count", (double) e->count);
        cJSON_AddStringToObject(series, "lastObservedTime", e->last_time);
        text = cJSON_PrintUnformatted(patch);
        cJSON_Delete(patch);
    }

    rc = gw_kube_request(e->ev->k, req == GW_EVENT_CREATE ? "POST" : "PATCH",
                         path,
                         req == GW_EVENT_CREATE
                         ? "application/json"
                         : "application/merge-patch+json",
                         text, strlen(text), 0, gw_kube_event_done, e, &err);
    cJSON_free(text);

    if (rc != GW_OK) {
        gw_log(GW_LOG_DEBUG, "event not written", "event", e->name,
               "error", err.msg, NULL);
        return;
    }

    e->req = req;
    e->ev->in_flight++;
}
