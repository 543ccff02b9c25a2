"""Traffic counters of ngx_http_gateway_module against a real nginx.

Each test starts its own nginx (master + 2 workers, daemon off) like
test_module.py, with a hand-written configuration: two tagged servers on
the Gateway address of the test's loopback block, tagged locations, a
tagged upstream whose peer is a real backend (serve.py) and one whose
peer listens nowhere (502). The report comes from the status socket.

Counters are updated in the log phase, which runs after the response has
been sent: the tests poll the report until it shows what they expect
(bounded tries) and then compare every field exactly.
"""

import re
import threading
import time

import pytest

from conftest import (GW_PORT, MARIO_PORT, PYTHON, SERVE, TETRIS_PORT,
                      Backend, http_get, wait_for)
from test_module import Nginx, require_module
from test_module import nginx, workdir  # noqa: F401  (fixtures)

BODY = b"x" * 5000            # the backend's index.html
CONVERGE = 10.0               # seconds for counters to show a request

CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx")

ERROR_LINE = re.compile(r"\[(error|alert|crit|emerg)\]")


def body(net, spare=False, spare_dead=True, tag_b=True, tag_dead=True,
         rule="0"):
    """The http{} content under test (besides the status server)."""
    gw = f"{net.gw}:{GW_PORT}"
    text = [
        "    upstream live {\n"
        "        gateway_backend_tag backend=default/live:8080;\n"
        f"        server {net.mario}:{MARIO_PORT};\n"
        "    }\n",
        "    upstream dead {\n"
        + ("        gateway_backend_tag backend=default/dead:80;\n"
           if tag_dead else "")
        + f"        server {net.tetris}:{TETRIS_PORT};\n"
        "    }\n",
        "    server {\n"
        f"        listen {gw};\n"
        "        server_name a.example.com;\n"
        "        gateway_server_tag gateway=default/gw listener=http\n"
        "                           hostname=a.example.com;\n"
        "        location /files/ {\n"
        f"            gateway_route_tag route=default/files rule={rule};\n"
        "            proxy_pass http://live;\n"
        "        }\n"
        "        location /dead {\n"
        + ("            gateway_route_tag route=default/dead;\n"
           if tag_dead else "")
        + "            proxy_pass http://dead;\n"
        "        }\n"
        "        location / { return 404; }\n"
        "    }\n",
        "    server {\n"
        f"        listen {gw};\n"
        "        server_name b.example.com;\n"
        + ('        gateway_server_tag "gateway=default/gw" "listener=http" '
           '"hostname=b.example.com";\n' if tag_b else "")
        + '        location / { return 200 "b\\n"; }\n'
        "    }\n",
    ]
    if spare:
        # not used by any location: only its peers' names are tested
        text.append(
            "    upstream spare {\n"
            "        gateway_backend_tag backend=default/spare:80;\n"
            f"        server {net.mario}:{MARIO_PORT};\n"
            + (f"        server {net.tetris}:{TETRIS_PORT};\n"
               if spare_dead else "")
            + "    }\n")
    return "".join(text)


class Gateway(Nginx):
    """Nginx of test_module.py with this file's http{} content."""

    def __init__(self, root, net):
        super().__init__(root)
        self.net = net
        self.body = body(net)
        self.zone = ""

    def render(self, generation, **kw):
        if "body" in kw:
            self.body = kw.pop("body")
        if "zone" in kw:
            self.zone = kw.pop("zone")
        assert not kw, kw
        text = super().render(generation)
        # keep the status server, replace the test server on 127.0.0.1
        head, _, _ = text.rpartition("    server {\n")
        return head + self.zone + self.body + "}\n"

    def get(self, path, host="a.example.com"):
        status, _ = http_get(self.net.gw, GW_PORT, path, host)
        return status

    def errors(self):
        text = self.error_log.read_text(errors="replace")
        return [line for line in text.splitlines() if ERROR_LINE.search(line)]


@pytest.fixture
def backend(tmp_path, net, procs):
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_bytes(BODY)
    argv = [PYTHON, SERVE, "--listen", f"{net.mario}:{MARIO_PORT}",
            "--root", root]
    return procs.add(Backend(argv, tmp_path / "backend.log", net.mario,
                             MARIO_PORT)).start()


@pytest.fixture
def gateway(workdir, net, backend):
    g = Gateway(workdir, net)
    try:
        g.start(generation=1)
        yield g
    finally:
        g.stop()


# --------------------------------------------------------------- the report

def one(items, **want):
    found = [i for i in items if all(i.get(k) == v for k, v in want.items())]
    assert len(found) == 1, f"{want} in {items}"
    return found[0]


