"""`ngx-gateway run` as a process: stopping it, and Gateways that clash.

Uses the same per-test stack as test_games.py (conftest.py): own manifests,
state dir, loopback addresses; everything stopped in teardown.
"""

import signal
import socket
import subprocess

import pytest

from conftest import (GW_PORT, STOP_DEADLINE, cond, find_item, listener,
                      pid_alive, route_parent, wait_for)

MARIO = "<title>Super Mario</title>"
TETRIS = "<title>Tetris</title>"

OLDER = "2024-01-01T00:00:00Z"
YOUNGER = "2024-06-01T00:00:00Z"

# A second Gateway on the same class, address and port as game-gateway,
# with a route of its own. Its name sorts before "game-gateway", so only
# its age can make it the one that loses the port.
SECOND_GATEWAY = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: arcade-gateway
  namespace: default
{timestamp}spec:
  gatewayClassName: nginx-gateway
  listeners:
  - name: web
    port: 80
    protocol: HTTP
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: arcade-route
  namespace: default
spec:
  parentRefs:
  - name: arcade-gateway
  hostnames:
  - arcade.example.com
  rules:
  - backendRefs:
    - name: tetris
      namespace: tetris-ns
      port: 80
"""


def second_gateway(timestamp=None):
    ts = f"  creationTimestamp: \"{timestamp}\"\n" if timestamp else ""
    return SECOND_GATEWAY.format(timestamp=ts)


def set_gateway_timestamp(manifests, timestamp):
    docs = manifests.docs("gateway.yaml")
    gw = [d for d in docs if d["kind"] == "Gateway"]
    assert len(gw) == 1
    gw[0]["metadata"]["creationTimestamp"] = timestamp
    manifests.write_docs("gateway.yaml", docs)


def connect_refused(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=2):
            return False
    except OSError:
        return True


# ------------------------------------------------------------ lifecycle

def test_sigterm_stops_controller_and_nginx(games):
    c = games.controller
    nginx_pid = c.nginx_pid
    assert nginx_pid and c.leftovers(), "nginx should be running"

    c.proc.send_signal(signal.SIGTERM)
    try:
        rc = c.proc.wait(STOP_DEADLINE)
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running {STOP_DEADLINE:g}s after SIGTERM")
    assert rc == 0
    assert c.log_has(msg="stopping", signal="SIGTERM")

    # the controller reaps nginx before it exits: nothing is left
    assert not pid_alive(nginx_pid), f"nginx {nginx_pid} outlived it"
    assert not c.leftovers(), c.leftovers()
    assert not (c.state_dir / "nginx.pid").exists()
    assert connect_refused(games.net.gw, GW_PORT)
    # the backends are ours, not the controller's: they still run
    assert all(p.running() for p in games.procs.items
               if p.kind == "backend")


# ------------------------------------------------------------ port clash

def check_clash(st, keeper="game-gateway", loser="arcade-gateway",
                loser_listener="web"):
    """The loser's listener is refused and names the keeper; keeper fine."""
    gw, lst = listener(st, loser_listener, gateway=loser)
    acc = cond(lst["conditions"], "Accepted")
    assert (acc["status"], acc["reason"]) == ("False", "PortUnavailable"), \
        acc
    assert f"default/{keeper}" in acc["message"], acc
    assert cond(lst["conditions"], "Programmed")["status"] == "False"
    assert cond(gw["status"]["conditions"], "Programmed")["status"] == \
        "False", gw["status"]

    keep = find_item(st, "Gateway", keeper, "default")
    for t in ("Accepted", "Programmed"):
        c = cond(keep["status"]["conditions"], t)
        assert c["status"] == "True", c
    _, klst = listener(st, "http", gateway=keeper)
    assert cond(klst["conditions"], "Accepted")["status"] == "True"
    assert klst["attachedRoutes"] == 1
    return True


