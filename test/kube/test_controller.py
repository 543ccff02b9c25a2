"""
The controller in Kubernetes mode (`ngx-gateway run --kubeconfig`) with a
real nginx, the games backends and the API server stand-in: the acceptance
tests of the Kubernetes mode.  See ctlfixture.py for the machinery.

Every wait is a poll with a generous deadline; `kube.converge()` measures
how long the controller's view takes to equal the API server's after a
fault (printed at the end of the run).
"""

import os
import shutil
import socket
import time

import pytest

import kubeclient
from conftest import CRDS
from ctlfixture import (CONTROLLER, CONVERGENCE, DEADLINE, GW_PORT, MARIO,
                        PORT_OFFSET, TETRIS, cond, our_parent, wait_for)
from ctlfixture import built, kube, net, net2, procs  # noqa: F401
from ctlfixture import gwit, write_kubeconfig


def route_is(kube, ctype, status, reason=None, name="game-route"):
    """The route's condition of ours as the API server holds it is
    status (and reason), for the route's current generation."""
    route = kube.route(name)
    c = cond(our_parent(route)["conditions"], ctype)
    return (c["status"] == status
            and (reason is None or c["reason"] == reason)
            and c["observedGeneration"] == route["metadata"]["generation"])


def wait_route(kube, ctype, status, reason=None, name="game-route"):
    try:
        wait_for(lambda: route_is(kube, ctype, status, reason, name),
                 timeout=DEADLINE,
                 what=f"HTTPRoute {name} {ctype}={status} {reason or ''}")
    except AssertionError as e:
        raise AssertionError(f"{e}\nstatus: "
                             f"{kube.route(name).get('status')}") from None


# ------------------------------------------------------------ 1. games

def test_games_through_the_api(kube):
    kube.serve_games()
    kube.apply_games()
    kube.controller()
    kube.wait_get("/mario", 200, MARIO)
    kube.wait_get("/tetris", 200, TETRIS)

    # what `kubectl describe` shows once the leader wrote it
    wait_route(kube, "Accepted", "True", "Accepted")
    wait_route(kube, "ResolvedRefs", "True", "ResolvedRefs")
    gc = kube.client.get("GatewayClass", "nginx-gateway")
    for t in ("Accepted", "SupportedVersion"):
        c = cond(gc["status"]["conditions"], t)
        assert c["status"] == "True", c
        assert c["observedGeneration"] == gc["metadata"]["generation"], c
    gw = kube.client.get("Gateway", "game-gateway", "default")
    for t in ("Accepted", "Programmed"):
        c = cond(gw["status"]["conditions"], t)
        assert c["status"] == "True", c

    # a changed path: a new generation, nginx follows, and the status
    # says which generation it is about
    route = kube.route()
    gen = route["metadata"]["generation"]
    route["spec"]["rules"][0]["matches"][0]["path"]["value"] = "/super-mario"
    route = kube.client.update(route)
    assert route["metadata"]["generation"] == gen + 1
    kube.wait_get("/super-mario", 200, MARIO)
    kube.wait_get("/mario", 404)
    wait_route(kube, "Accepted", "True")
    wait_route(kube, "ResolvedRefs", "True")

    # no ReferenceGrant, no cross-namespace backend
    kube.client.delete("ReferenceGrant", "allow-mario-service", "mario-ns")
    wait_route(kube, "ResolvedRefs", "False", "RefNotPermitted")
    kube.wait_get("/super-mario", 500)
    code, body = kube.get("/tetris")
    assert code == 200 and TETRIS in body, (code, body[:200])

    # no route, nothing served
    kube.client.delete("HTTPRoute", "game-route", "default")
    kube.wait_get("/tetris", 404)
    kube.wait_get("/super-mario", 404)


# ------------------------------------------------------------ 2. others

