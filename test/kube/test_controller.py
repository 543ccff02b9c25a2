"""
The controller in Kubernetes mode (`ngx-gateway run --kubeconfig`) with a
real nginx, the games backends and the API server stand-in: the acceptance
tests of the Kubernetes mode.  See ctlfixture.py for the machinery.

Every wait is a poll with a generous deadline; `kube.converge()` measures
how long the controller's view takes to equal the API server's after a
fault (printed at the end of the run).
"""

import shutil

from ctlfixture import (CONTROLLER, DEADLINE, MARIO, TETRIS, cond,
                        our_parent, wait_for)
from ctlfixture import built, kube, net, procs  # noqa: F401  (fixtures)


def parent_conds(kube, name="game-route"):
    return our_parent(kube.route(name))["conditions"]


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
                  request)
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

    kube.converge(c, "compaction + dropped watches + 1 change", request)
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
                  timeout=2 + 5)
    kube.wait_get("/plumber", 200, MARIO)