def server_of(doc, hostname):
    return one(doc["servers"], hostname=hostname)


def route_of(doc, route, rule=None):
    return one(doc["routes"], route=route, rule=rule)


def peers_of(doc, backend):
    return one(doc["upstreams"], backend=backend)["peers"]


def responses(**counts):
    return {c: counts.get(f"c{c[0]}xx", 0) for c in CLASSES}


def wait_report(g, check, what):
    """Poll the report until check(doc) is true; return that doc."""
    last = {}

    def probe():
        last["doc"] = g.status()
        return check(last["doc"]) and last["doc"]

    try:
        return wait_for(probe, timeout=CONVERGE, what=what)
    except AssertionError as e:
        doc = last.get("doc") or {}
        raise AssertionError(f"{e}\nlast report: servers="
                             f"{doc.get('servers')} routes="
                             f"{doc.get('routes')} upstreams="
                             f"{doc.get('upstreams')}") from None


def totals(doc):
    return sum(s["requests"] for s in doc["servers"])


# --------------------------------------------------------------- tests

def test_counts_by_server_route_and_peer(gateway, net):
    before = gateway.status()
    assert before["servers"] and totals(before) == 0

    codes = ([gateway.get("/files/one.html") for _ in range(7)]
             + [gateway.get(f"/missing/{i}") for i in range(3)]
             + [gateway.get("/dead") for _ in range(2)]
             + [gateway.get("/", host="b.example.com") for _ in range(4)])
    assert codes == [200] * 7 + [404] * 3 + [502] * 2 + [200] * 4

    doc = wait_report(gateway, lambda d: totals(d) == 16, "16 requests")

    a = server_of(doc, "a.example.com")
    assert (a["gateway"], a["listener"]) == ("default/gw", "http")
    assert a["requests"] == 12
    assert a["responses"] == responses(c2xx=7, c4xx=3, c5xx=2)
    assert a["bytes_out"] >= 7 * len(BODY)
    # at least "GET /files/one.html HTTP/1.1\r\n" and its Host header
    assert a["bytes_in"] >= 12 * len("GET / HTTP/1.1\r\nHost: a.example.com")

    b = server_of(doc, "b.example.com")
    assert b["requests"] == 4
    assert b["responses"] == responses(c2xx=4)
    assert 4 * len("b\n") <= b["bytes_out"] < 4 * 1000

    files = route_of(doc, "default/files", "0")
    assert files["requests"] == 7
    assert files["responses"] == responses(c2xx=7)
    assert files["bytes_out"] >= 7 * len(BODY)
    dead = route_of(doc, "default/dead")       # rule left out: null
    assert dead["requests"] == 2
    assert dead["responses"] == responses(c5xx=2)
    assert len(doc["routes"]) == 2             # "location /" is untagged

    [live] = peers_of(doc, "default/live:8080")
    assert live["address"] == f"{net.mario}:{MARIO_PORT}"
    assert live["requests"] == 7
    assert live["responses"] == responses(c2xx=7)
    assert live["bytes_in"] >= 7 * len(BODY)      # what the peer sent
    assert live["bytes_out"] >= 7 * len("GET /files/one.html HTTP/1.1")
    assert live["response_time_count"] == 7
    assert live["response_time_ms_sum"] >= 0

    [down] = peers_of(doc, "default/dead:80")
    assert down["address"] == f"{net.tetris}:{TETRIS_PORT}"
    assert down["requests"] == 2
    assert down["responses"] == responses(c5xx=2)
    assert down["bytes_in"] == 0

    # every request of the test servers (and the status polls) counted
    assert doc["requests"]["total"] - before["requests"]["total"] >= 17
    conn = doc["connections"]
    assert conn["accepted"] >= 17 and conn["handled"] == conn["accepted"]
    assert conn["active"] >= 1 and conn["writing"] >= 1

    # nothing more arrives later
    assert gateway.status()["servers"] == doc["servers"]
    assert gateway.status()["upstreams"] == doc["upstreams"]


def test_counters_survive_reload_and_keep_counting(gateway):
    for _ in range(5):
        assert gateway.get("/files/a") == 200
    wait_report(gateway,
                lambda d: server_of(d, "a.example.com")["requests"] == 5,
                "5 requests")
    zone = gateway.status()["zone"]

    gateway.reload(2)
    gateway.wait_generation(2)
    gateway.wait_workers(2)
    for _ in range(5):
        assert gateway.get("/files/b") == 200

    doc = wait_report(
        gateway, lambda d: server_of(d, "a.example.com")["requests"] == 10,
        "10 requests")
    assert server_of(doc, "a.example.com")["responses"] == responses(
        c2xx=10)
    assert route_of(doc, "default/files", "0")["requests"] == 10
    assert peers_of(doc, "default/live:8080")[0]["requests"] == 10
    assert doc["zone"] == zone
    assert gateway.errors() == []


