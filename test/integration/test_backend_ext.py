"""HTTPRoute backends through nginx: Service appProtocol kubernetes.io/h2c
and kubernetes.io/ws, rules[].timeouts and rules[].retry (Gateway API
v1.6.1; upstream tests httproute-backend-protocol-h2c.go,
-websocket.go, httproute-timeout-request.go,
httproute-timeout-backend-request.go, httproute-retry.go).

The games walkthrough runs with one more Service, default/app, whose
ports lead to local backends on the mario address:

    80 -> 8080  the conformance echo (test/backends/echo.py: ?delay=,
                /status/NNN, one log line per request it receives)
    81 -> 8081  an HTTP/2-cleartext-only echo (backend_servers.py h2c)
    82 -> 8082  a WebSocket echo (backend_servers.py ws)
    83          appProtocol example.com/custom: not one nginx speaks

and one HTTPRoute, backend.example.com, with a rule per feature.
"""

import base64
import http.client
import json
import os
import socket
import subprocess

import pytest

from conftest import (GW_PORT, MARIO_PORT, PYTHON, REPO, Backend, cond,
                      route_parent, wait_for)

HOST = "backend.example.com"
SERVERS = REPO / "test" / "integration" / "backend_servers.py"
H2C_PORT = 8081
WS_PORT = 8082

SERVICE = """
apiVersion: v1
kind: Service
metadata:
  name: app
  namespace: default
spec:
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: h2c, port: 81, targetPort: 8081, appProtocol: kubernetes.io/h2c}
  - {name: ws, port: 82, targetPort: 8082, appProtocol: kubernetes.io/ws}
  - {name: other, port: 83, targetPort: 8083,
     appProtocol: example.com/custom}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: app-1
  namespace: default
  labels:
    kubernetes.io/service-name: app
addressType: IPv4
ports:
- {name: http, port: %(http)d, protocol: TCP}
- {name: h2c, port: %(h2c)d, protocol: TCP}
- {name: ws, port: %(ws)d, protocol: TCP}
- {name: other, port: 8083, protocol: TCP}
endpoints:
- addresses: ["%(addr)s"]
  conditions:
    ready: true
"""

ROUTE = """
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: backend-ext
  namespace: default
spec:
  parentRefs:
  - name: game-gateway
  hostnames: [backend.example.com]
  rules:
  - matches: [{path: {type: PathPrefix, value: /h2c}}]
    backendRefs: [{name: app, port: 81}]
  - matches: [{path: {type: PathPrefix, value: /ws}}]
    backendRefs: [{name: app, port: 82}]
  - matches: [{path: {type: PathPrefix, value: /request-timeout}}]
    timeouts: {request: 500ms}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /disable-request-timeout}}]
    timeouts: {request: 0s}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /backend-timeout}}]
    timeouts: {backendRequest: 500ms}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /retry-500}}]
    retry: {codes: [500], attempts: 3}
    filters:
    - type: URLRewrite
      urlRewrite:
        path: {type: ReplacePrefixMatch, replacePrefixMatch: /status}
    backendRefs: [{name: app, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /unsupported}}]
    backendRefs: [{name: app, port: 83}]
  - matches: [{path: {type: PathPrefix, value: /bad-timeout}}]
    timeouts: {request: 1s, backendRequest: 2s}
    backendRefs: [{name: app, port: 80}]
"""


def request(stack, path, headers=(), timeout=10):
    """(status, body) of GET path on backend.example.com."""
    conn = http.client.HTTPConnection(stack.net.gw, GW_PORT,
                                      timeout=timeout)
    try:
        conn.putrequest("GET", path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", HOST)
        for name, value in headers:
            conn.putheader(name, value)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, resp.read().decode(errors="replace")
    finally:
        conn.close()


def server(stack, kind, port):
    addr = stack.net.mario
    argv = [PYTHON, SERVERS, kind, "--listen", f"{addr}:{port}",
            "--pod", f"{kind}-pod"]
    return stack.procs.add(Backend(argv, stack.tmp / f"{kind}.log", addr,
                                   port)).start()


@pytest.fixture
def backend(stack):
    stack.echo_backend = stack.echo("mario", "default", "echo-pod")
    server(stack, "h2c", H2C_PORT)
    stack.ws_backend = server(stack, "ws", WS_PORT)
    stack.serve("tetris")
    stack.manifests.write("app.yaml", SERVICE % {
        "addr": stack.net.mario, "http": MARIO_PORT, "h2c": H2C_PORT,
        "ws": WS_PORT})
    stack.manifests.write("backend-ext.yaml", ROUTE)
    stack.start_controller()
    wait_for(lambda: request(stack, "/request-timeout")[0] == 200,
             what="the backend-ext route to be live")
    return stack


def echo_requests(stack, path):
    """How many requests for path the echo backend received."""
    want = f"request made to {path} to client"
    return stack.echo_backend.text().count(want)


# ----------------------------------------------------------- appProtocol

def test_h2c_backend_gets_http2_from_an_http1_client(backend):
    code, body = request(backend, "/h2c/some?x=1")
    assert code == 200, body[:300]
    seen = json.loads(body)
    assert seen["proto"] == "HTTP/2.0", seen
    assert seen["path"] == "/h2c/some?x=1", seen
    assert seen["pod"] == "h2c-pod", seen
    assert seen["headers"]["Host"] == [HOST], seen


def test_h2c_backend_route_takes_http2_prior_knowledge_clients(backend):
    """A listener with a route to h2c backends takes h2c too (the port's
    front tells the HTTP/2 preface from HTTP/1.x), as the conformance
    test HTTPRouteBackendProtocolH2C sends it; HTTP/1.1 stays served."""
    res = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "--max-time", "10",
         "-w", "\n%{http_version} %{http_code}",
         "--resolve", f"{HOST}:{GW_PORT}:{backend.net.gw}",
         f"http://{HOST}:{GW_PORT}/h2c/prior"],
        capture_output=True, text=True, timeout=20)
    body, _, last = res.stdout.rpartition("\n")
    assert last == "2 200", (res.stdout[-300:], res.stderr)
    seen = json.loads(body)
    assert seen["proto"] == "HTTP/2.0" and seen["pod"] == "h2c-pod", seen

    code, _ = request(backend, "/h2c/again")
    assert code == 200


