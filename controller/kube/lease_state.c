/*
 * ngx-gateway: the leader election state machine (see lease.h).  Pure:
 * the time comes from the caller.
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/lease.h"


/* src may point into *dst: copy first, then free. */
static void
gw_kube_lease_set(char **dst, const char *src)
{
    char  *old;

    old = *dst;
    *dst = gw_xstrdup(src ? src : "");
    free(old);
}


void
gw_kube_lease_state_init(gw_kube_lease_state_t *s, const char *identity,
    long long duration_ms, long long renew_deadline_ms,
    long long retry_period_ms)
{
    memset(s, 0, sizeof(gw_kube_lease_state_t));

    s->identity = gw_xstrdup(identity);
    s->duration_ms = duration_ms;
    s->renew_deadline_ms = renew_deadline_ms;
    s->retry_period_ms = retry_period_ms;
}


void
gw_kube_lease_state_release(gw_kube_lease_state_t *s)
{
    free(s->identity);
    free(s->holder);
    free(s->renew_time);
    free(s->acquire_time);
    memset(s, 0, sizeof(gw_kube_lease_state_t));
}


/* Records rec as the Lease last seen; restarts the clock if it changed. */
static void
gw_kube_lease_see(gw_kube_lease_state_t *s, const gw_kube_lease_record_t *rec,
    long long now_ms)
{
    if (s->seen
        && strcmp(s->holder, rec->holder ? rec->holder : "") == 0
        && strcmp(s->renew_time, rec->renew_time ? rec->renew_time : "") == 0
        && strcmp(s->acquire_time,
                  rec->acquire_time ? rec->acquire_time : "") == 0
        && s->duration_s == rec->duration_s
        && s->transitions == rec->transitions)
    {
        return;
    }

    s->seen = 1;
    gw_kube_lease_set(&s->holder, rec->holder);
    gw_kube_lease_set(&s->renew_time, rec->renew_time);
    gw_kube_lease_set(&s->acquire_time, rec->acquire_time);
    s->duration_s = rec->duration_s;
    s->transitions = rec->transitions;
    s->observed_ms = now_ms;
}


gw_kube_lease_action_e
gw_kube_lease_state_observe(gw_kube_lease_state_t *s,
    const gw_kube_lease_record_t *rec, long long now_ms,
    gw_kube_lease_plan_t *plan)
{
    long long  duration_ms;

    plan->acquire_time = NULL;
    plan->transitions = 0;

    if (!rec->found) {
        return GW_KUBE_LEASE_CREATE;
    }

    gw_kube_lease_see(s, rec, now_ms);

    if (s->holder[0] != '\0' && strcmp(s->holder, s->identity) != 0) {
        duration_ms = s->duration_s > 0 ? s->duration_s * 1000LL
                                        : s->duration_ms;

        if (now_ms < s->observed_ms + duration_ms) {
            s->leader = 0;
            return GW_KUBE_LEASE_WAIT;
        }
    }

    if (strcmp(s->holder, s->identity) == 0) {
        plan->acquire_time = s->acquire_time[0] ? s->acquire_time : NULL;
        plan->transitions = s->transitions;

    } else {
        /* free or expired: a new holder */
        plan->transitions = s->transitions + 1;
    }

    return GW_KUBE_LEASE_UPDATE;
}


void
gw_kube_lease_state_written(gw_kube_lease_state_t *s,
    const gw_kube_lease_record_t *rec, long long now_ms)
{
    s->seen = 0;
    gw_kube_lease_see(s, rec, now_ms);

    s->leader = gw_streq(rec->holder, s->identity);
    if (s->leader) {
        s->renewed_ms = now_ms;
    }
}


int
gw_kube_lease_state_check(gw_kube_lease_state_t *s, long long now_ms)
{
    if (s->leader && now_ms - s->renewed_ms >= s->renew_deadline_ms) {
        s->leader = 0;
    }

    return s->leader;
}


void
gw_kube_time_micro(char *buf, size_t size)
{
    char             sec[32];
    struct tm        tm;
    struct timespec  ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);

    snprintf(buf, size, "%s.%06ldZ", sec, ts.tv_nsec / 1000);
}