def test_removed_tags_lose_their_series(gateway, net):
    gateway.reload(2, body=body(net, spare=True))
    doc = gateway.wait_generation(2)
    assert sorted(p["address"] for p in peers_of(doc, "default/spare:80")) == [
        f"{net.mario}:{MARIO_PORT}", f"{net.tetris}:{TETRIS_PORT}"]
    series = doc["zone"]["series"]
    assert gateway.get("/", host="b.example.com") == 200
    wait_report(gateway,
                lambda d: server_of(d, "b.example.com")["requests"] == 1,
                "1 request")

    # b.example.com untagged, the dead backend and its route untagged,
    # one peer less in spare
    gateway.reload(3, body=body(net, spare=True, spare_dead=False,
                                tag_b=False, tag_dead=False))
    doc = gateway.wait_generation(3)

    assert [s["hostname"] for s in doc["servers"]] == ["a.example.com"]
    assert [r["route"] for r in doc["routes"]] == ["default/files"]
    assert sorted(u["backend"] for u in doc["upstreams"]) == [
        "default/live:8080", "default/spare:80"]
    assert [p["address"] for p in peers_of(doc, "default/spare:80")] == [
        f"{net.mario}:{MARIO_PORT}"]
    # server, route, upstream and peer of dead, server b, a spare peer
    assert doc["zone"]["series"] == series - 5

    # the untagged server still serves, uncounted; the tagged one counts
    gateway.wait_workers(2)
    assert gateway.get("/", host="b.example.com") == 200
    assert gateway.get("/files/x") == 200
    doc = wait_report(
        gateway, lambda d: server_of(d, "a.example.com")["requests"] == 1,
        "1 request")
    assert [s["hostname"] for s in doc["servers"]] == ["a.example.com"]

    # a tag put back starts from zero
    gateway.reload(4, body=body(net))
    doc = gateway.wait_generation(4)
    assert server_of(doc, "b.example.com")["requests"] == 0
    assert gateway.errors() == []


def vm_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError(f"no VmRSS for {pid}")


def test_fifty_reloads_under_load_lose_no_count(gateway, net):
    """Each reload renames the files route (rule=N), so every reload
    creates a series and frees one; the zone must not grow."""
    stop = threading.Event()
    sent = {"ok": 0, "errors": []}

    def load():
        while not stop.is_set():
            status = gateway.get("/files/load")
            if status == 200:
                sent["ok"] += 1
            else:
                sent["errors"].append(status)

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        zone = gateway.status()["zone"]
        rss = None
        for generation in range(2, 52):
            gateway.reload(generation, body=body(net, rule=str(generation)))
            gateway.wait_generation(generation)
            if generation == 11:
                rss = vm_rss_kb(gateway.proc.pid)
            assert gateway.alive()
    finally:
        stop.set()
        thread.join(timeout=30)

    assert not thread.is_alive()
    assert sent["errors"] == []
    assert sent["ok"] > 50
    gateway.wait_workers(2)

    doc = wait_report(
        gateway,
        lambda d: server_of(d, "a.example.com")["requests"] >= sent["ok"],
        f"{sent['ok']} requests")
    a = server_of(doc, "a.example.com")
    assert a["requests"] == sent["ok"]
    assert a["responses"] == responses(c2xx=sent["ok"])
    [live] = peers_of(doc, "default/live:8080")
    assert live["requests"] == sent["ok"]
    assert sorted((r["route"], r["rule"] or "") for r in doc["routes"]) == [
        ("default/dead", ""), ("default/files", "51")]
    assert route_of(doc, "default/files", "51")["requests"] <= sent["ok"]

    assert doc["zone"] == zone
    # the master's memory after 10 reloads and after 50: bounded (the
    # first reloads warm up its allocator)
    grown = vm_rss_kb(gateway.proc.pid) - rss
    assert grown < 2048, f"master VmRSS grew by {grown} kB in 40 reloads"
    assert gateway.errors() == []