def test_second_gateway_on_the_same_port_is_refused(games):
    """A younger Gateway on game-gateway's address:port does not take it."""
    c, m = games.controller, games.manifests
    set_gateway_timestamp(m, OLDER)
    games.wait_get("/mario", 200, MARIO)

    m.write("arcade.yaml", second_gateway(YOUNGER))
    st = wait_for(lambda: check_clash(c.status("json")) and c.status("json"),
                  what="arcade-gateway's listener refused")

    # the first keeps serving; the younger Gateway's route is not served
    for path, page in (("/mario", MARIO), ("/tetris", TETRIS)):
        code, body = games.get(path)
        assert code == 200 and page in body, (path, code, body[:200])
    code, _ = games.get("/", host="arcade.example.com")
    assert code == 404
    route, parent = route_parent(st)
    assert cond(parent["conditions"], "Accepted")["status"] == "True"

    # once it has an address of its own, it serves there
    text = m.read("arcade.yaml").replace(
        "spec:\n  gatewayClassName",
        f"spec:\n  addresses:\n  - type: IPAddress\n"
        f"    value: {games.net.gw2}\n  gatewayClassName", 1)
    m.write("arcade.yaml", text)
    games.wait_get("/", 200, TETRIS, host="arcade.example.com",
                   addr=games.net.gw2)
    code, body = games.get("/mario")
    assert code == 200 and MARIO in body


def test_clash_at_startup_goes_by_age_not_name(stack):
    m = stack.manifests
    set_gateway_timestamp(m, OLDER)
    m.write("arcade.yaml", second_gateway(YOUNGER))
    stack.serve("mario")
    stack.serve("tetris")
    c = stack.start_controller()
    stack.wait_get("/mario", 200, MARIO)
    wait_for(lambda: check_clash(c.status("json")),
             what="arcade-gateway's listener refused")
    code, _ = stack.get("/", host="arcade.example.com")
    assert code == 404


def test_gateway_added_later_without_timestamps_does_not_take_the_port(
        games):
    """The walkthrough's files carry no creationTimestamp.

    Standalone, there is no API server to set one: the Gateway that was
    there first must keep the port although the newcomer's name sorts
    first (this used to hand the port to the newcomer: /mario went 404).
    """
    c, m = games.controller, games.manifests
    m.write("arcade.yaml", second_gateway())
    st = wait_for(lambda: find_item(c.status("json"), "Gateway",
                                    "arcade-gateway", "default")
                  and c.status("json"), what="arcade-gateway's status")
    check_clash(st)
    games.wait_get("/mario", 200, MARIO)


def test_first_seen_time_lasts_while_the_object_stays(games):
    """Without timestamps, an object keeps its first-seen time across
    rescans while it stays in the manifests; one removed and added again
    is a new object (as the API server would stamp it), so it is the
    younger one."""
    c, m = games.controller, games.manifests

    def loser_is(name):
        st = c.status("json")
        gw, lst = listener(st, "web" if name == "arcade-gateway" else "http",
                           gateway=name)
        return cond(lst["conditions"], "Accepted")["reason"] == \
            "PortUnavailable"

    m.write("arcade.yaml", second_gateway())
    wait_for(lambda: loser_is("arcade-gateway"), what="arcade refused")

    # rewriting game-gateway's file (a rescan) does not make it younger
    m.write("gateway.yaml", m.read("gateway.yaml") + "\n")
    m.write("arcade.yaml", second_gateway() + "\n")
    games.wait_get("/mario", 200, MARIO)
    assert loser_is("arcade-gateway")

    # removed and added again: game-gateway is now the younger one
    text = m.read("gateway.yaml")
    m.remove("gateway.yaml")
    wait_for(lambda: not any(i["kind"] == "Gateway"
                             and i["metadata"]["name"] == "game-gateway"
                             for i in c.status("json")["items"]),
             what="game-gateway gone")
    m.write("gateway.yaml", text)
    wait_for(lambda: loser_is("game-gateway"), what="game-gateway refused")


def test_route_of_a_refused_listener_is_not_reported_accepted(stack):
    m = stack.manifests
    set_gateway_timestamp(m, OLDER)
    m.write("arcade.yaml", second_gateway(YOUNGER))
    stack.serve("mario")
    stack.serve("tetris")
    c = stack.start_controller()
    st = wait_for(lambda: check_clash(c.status("json")) and c.status("json"),
                  what="arcade-gateway's listener refused")
    stack.wait_get("/", 404, host="arcade.example.com")

    _, parent = route_parent(st, "arcade-route", gateway="arcade-gateway")
    acc = cond(parent["conditions"], "Accepted")
    assert acc["status"] == "False", (
        f"arcade-route is not served (404) but says {acc}")
    assert acc["reason"] == "NotAllowedByListeners"
    assert "PortUnavailable" in acc["message"], acc
    gw = find_item(st, "Gateway", "arcade-gateway", "default")
    assert not gw["status"].get("addresses"), (
        f"arcade-gateway listens nowhere but reports {gw['status']}")
