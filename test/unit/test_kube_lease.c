/*
 * Unit tests: the leader election state machine (kube/lease_state.c).
 * Times are milliseconds given to the machine; nothing sleeps.
 */

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "kube/lease.h"


#define ME        "pod-a_12"
#define OTHER     "pod-b_7"
#define DURATION  15000
#define DEADLINE  10000
#define RETRY     2000


static int
setup(void **state)
{
    static gw_kube_lease_state_t  s;

    gw_kube_lease_state_init(&s, ME, DURATION, DEADLINE, RETRY);
    *state = &s;

    return 0;
}


static int
teardown(void **state)
{
    gw_kube_lease_state_release(*state);

    return 0;
}


static gw_kube_lease_record_t
record(const char *holder, const char *renew, long transitions)
{
    gw_kube_lease_record_t  r;

    memset(&r, 0, sizeof(r));
    r.found = 1;
    r.holder = holder;
    r.renew_time = renew;
    r.acquire_time = "2024-01-01T00:00:00.000000Z";
    r.duration_s = DURATION / 1000;
    r.transitions = transitions;

    return r;
}


/* What the driver writes when it carries out plan at now. */
static void
write_ok(gw_kube_lease_state_t *s, const gw_kube_lease_plan_t *plan,
    const char *now, long long now_ms)
{
    gw_kube_lease_record_t  r;

    r = record(ME, now, plan->transitions);
    r.acquire_time = plan->acquire_time ? plan->acquire_time : now;
    gw_kube_lease_state_written(s, &r, now_ms);
}


static void
test_acquire_free(void **state)
{
    gw_kube_lease_state_t   *s = *state;
    gw_kube_lease_plan_t     plan;
    gw_kube_lease_record_t   r;

    /* no Lease at all: create one */
    memset(&r, 0, sizeof(r));
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 1000, &plan),
                     GW_KUBE_LEASE_CREATE);
    assert_int_equal(plan.transitions, 0);
    assert_null(plan.acquire_time);
    assert_false(s->leader);

    write_ok(s, &plan, "t1", 1000);
    assert_true(s->leader);
    assert_true(gw_kube_lease_state_check(s, 1000));

    /* a released Lease (holder "") is free at once, a new term */
    gw_kube_lease_state_release(s);
    gw_kube_lease_state_init(s, ME, DURATION, DEADLINE, RETRY);

    r = record("", "t0", 4);
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 5000, &plan),
                     GW_KUBE_LEASE_UPDATE);
    assert_int_equal(plan.transitions, 5);
    assert_null(plan.acquire_time);
}


static void
test_wait_on_held(void **state)
{
    gw_kube_lease_state_t   *s = *state;
    gw_kube_lease_plan_t     plan;
    gw_kube_lease_record_t   r;

    /*
     * Held by another replica.  Its renewTime is long past by our clock,
     * but we judge by when WE saw it change: we just did.
     */
    r = record(OTHER, "2001-01-01T00:00:00.000000Z", 1);
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 100000, &plan),
                     GW_KUBE_LEASE_WAIT);
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 100000 + RETRY,
                                                 &plan),
                     GW_KUBE_LEASE_WAIT);
    assert_int_equal(gw_kube_lease_state_observe(s, &r,
                                                 100000 + DURATION - 1,
                                                 &plan),
                     GW_KUBE_LEASE_WAIT);
    assert_false(s->leader);
}


static void
test_take_over_after_expiry(void **state)
{
    gw_kube_lease_state_t   *s = *state;
    gw_kube_lease_plan_t     plan;
    gw_kube_lease_record_t   r;

    r = record(OTHER, "t0", 3);
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 0, &plan),
                     GW_KUBE_LEASE_WAIT);

    /* the holder renews: the lease is alive again for a full duration */
    r = record(OTHER, "t1", 3);
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 10000, &plan),
                     GW_KUBE_LEASE_WAIT);
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 10000 + DURATION - 1,
                                                 &plan),
                     GW_KUBE_LEASE_WAIT);

    /* then it stops renewing: expired a lease duration after we saw t1 */
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 10000 + DURATION,
                                                 &plan),
                     GW_KUBE_LEASE_UPDATE);
    assert_int_equal(plan.transitions, 4);
    assert_null(plan.acquire_time);

    write_ok(s, &plan, "t2", 10000 + DURATION);
    assert_true(s->leader);
}