def test_parents_of_other_controllers_are_kept(kube):
    kube.serve_games()
    kube.apply_games()
    kube.controller()
    wait_route(kube, "Accepted", "True")

    other = {
        "parentRef": {"group": "gateway.networking.k8s.io",
                      "kind": "Gateway", "name": "their-gateway",
                      "namespace": "default"},
        "controllerName": "example.com/another-controller",
        "conditions": [{
            "type": "Accepted", "status": "True", "reason": "Accepted",
            "message": "theirs", "observedGeneration": 1,
            "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
    route = kube.route()
    parents = route["status"]["parents"] + [other]
    kube.client.patch_status("HTTPRoute", "game-route",
                             {"parents": parents}, "default")

    # make us write the route's status again: a new generation
    route = kube.route()
    route["spec"]["rules"][1]["matches"][0]["path"]["value"] = "/blocks"
    kube.client.update(route)
    kube.wait_get("/blocks", 200, TETRIS)
    wait_route(kube, "Accepted", "True")

    route = kube.route()
    theirs = [p for p in route["status"]["parents"]
              if p["controllerName"] == other["controllerName"]]
    assert theirs == [other], route["status"]
    ours = [p for p in route["status"]["parents"]
            if p["controllerName"] == CONTROLLER]
    assert len(ours) == 1, route["status"]


# ------------------------------------------------------------ 3. outage

def edit_offline(apiserver, tmp_path, change):
    """Changes objects while the stand-in is down, the supported way: a
    second stand-in on a copy of its --data journal makes the writes
    (`change(client)`), then the journal is put back.  When apiserver
    starts again it has the changed objects, a resourceVersion counter
    further on, and no watch history (as after an etcd restore)."""
    from conftest import ApiServer

    side = tmp_path / "offline"
    side.mkdir()
    shutil.copy(apiserver.data, side / "apiserver-data.jsonl")
    other = ApiServer(side, crds=apiserver.crds)
    try:
        change(other.client)
    finally:
        other.stop()
    shutil.copy(side / "apiserver-data.jsonl", apiserver.data)


def rename_path(client, old, new):
    route = client.get("HTTPRoute", "game-route", "default")
    for rule in route["spec"]["rules"]:
        for m in rule.get("matches", []):
            if m["path"]["value"] == old:
                m["path"]["value"] = new
    return client.update(route)


def test_api_server_outage_loses_no_update(kube, tmp_path, request):
    kube.serve_games()
    kube.apply_games()
    c = kube.controller()
    kube.wait_get("/mario", 200, MARIO)
    wait_route(kube, "Accepted", "True")
    ctl_pid, nginx_pid = c.pid, c.nginx_pid

    kube.api.kill()

    def change(client):
        rename_path(client, "/mario", "/retro-mario")
        client.delete("ReferenceGrant", "allow-tetris-service", "tetris-ns")
    edit_offline(kube.api, tmp_path, change)

    # while the API server is away, the last configuration keeps serving
    code, body = kube.get("/mario")
    assert code == 200 and MARIO in body, (code, body[:200])
    assert c.running()

    kube.api.start()
    kube.converge(c, "API server killed, 2 changes while down",
                  request, api=True)
    kube.wait_get("/retro-mario", 200, MARIO)
    kube.wait_get("/tetris", 500)
    kube.wait_get("/mario", 404)
    wait_route(kube, "ResolvedRefs", "False", "RefNotPermitted")
    kube.wait_api_status(c)

    # the same controller and nginx did it
    assert c.running() and c.pid == ctl_pid
    assert c.nginx_pid == nginx_pid
    assert c.metric("ngx_gateway_relists_total") >= 1


# ------------------------------------------------------------ 4. 410 Gone

def test_compaction_relists_without_restart(kube, request):
    kube.serve_games()
    kube.apply_games()
    c = kube.controller()
    kube.wait_get("/mario", 200, MARIO)
    relists = c.metric("ngx_gateway_relists_total")
    reconnects = c.metric("ngx_gateway_watch_reconnects_total")

    kube.api.control("compact")
    dropped = kube.api.control("drop-watches")["dropped"]
    assert dropped > 0
    rename_path(kube.client, "/tetris", "/blocks")

    kube.converge(c, "compaction + dropped watches + 1 change", request,
                  api=True)
    kube.wait_get("/blocks", 200, TETRIS)
    kube.wait_get("/tetris", 404)
    wait_route(kube, "Accepted", "True")
    wait_for(lambda: c.metric("ngx_gateway_relists_total") > relists,
             timeout=DEADLINE, what="a relist counted in /metrics")
    assert c.metric("ngx_gateway_watch_reconnects_total") > reconnects
    assert c.running()


def test_stalled_watches_catch_up(kube, request):
    """Watches that go quiet (a slow API server) deliver late: the
    controller applies what they bring once they do."""
    kube.serve_games()
    kube.apply_games()
    c = kube.controller()
    kube.wait_get("/mario", 200, MARIO)

    kube.api.control("stall-watches", seconds=2)
    rename_path(kube.client, "/mario", "/plumber")
    kube.converge(c, "watches stalled 2 s + 1 change", request,
                  timeout=2 + 5, api=True)
    kube.wait_get("/plumber", 200, MARIO)


# ------------------------------------------------------------ 6. replicas

LEASE = "ngx-gateway-leader"
LEASE_DEADLINE = 30.0   # generous: the test uses a 3 s lease (LEASE_ARGS)


def lease_holder(kube):
    lease = kube.client.get_or_none("Lease", LEASE, "default")
    return lease and lease["spec"].get("holderIdentity")


def identity(c):
    """A replica's Lease identity: hostname_pid (the default)."""
    return f"{socket.gethostname()}_{c.pid}"


def status_writes(c, kind=None):
    want = {"msg": "status written"}
    if kind:
        want["kind"] = kind
    return len(c.log_find(**want))


def status_patches(kube):
    return [r for r in kube.api.control("requests")
            if r["method"] == "PATCH" and r["path"].endswith("/status")]


# short leader election timings keep the failover quick (defaults: 15 s,
# 10 s, 2 s)
LEASE_ARGS = ("--lease-duration", "3000", "--lease-renew-deadline", "2000",
              "--lease-retry-period", "500")


def test_two_replicas_one_leader_and_failover(net2, kube, request):
    kube.serve_games()
    kube.apply_games()
    first = kube.controller(*LEASE_ARGS, name="replica0")
    wait_for(lambda: lease_holder(kube) == identity(first),
             timeout=DEADLINE, what="replica0 holds the Lease")
    wait_route(kube, "Accepted", "True")
    second = kube.controller(*LEASE_ARGS, net=net2, name="replica1")

    # both serve, each on its own address
    kube.wait_get("/mario", 200, MARIO)
    kube.wait_get("/mario", 200, MARIO, addr=net2.gw)

    # a change: both program their nginx, only the leader writes status
    kube.api.control("requests", "DELETE")
    before = status_writes(first, "HTTPRoute")
    rename_path(kube.client, "/tetris", "/blocks")
    kube.converge(second, "follower, 1 change", request)
    kube.converge(first, "leader, 1 change", request, api=True)
    kube.wait_get("/blocks", 200, TETRIS)
    kube.wait_get("/blocks", 200, TETRIS, addr=net2.gw)
    wait_route(kube, "Accepted", "True")
    assert lease_holder(kube) == identity(first)
    assert status_writes(first, "HTTPRoute") > before
    assert status_writes(second) == 0, "the follower wrote status"
    assert not second.log_has(msg="leading: writing status")
    patches = status_patches(kube)
    assert patches and all(r["code"] == 200 for r in patches), patches

    # the leader dies without letting go: the other takes over once the
    # Lease expires
    first.sigkill()
    killed = time.monotonic()
    wait_for(lambda: lease_holder(kube) == identity(second),
             timeout=LEASE_DEADLINE, interval=0.2,
             what="replica1 takes the Lease over")
    CONVERGENCE.append((request.node.name, "Lease taken over after the "
                        "leader's SIGKILL", time.monotonic() - killed))
    wait_for(lambda: second.log_has(msg="leading: writing status"),
             timeout=DEADLINE, what="replica1 leads")

    kube.client.delete("ReferenceGrant", "allow-mario-service", "mario-ns")
    kube.converge(second, "leader SIGKILLed, new leader, 1 change",
                  request, api=True)
    wait_route(kube, "ResolvedRefs", "False", "RefNotPermitted")
    kube.wait_get("/mario", 500, addr=net2.gw)
    assert status_writes(second, "HTTPRoute") > 0


# ------------------------------------------------------------ 7. TLS

@pytest.mark.parametrize("apiserver", [{"tls": True}], indirect=True)
def test_tls_and_token(kube):
    kube.serve_games()
    kube.apply_games()
    c = kube.controller()
    kube.wait_get("/mario", 200, MARIO)
    wait_route(kube, "Accepted", "True")
    kube.wait_api_status(c)
    code, _, body = c.admin("/readyz")
    assert code == 200, body


@pytest.mark.parametrize("apiserver", [{"tls": True}], indirect=True)
def test_wrong_token_is_refused_and_not_ready(kube, tmp_path):
    kube.apply_games()
    cfg = write_kubeconfig(tmp_path / "wrong-kubeconfig", kube.api.url,
                           token="not-" + kube.api.token,
                           cacert=kube.api.cacert)
    c = kube.controller(kubeconfig=cfg, wait=False)

    def refused():
        return [d for d in c.log_lines()
                if d["level"] == "error" and "401" in d["raw"]]
    wait_for(lambda: refused() or not c.running(), timeout=DEADLINE,
             what="an error naming the 401")
    assert c.running(), c.text()
    assert refused(), c.text()

    # it keeps trying (a second round of refusals) and never goes live
    # with a configuration made from nothing
    n = len(status_or_list_failures(c))
    wait_for(lambda: len(status_or_list_failures(c)) > n,
             timeout=DEADLINE, what="another refused attempt")
    code, _, body = c.admin("/readyz")
    assert code == 503, body
    assert not c.log_has(msg="configuration live")
    assert not (c.state_dir / "nginx.pid").exists()
    code, _, _ = c.admin("/healthz")
    assert code == 200


def status_or_list_failures(c):
    return [d for d in c.log_lines() if "401" in d["raw"]]


# ------------------------------------------------------------ 8. Events

def arcade(addr):
    """A second Gateway on addr (valid objects; nginx cannot listen there
    while `busy` holds the port: `nginx -t` passes, the reload fails)."""
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "arcade-gateway", "namespace": "default"},
        "spec": {"gatewayClassName": "nginx-gateway",
                 "addresses": [{"type": "IPAddress", "value": addr}],
                 "listeners": [{"name": "web", "port": 80,
                                "protocol": "HTTP"}]}}


@pytest.fixture
def busy(kube):
    """An address of the test's block whose port 80 (+offset) another
    process holds."""
    with gwit.occupied(kube.net.gw2, GW_PORT):
        yield kube.net.gw2


def reload_failed_events(kube, gateway):
    return [e for e in kube.client.list(
                "events.events.k8s.io", "default",
                fieldSelector=f"regarding.name={gateway}")
            if e["reason"] == "ReloadFailed"]


def test_rejected_configuration_is_an_event_on_the_gateway(kube, busy):
    """A configuration nginx refuses: the last good one keeps serving,
    the Gateways get a Warning Event ReloadFailed (`kubectl get events`)
    and Programmed=False; once fixed, Programmed=True again."""
    kube.serve_games()
    kube.apply_games()
    c = kube.controller()
    kube.wait_get("/mario", 200, MARIO)
    failures = c.metric("ngx_gateway_reload_failures_total")

    created = kube.client.create(arcade(busy))
    events = wait_for(lambda: reload_failed_events(kube, "arcade-gateway"),
                      timeout=DEADLINE,
                      what="a ReloadFailed Event on arcade-gateway")
    ev = events[0]
    assert ev["type"] == "Warning", ev
    assert ev["regarding"]["kind"] == "Gateway", ev
    assert ev["regarding"]["uid"] == created["metadata"]["uid"], ev
    assert ev["reportingController"] == CONTROLLER, ev
    assert busy in ev["note"], ev
    wait_for(lambda: reload_failed_events(kube, "game-gateway"),
             timeout=DEADLINE, what="a ReloadFailed Event on game-gateway")

    # the last good configuration serves on; still ready
    code, body = kube.get("/mario")
    assert code == 200 and MARIO in body, (code, body[:200])
    code, _, body = c.admin("/readyz")
    assert code == 200, body
    assert c.metric("ngx_gateway_reload_failures_total") > failures
    wait_for(lambda: programmed(kube, "arcade-gateway") == "False",
             timeout=DEADLINE, what="arcade-gateway Programmed=False")


def programmed(kube, name):
    gw = kube.client.get("Gateway", name, "default")
    return cond(gw["status"]["conditions"], "Programmed")["status"]


def test_undoing_a_rejected_change_programs_again(kube, busy):
    kube.serve_games()
    kube.apply_games()
    kube.controller()
    kube.wait_get("/mario", 200, MARIO)
    kube.client.create(arcade(busy))
    wait_for(lambda: programmed(kube, "game-gateway") == "False",
             timeout=DEADLINE, what="game-gateway Programmed=False")

    kube.client.delete("Gateway", "arcade-gateway", "default")
    wait_for(lambda: programmed(kube, "game-gateway") == "True",
             timeout=DEADLINE, what="game-gateway Programmed=True")


def test_failed_reload_keeps_the_controller_responsive(kube):
    """A port in use on the Gateway's address: `nginx -t` passes (it
    does not treat EADDRINUSE as an error), the reload fails in the
    master.  The controller must keep answering meanwhile."""
    kube.serve_games()
    kube.apply_games()
    c = kube.controller()
    kube.wait_get("/mario", 200, MARIO)

    port = 81
    with gwit.occupied(kube.net.gw, port + PORT_OFFSET):
        gw = kube.client.get("Gateway", "game-gateway", "default")
        gw["spec"]["listeners"].append(
            dict(gw["spec"]["listeners"][0], name="extra", port=port))
        kube.client.update(gw)

        err_log = c.state_dir / "logs" / "error.log"
        wait_for(lambda: "still could not bind()" in err_log.read_text(),
                 timeout=DEADLINE, what="nginx gave up binding")
        try:
            code, _, _ = c.admin("/healthz", timeout=3)
        except OSError as e:
            pytest.fail(f"/healthz did not answer in 3 s: {e}")
        assert code == 200
    wait_for(lambda: reload_failed_events(kube, "game-gateway"),
             timeout=RELOAD_FAIL_DEADLINE, interval=0.2,
             what="a ReloadFailed Event on game-gateway")


RELOAD_FAIL_DEADLINE = 30.0


# ------------------------------------------------------------ 9. CRDs

STANDARD = [os.path.join(CRDS, f"gateway.networking.k8s.io_{r}.yaml")
            for r in ("gatewayclasses", "gateways", "httproutes",
                      "referencegrants", "grpcroutes")]


@pytest.mark.parametrize("apiserver", [{"crds": STANDARD}], indirect=True)
def test_missing_crds_do_not_stop_the_controller(kube, request):
    """Only the standard channel's CRDs (no TCPRoute, TLSRoute, UDPRoute,
    BackendTLSPolicy): HTTPRoutes are served and their status written."""
    assert kube.client.get_or_none("customresourcedefinitions",
                                   "tcproutes.gateway.networking.k8s.io") \
        is None
    kube.serve_games()
    kube.apply_games()
    c = kube.controller()
    kube.wait_get("/mario", 200, MARIO)
    kube.wait_get("/tetris", 200, TETRIS)
    wait_route(kube, "Accepted", "True")
    assert c.log_find(msg="kind not served (CRD not installed), looking "
                      "again every 30 s", kind="TCPRoute")

    # installed later: picked up, nothing lost
    kube.client.create(kubeclient.load_docs(os.path.join(
        CRDS, "gateway.networking.k8s.io_tcproutes.yaml"))[0])
    wait_for(lambda: c.log_find(msg="listed", kind="TCPRoute"),
             timeout=DEADLINE, what="TCPRoutes listed")
    rename_path(kube.client, "/mario", "/plumber")
    kube.converge(c, "CRD installed, 1 change", request, api=True)
    kube.wait_get("/plumber", 200, MARIO)