def test_full_zone_counts_what_fits_and_says_so(gateway, net):
    locations = "".join(
        f"        location /r{i} {{ gateway_route_tag route=default/r{i};"
        " return 204; }\n" for i in range(400))
    text = body(net).replace("        location / { return 404; }\n",
                             locations + "        location / { return 404; }\n")
    gateway.reload(2, body=text, zone="    gateway_status_zone 32k;\n")
    doc = gateway.wait_generation(2)

    zone = doc["zone"]
    assert zone["size"] == 32 * 1024
    assert zone["unallocated"] > 0
    # 2 servers, 402 routes, 2 upstreams with a peer each
    assert zone["series"] + zone["unallocated"] == 408
    assert zone["used_pages"] == zone["total_pages"]
    assert len(doc["routes"]) < 402
    assert "is full" in gateway.error_log.read_text()

    # a route that fits counts; nginx serves the others all the same
    gateway.wait_workers(2)
    assert gateway.get("/r0") == 204 and gateway.get("/r399") == 204
    wait_report(gateway,
                lambda d: route_of(d, "default/r0")["requests"] == 1,
                "r0 counted")
    assert gateway.alerts() == []


@pytest.mark.parametrize("directive, message", [
    ("gateway_server_tag gateway=a/b;",
     '"gateway_server_tag" needs "listener="'),
    ("gateway_server_tag gateway=a/b listener=l color=red;",
     'unknown key "color" in "gateway_server_tag"'),
    ("gateway_server_tag gateway=a/b listener=l listener=m;",
     'duplicate key "listener" in "gateway_server_tag"'),
    ("gateway_server_tag gateway=a/b listener;",
     'invalid parameter "listener" in "gateway_server_tag", '
     'it must be key=value'),
    ("gateway_server_tag gateway= listener=l;",
     'invalid length of "gateway" in "gateway_server_tag"'),
    ('gateway_server_tag gateway=a/b listener=l "hostname=a\\"b";',
     'invalid character in "hostname" in "gateway_server_tag"'),
    ("gateway_server_tag gateway=a/b listener=l;"
     " gateway_server_tag gateway=a/b listener=m;",
     '"gateway_server_tag" directive is duplicate'),
    ("gateway_backend_tag backend=a/b:80;",
     '"gateway_backend_tag" directive is not allowed here'),
    ("location /x { gateway_route_tag rule=1; }",
     '"gateway_route_tag" needs "route="'),
    ("location /x { gateway_route_tag route=a/b; gateway_route_tag"
     " route=a/c; }", '"gateway_route_tag" directive is duplicate'),
])
def test_invalid_tags_fail_config_test(workdir, directive, message):
    require_module()
    n = Nginx(workdir)
    rc, out = n.check(n.render(1, server_extra=f"        {directive}\n"))
    assert rc != 0, out
    assert message in out
    assert "test failed" in out


def test_long_value_and_small_zone_fail_config_test(workdir):
    n = Nginx(workdir)
    long = "h" * 513
    rc, out = n.check(n.render(1, server_extra=(
        f"        gateway_server_tag gateway=a/b listener=l"
        f" hostname={long};\n")))
    assert rc != 0
    assert 'invalid length of "hostname"' in out

    rc, out = n.check(n.render(
        1, http_extra="    gateway_status_zone 16k;\n"))
    assert rc != 0
    assert '"gateway_status_zone" of 16384 bytes is too small' in out


def test_valid_tags_pass_config_test(workdir):
    n = Nginx(workdir)
    rc, out = n.check(n.render(1, server_extra=(
        "        gateway_server_tag listener=l hostname=*.example.com"
        " gateway=ns/name;\n"
        "        location /x { gateway_route_tag rule=3 route=ns/r; }\n")))
    assert rc == 0, out


def test_reload_with_other_zone_size_starts_from_zero(gateway, net):
    assert gateway.get("/files/a") == 200
    wait_report(gateway,
                lambda d: server_of(d, "a.example.com")["requests"] == 1,
                "1 request")
    gateway.reload(2, zone="    gateway_status_zone 2m;\n")
    doc = gateway.wait_generation(2)
    assert doc["zone"]["size"] == 2 * 1024 * 1024
    assert server_of(doc, "a.example.com")["requests"] == 0
    assert gateway.errors() == []


def test_module_without_tags_reports_empty_lists(nginx):
    doc = nginx.status()
    assert doc["servers"] == [] and doc["routes"] == []
    assert doc["upstreams"] == []
    assert doc["zone"]["series"] == 0
    # the start-up polls of the status socket, counted in the total only;
    # a request is counted in its log phase, after its response went out,
    # so the last poll may not be counted yet when the next one is read
    deadline = time.monotonic() + 5
    while doc["requests"]["total"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
        doc = nginx.status()
    assert doc["requests"]["total"] >= 1, doc["requests"]