static void
test_renew(void **state)
{
    gw_kube_lease_state_t   *s = *state;
    gw_kube_lease_plan_t     plan;
    gw_kube_lease_record_t   r;

    r = record(ME, "t0", 2);
    r.acquire_time = "acquired-t0";
    gw_kube_lease_state_written(s, &r, 0);
    assert_true(s->leader);

    /* ours: renew, keeping the acquire time and the transitions */
    r.renew_time = "t0";
    assert_int_equal(gw_kube_lease_state_observe(s, &r, RETRY, &plan),
                     GW_KUBE_LEASE_UPDATE);
    assert_string_equal(plan.acquire_time, "acquired-t0");
    assert_int_equal(plan.transitions, 2);

    write_ok(s, &plan, "t1", RETRY);
    assert_true(s->leader);

    /* renewing every retry period keeps us leading past the deadline */
    assert_true(gw_kube_lease_state_check(s, DEADLINE + 1));
    assert_int_equal(s->renewed_ms, RETRY);
}


static void
test_lose_on_missed_deadline(void **state)
{
    gw_kube_lease_state_t   *s = *state;
    gw_kube_lease_record_t   r;

    r = record(ME, "t0", 0);
    gw_kube_lease_state_written(s, &r, 50000);
    assert_true(s->leader);

    /* renewals fail (API server away): leading until the deadline */
    assert_true(gw_kube_lease_state_check(s, 50000 + RETRY));
    assert_true(gw_kube_lease_state_check(s, 50000 + DEADLINE - 1));

    /* and not a moment past it, well before the lease could expire */
    assert_false(gw_kube_lease_state_check(s, 50000 + DEADLINE));
    assert_false(s->leader);
    assert_true(DEADLINE < DURATION);
}


static void
test_race_409(void **state)
{
    gw_kube_lease_state_t   *a = *state;
    gw_kube_lease_state_t    b;
    gw_kube_lease_plan_t     pa, pb;
    gw_kube_lease_record_t   r;

    gw_kube_lease_state_init(&b, OTHER, DURATION, DEADLINE, RETRY);

    /* both see the released Lease and both try to take it */
    r = record("", "t0", 1);
    assert_int_equal(gw_kube_lease_state_observe(a, &r, 0, &pa),
                     GW_KUBE_LEASE_UPDATE);
    assert_int_equal(gw_kube_lease_state_observe(&b, &r, 0, &pb),
                     GW_KUBE_LEASE_UPDATE);

    /* b's update lands; a's, on the old resourceVersion, gets 409 */
    r = record(OTHER, "t1", pb.transitions);
    gw_kube_lease_state_written(&b, &r, 10);
    assert_true(b.leader);
    assert_false(gw_kube_lease_state_check(a, 10));

    /* a looks again: held by b, not expired, so a waits */
    assert_int_equal(gw_kube_lease_state_observe(a, &r, RETRY, &pa),
                     GW_KUBE_LEASE_WAIT);
    assert_false(a->leader);

    gw_kube_lease_state_release(&b);
}


static void
test_lose_to_other_holder(void **state)
{
    gw_kube_lease_state_t   *s = *state;
    gw_kube_lease_plan_t     plan;
    gw_kube_lease_record_t   r;

    r = record(ME, "t0", 0);
    gw_kube_lease_state_written(s, &r, 0);
    assert_true(s->leader);

    /* someone else holds it now (we were partitioned): stop at once */
    r = record(OTHER, "t9", 1);
    assert_int_equal(gw_kube_lease_state_observe(s, &r, 1000, &plan),
                     GW_KUBE_LEASE_WAIT);
    assert_false(s->leader);
}


int
main(void)
{
    const struct CMUnitTest  tests[] = {
        cmocka_unit_test_setup_teardown(test_acquire_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wait_on_held, setup, teardown),
        cmocka_unit_test_setup_teardown(test_take_over_after_expiry, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_renew, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lose_on_missed_deadline, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_race_409, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lose_to_other_holder, setup,
                                        teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
