"""The admin endpoint of `ngx-gateway run -f` (standalone): /healthz,
/readyz, /metrics, and what it answers to anything else.

The controller listens on a free port of 127.0.0.1 (--admin-address
127.0.0.1:0) and logs it: `admin endpoint listening ... port=N`.
"""

import http.client
import re
import subprocess

import pytest

from conftest import GW_PORT, START_DEADLINE, occupied, wait_for

MARIO = "<title>Super Mario</title>"
TETRIS = "<title>Tetris</title>"

METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"

ARCADE = """\
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: arcade-gateway
  namespace: default
spec:
  gatewayClassName: nginx-gateway
  addresses:
  - type: IPAddress
    value: {addr}
  listeners:
  - name: web
    port: 80
    protocol: HTTP
"""


@pytest.fixture
def busy(stack):
    """An address of the test's block whose port 80 (+offset) another
    process holds, so that nginx cannot listen there: the controller
    cannot know it (`nginx -t` passes), the reload fails."""
    with occupied(stack.net.gw2, GW_PORT):
        yield stack.net.gw2


def admin_port(c):
    found = wait_for(lambda: c.log_find(msg="admin endpoint listening")
                     or not c.running(), timeout=START_DEADLINE,
                     what="admin endpoint listening")
    assert c.running(), c.text()
    return int(found[0]["port"])


def admin(port, path, method="GET"):
    """(status, headers, body) of a request to the admin endpoint."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return (resp.status, {k.lower(): v for k, v in resp.getheaders()},
                resp.read().decode("utf-8", "replace"))
    finally:
        conn.close()


def metric(port, name, required=True, **labels):
    """Sum of the samples of name (with these labels) in /metrics; a
    labelled counter has no sample before its first increment (0 then,
    unless required)."""
    _, _, text = admin(port, "/metrics")
    total, seen = 0.0, False
    for line in text.splitlines():
        m = re.match(r'^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)', line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                               m.group(2) or ""))
        if all(have.get(k) == str(v) for k, v in labels.items()):
            total += float(m.group(3))
            seen = True
    assert seen or not required, f"no {name} {labels} in /metrics:\n{text}"
    return total


def start(stack):
    stack.serve("mario")
    stack.serve("tetris")
    c = stack.start_controller("--admin-address", "127.0.0.1:0")
    stack.wait_get("/mario", 200, MARIO)
    return c, admin_port(c)


def test_not_ready_until_a_configuration_is_live(stack, busy):
    """A Gateway nginx cannot listen for: alive, not ready, and /readyz
    says why; once fixed, ready."""
    m = stack.manifests
    gw = m.read("gateway.yaml")
    m.write("gateway.yaml", gw.replace(
        "spec:\n  gatewayClassName: nginx-gateway\n  listeners:",
        f"spec:\n  gatewayClassName: nginx-gateway\n  addresses:\n"
        f"  - type: IPAddress\n    value: {busy}\n  listeners:", 1))
    assert busy in m.read("gateway.yaml")
    stack.serve("mario")
    c = stack.start_controller("--admin-address", "127.0.0.1:0", wait=False)
    port = admin_port(c)

    wait_for(lambda: c.log_has(msg="configuration rejected, the last good "
                               "one keeps serving") or not c.running(),
             timeout=START_DEADLINE, what="the configuration rejected")
    code, _, body = admin(port, "/readyz")
    assert code == 503, body
    assert "not ready" in body and busy in body, body
    code, _, body = admin(port, "/healthz")
    assert (code, body) == (200, "ok\n")
    assert metric(port, "ngx_gateway_reload_failures_total") >= 1

    m.write("gateway.yaml", gw)
    wait_for(lambda: admin(port, "/readyz")[0] == 200,
             timeout=START_DEADLINE, what="/readyz 200")
    stack.wait_get("/mario", 200, MARIO)


def test_metrics_count_reloads_and_failures(stack, busy):
    c, port = start(stack)
    code, headers, text = admin(port, "/metrics")
    assert code == 200
    assert headers["content-type"] == METRICS_TYPE, headers
    assert "# TYPE ngx_gateway_reloads_total counter" in text, text

    # an edit: one more reload
    reloads = metric(port, "ngx_gateway_reloads_total")
    m = stack.manifests
    m.write("httproute.yaml",
            m.read("httproute.yaml").replace("value: /tetris",
                                             "value: /blocks"))
    stack.wait_get("/blocks", 200, TETRIS)
    wait_for(lambda: metric(port, "ngx_gateway_reloads_total") > reloads,
             what="ngx_gateway_reloads_total increased")

    # a configuration nginx rejects: a failure counted, still ready (the
    # last good configuration serves)
    failures = metric(port, "ngx_gateway_reload_failures_total",
                      required=False)
    m.write("arcade.yaml", ARCADE.format(addr=busy))
    wait_for(lambda: metric(port, "ngx_gateway_reload_failures_total")
             > failures, what="ngx_gateway_reload_failures_total increased")
    code, _, body = admin(port, "/readyz")
    assert (code, body) == (200, "ok\n")
    code, body = stack.get("/blocks")
    assert code == 200 and TETRIS in body, (code, body[:200])

    # describe says what the data plane runs and why the reload failed;
    # the route says its latest change may not be live
    text = c.status("describe")
    assert "Kind:         DataPlane" in text, text
    assert "refused: the previous configuration serves" in text, text
    assert busy in text, text
    st = c.status("json")
    route = [i for i in st["items"] if i["kind"] == "HTTPRoute"][0]
    prog = [x for x in route["status"]["parents"][0]["conditions"]
            if x["type"] == "Programmed"]
    assert prog and prog[0]["status"] == "False", route["status"]
    assert prog[0]["reason"] == "Pending", prog


def test_metrics_pass_promtool(stack):
    c, port = start(stack)
    stack.get("/mario")
    _, _, text = admin(port, "/metrics")
    res = subprocess.run(["promtool", "check", "metrics"], input=text,
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
    # nginx's own counters are there, named as in the Gateway API
    assert metric(port, "ngx_gateway_nginx_up") == 1
    assert metric(port, "ngx_gateway_nginx_server_requests_total",
                  gateway="game-gateway", listener="http",
                  hostname="game.example.com") >= 1


def test_unknown_paths_and_methods(stack):
    c, port = start(stack)
    code, _, _ = admin(port, "/nope")
    assert code == 404
    for path in ("/metrics", "/healthz"):
        code, headers, _ = admin(port, path, "POST")
        assert code == 405, path
        assert headers.get("allow") == "GET, HEAD", headers
    code, headers, body = admin(port, "/healthz", "HEAD")
    assert code == 200 and body == ""
