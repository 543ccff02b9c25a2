"""The Gateway API names in nginx's counters (standalone controller).

The controller tags every server, route location and upstream it renders
(gateway_server_tag, gateway_route_tag, gateway_backend_tag); our module
counts traffic per tag and reports it as JSON on the status socket, the
one the controller's gw_runtime_report() reads. These tests run the
games walkthrough, send requests through the Gateway and read the report
as an operator would (curl --unix-socket), expecting the counts under the
Gateway, listener, hostname, HTTPRoute rule and Service names.

Counters are updated in nginx's log phase, after the response: the tests
poll the report (bounded) until the counts reach what they expect, then
check them exactly.
"""

import json
import subprocess

from conftest import HOST, MARIO_PORT, wait_for

N = 7
CONVERGE = 10.0


def report(stack):
    sock = stack.state_dir / "run" / "gateway-status.sock"
    res = subprocess.run(["curl", "-sS", "--max-time", "5",
                          "--unix-socket", str(sock), "http://localhost/"],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    return json.loads(res.stdout)


def server(rep, hostname):
    found = [s for s in rep["servers"]
             if s["gateway"] == "default/game-gateway"
             and s["listener"] == "http" and s["hostname"] == hostname]
    assert len(found) == 1, rep["servers"]
    return found[0]


def route(rep, rule):
    found = [r for r in rep["routes"]
             if r["route"] == "default/game-route" and r["rule"] == rule]
    assert len(found) == 1, rep["routes"]
    return found[0]


def peer(rep, backend, address):
    ups = [u for u in rep["upstreams"] if u["backend"] == backend]
    assert len(ups) == 1, rep["upstreams"]
    found = [p for p in ups[0]["peers"] if p["address"] == address]
    assert len(found) == 1, ups[0]
    return found[0]


def snapshot(stack):
    rep = report(stack)
    return {
        "server": server(rep, HOST)["requests"],
        "catch_all": server(rep, None)["requests"],
        "mario_rule": route(rep, "0")["requests"],
        "tetris_rule": route(rep, "1")["requests"],
        "mario_peer": peer(rep, "mario-ns/mario:80",
                           f"{stack.net.mario}:{MARIO_PORT}")["requests"],
    }


def test_requests_counted_under_gateway_api_names(games):
    before = snapshot(games)

    for _ in range(N):
        code, _ = games.get("/mario")
        assert code == 200
    code, _ = games.get("/mario", host="other.example.com")
    assert code == 404

    want = dict(before)
    want["server"] += N
    want["mario_rule"] += N
    want["mario_peer"] += N
    want["catch_all"] += 1

    wait_for(lambda: snapshot(games) == want, timeout=CONVERGE,
             what=f"counts {want}")
    assert snapshot(games) == want

    rep = report(games)
    s = server(rep, HOST)
    assert s["responses"]["2xx"] >= N, s
    assert s["bytes_out"] > 0 and s["bytes_in"] > 0, s
    assert server(rep, None)["responses"]["4xx"] >= 1, rep["servers"]
    r = route(rep, "0")
    assert r["responses"]["2xx"] == r["requests"], r
    p = peer(rep, "mario-ns/mario:80", f"{games.net.mario}:{MARIO_PORT}")
    assert p["response_time_count"] == p["requests"], p


def test_tags_follow_the_manifests(games):
    """A rule removed from the route leaves the report at the reload."""
    rep = report(games)
    assert {r["rule"] for r in rep["routes"]
            if r["route"] == "default/game-route"} == {"0", "1"}
    assert {u["backend"] for u in rep["upstreams"]} == {
        "mario-ns/mario:80", "tetris-ns/tetris:80"}

    docs = games.manifests.docs("httproute.yaml")
    docs[0]["spec"]["rules"] = docs[0]["spec"]["rules"][:1]
    games.manifests.write_docs("httproute.yaml", docs)
    games.wait_get("/tetris", 404)

    def only_mario():
        rep = report(games)
        rules = {r["rule"] for r in rep["routes"]
                 if r["route"] == "default/game-route"}
        backends = {u["backend"] for u in rep["upstreams"]}
        return rules == {"0"} and backends == {"mario-ns/mario:80"}
    wait_for(only_mario, timeout=CONVERGE, what="tetris gone from report")

    code, _ = games.get("/mario")
    assert code == 200