def ws_handshake(stack, path="/ws"):
    s = socket.create_connection((stack.net.gw, GW_PORT), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    return s, s.makefile("rb")


def test_websocket_upgrade_reaches_the_ws_backend(backend):
    s, f = ws_handshake(backend)
    try:
        status = f.readline()
        assert status.startswith(b"HTTP/1.1 101"), status
        while f.readline() not in (b"\r\n", b""):
            pass
        msg, mask = b"hello gateway", os.urandom(4)
        s.sendall(bytes([0x81, 0x80 | len(msg)]) + mask
                  + bytes(b ^ mask[i % 4] for i, b in enumerate(msg)))
        head = f.read(2)
        assert head[0] == 0x81, head
        assert f.read(head[1] & 0x7F) == b"echo: hello gateway"
    finally:
        s.close()


def test_plain_requests_to_ws_backend_keep_the_upstream_connection(backend):
    seen = [json.loads(request(backend, "/ws/plain")[1]) for _ in range(5)]
    for s in seen:
        # no upgrade asked: nothing that would close or upgrade the
        # backend connection is sent
        assert "Upgrade" not in s["headers"], s
        assert "Connection" not in s["headers"], s
    # nginx keeps its connections to the backend (one per worker at
    # most here): some request arrives on a connection that already
    # carried one
    assert max(s["requests_on_connection"] for s in seen) > 1, seen


def test_unsupported_app_protocol_answers_500_and_says_why(backend):
    code, _ = request(backend, "/unsupported")
    assert code == 500
    st = backend.controller.status()
    rr = cond(route_parent(st, "backend-ext")[1]["conditions"],
              "ResolvedRefs")
    assert rr["status"] == "False" and rr["reason"] == "UnsupportedProtocol", rr
    assert "example.com/custom" in rr["message"], rr


# -------------------------------------------------------------- timeouts

def test_request_timeout_answers_504(backend):
    assert request(backend, "/request-timeout?delay=100ms")[0] == 200
    code, _ = request(backend, "/request-timeout?delay=3s")
    assert code == 504


def test_backend_request_timeout_answers_504(backend):
    assert request(backend, "/backend-timeout?delay=100ms")[0] == 200
    code, _ = request(backend, "/backend-timeout?delay=3s")
    assert code == 504


def test_disabled_request_timeout_waits_for_the_backend(backend):
    code, body = request(backend, "/disable-request-timeout?delay=1s")
    assert code == 200, body[:300]


def test_backend_timeout_longer_than_request_drops_the_rule(backend):
    st = backend.controller.status()
    pi = cond(route_parent(st, "backend-ext")[1]["conditions"],
              "PartiallyInvalid")
    assert pi is not None and pi["status"] == "True", pi
    assert "cannot be longer than request timeout" in pi["message"], pi
    assert request(backend, "/bad-timeout")[0] == 404


# --------------------------------------------------------------- retries

def test_retry_tries_attempts_plus_one_times_then_answers_the_error(backend):
    before = echo_requests(backend, "/status/500")
    code, _ = request(backend, "/retry-500/500")
    assert code == 500
    # one try and three retries, each logged by the echo backend before
    # it answered (so all of them are in its log by now)
    assert echo_requests(backend, "/status/500") - before == 4


def test_codes_not_listed_are_not_retried(backend):
    before = echo_requests(backend, "/status/503")
    code, _ = request(backend, "/retry-500/503")
    assert code == 503
    assert echo_requests(backend, "/status/503") - before == 1
