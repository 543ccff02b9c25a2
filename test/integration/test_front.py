"""Port fronts: one TCP port carried by two kinds of listener.

One Gateway `front` on the test's loopback block (ports shifted by
PORT_OFFSET without root):

    https  9443 HTTPS  secure.example.com (nginx terminates TLS in http{})
    tls    9443 TLS    *.pass.example.com, Passthrough: TLSRoute
                       app.pass.example.com -> the `pass` TLS backend
    http   9080 HTTP   HTTPRoute `web` (the echo backend) and GRPCRoute
                       `grpc` (grpc.example.com, echo.Echo, a grpcio
                       server): HTTP/1.1 and h2c

A stream{} server owns each port: on 9443 ssl_preread sends a connection
by its server name to the HTTPS server (a unix socket of http{}) or,
untouched, to the passthrough server; on 9080 our module's
gateway_preface sends the HTTP/2 preface to an `http2` socket and the
rest to an HTTP/1.x one.  PROXY protocol and the realip module keep the
client's address: the clients here connect from 127.0.X.2, and the echo
backend must see that address in X-Forwarded-For.
"""

import base64
import json
import socket
import ssl
import subprocess
from concurrent import futures
from pathlib import Path

import grpc
import pytest
import yaml

from conftest import (MARIO_PORT, PORT_OFFSET, Controller, cond, find_item,
                      listener, wait_for)
from test_l4 import Servers, TLSBackend, peer_cn, s_client, self_signed

NAMESPACE = "default"
SHARED, HTTP = 9443, 9080
BACKEND_TLS = 7443
BACKEND_GRPC = 50051
SECURE = "secure.example.com"
PASS = "app.pass.example.com"
GRPC_HOST = "grpc.example.com"


# --------------------------------------------------------------- backends

def grpc_server(addr, port):
    """/echo.Echo/Hello answers b"hello " + the request's bytes."""

    def hello(request, context):
        return b"hello " + request

    handler = grpc.method_handlers_generic_handler("echo.Echo", {
        "Hello": grpc.unary_unary_rpc_method_handler(
            hello, request_deserializer=None, response_serializer=None),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"{addr}:{port}")
    server.start()
    return server


# --------------------------------------------------------------- manifests

def service(name, addr, port):
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": NAMESPACE},
         "spec": {"ports": [{"name": "p", "port": port}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-1", "namespace": NAMESPACE,
                      "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4",
         "ports": [{"name": "p", "port": port}],
         "endpoints": [{"addresses": [addr],
                        "conditions": {"ready": True}}]},
    ]


def route(kind, name, sections, backend, port, hostnames=None,
          version="v1", matches=None):
    rule = {"backendRefs": [{"name": backend, "port": port}]}
    if matches:
        rule["matches"] = matches
    spec = {"parentRefs": [{"name": "front", "sectionName": s}
                           for s in sections],
            "rules": [rule]}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": f"gateway.networking.k8s.io/{version}",
            "kind": kind, "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": spec}


def manifests(net, crt, key):
    b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()
    listeners = [
        {"name": "https", "port": SHARED, "protocol": "HTTPS",
         "hostname": SECURE,
         "tls": {"certificateRefs": [{"name": "secure-cert"}]}},
        {"name": "tls", "port": SHARED, "protocol": "TLS",
         "hostname": "*.pass.example.com", "tls": {"mode": "Passthrough"}},
        {"name": "http", "port": HTTP, "protocol": "HTTP"},
    ]
    docs = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "front"},
         "spec": {"controllerName": "ngx-gateway.io/gateway-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "front", "namespace": NAMESPACE},
         "spec": {"gatewayClassName": "front", "listeners": listeners}},
        {"apiVersion": "v1", "kind": "Secret",
         "metadata": {"name": "secure-cert", "namespace": NAMESPACE},
         "type": "kubernetes.io/tls",
         "data": {"tls.crt": b64(crt), "tls.key": b64(key)}},
    ]
    docs += service("echo", net.mario, MARIO_PORT)
    docs += service("pass", net.tetris, BACKEND_TLS)
    docs += service("grpc", net.tetris, BACKEND_GRPC)
    docs += [
        route("HTTPRoute", "web", ["https", "http"], "echo", MARIO_PORT),
        route("TLSRoute", "pass", ["tls"], "pass", BACKEND_TLS,
              hostnames=[PASS], version="v1alpha2"),
        route("GRPCRoute", "grpc", ["http"], "grpc", BACKEND_GRPC,
              hostnames=[GRPC_HOST],
              matches=[{"method": {"service": "echo.Echo"}}]),
    ]
    return docs


# --------------------------------------------------------------- fixture

class Front:
    def __init__(self, stack, controller):
        self.stack = stack
        self.net = stack.net
        self.controller = controller
        self.shared = SHARED + PORT_OFFSET
        self.http = HTTP + PORT_OFFSET


@pytest.fixture
def front(stack):
    tmp = Path(stack.tmp)
    servers = Servers()
    grpcs = None
    try:
        stack.echo("mario", NAMESPACE, "echo-1")
        cert, key = self_signed(tmp, PASS)
        servers.add(TLSBackend((stack.net.tetris, BACKEND_TLS), "pass",
                               cert, key))
        grpcs = grpc_server(stack.net.tetris, BACKEND_GRPC)

        crt, key = self_signed(tmp, SECURE)
        mdir = tmp / "front"
        mdir.mkdir()
        (mdir / "front.yaml").write_text(
            yaml.safe_dump_all(manifests(stack.net, crt, key),
                               sort_keys=False))

        c = Controller(mdir, stack.state_dir, tmp / "controller.log",
                       stack.net)
        stack.controller = stack.procs.add(c)
        c.start()
        yield Front(stack, c)
    finally:
        stack.procs.teardown()
        if grpcs is not None:
            grpcs.stop(None)
        servers.close()


# --------------------------------------------------------------- clients

def http_request(sock, host, path="/"):
    """One HTTP/1.1 GET on sock: (status, body)."""
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n"
                 f"Connection: close\r\n\r\n".encode())
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode("utf-8", "replace")


def get(f, port, host, tls=False):
    """GET / from 127.0.X.2, the client address nginx must pass on."""
    raw = socket.create_connection((f.net.gw, port), timeout=5,
                                   source_address=(f.net.gw2, 0))
    if not tls:
        with raw:
            return http_request(raw, host)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with ctx.wrap_socket(raw, server_hostname=host) as s:
        return http_request(s, host)


def forwarded_for(body):
    headers = json.loads(body)["headers"]
    for name, value in headers.items():
        if name.lower() == "x-forwarded-for":
            return value[0] if isinstance(value, list) else value
    return None


def channel(f):
    return grpc.insecure_channel(
        f"{f.net.gw}:{f.http}",
        options=[("grpc.default_authority", GRPC_HOST)])


def grpc_hello(f, payload):
    with channel(f) as ch:
        call = ch.unary_unary("/echo.Echo/Hello")
        return call(payload, timeout=5)


# --------------------------------------------------------------- tests

def test_listeners_share_ports_without_conflict(front):
    st = front.controller.status()
    for name in ("https", "tls", "http"):
        _, lst = listener(st, name, gateway="front")
        for ctype, want in (("Accepted", "True"), ("Programmed", "True"),
                            ("Conflicted", "False")):
            assert cond(lst["conditions"], ctype)["status"] == want, lst
    for kind, name in (("HTTPRoute", "web"), ("TLSRoute", "pass"),
                       ("GRPCRoute", "grpc")):
        r = find_item(st, kind, name, NAMESPACE)
        for parent in r["status"]["parents"]:
            c = cond(parent["conditions"], "Accepted")
            assert c["status"] == "True", r
            assert "no traffic" not in c["message"], r


def test_https_name_reaches_http_with_client_address(front):
    code, body = wait_for(
        lambda: (lambda r: r if r[0] == 200 else None)(
            get(front, front.shared, SECURE, tls=True)),
        what="HTTPS through the front")
    assert json.loads(body)["host"] == SECURE
    assert forwarded_for(body) == front.net.gw2


def test_https_listener_certificate_for_its_name(front):
    rc, out = s_client(front.net.gw, front.shared, SECURE)
    assert peer_cn(out) == SECURE, out


def test_passthrough_name_reaches_backend_untouched(front):
    # the backend's own certificate: nginx did not terminate TLS
    rc, out = s_client(front.net.gw, front.shared, PASS)
    assert peer_cn(out) == PASS, out


def test_passthrough_name_without_route_is_closed(front):
    rc, out = s_client(front.net.gw, front.shared, "other.pass.example.com")
    assert peer_cn(out) is None, out


def test_unknown_name_gets_the_https_catch_all(front):
    rc, out = s_client(front.net.gw, front.shared, "unknown.example.org")
    assert peer_cn(out) == SECURE, out


def test_http1_and_grpc_on_one_port(front):
    code, body = get(front, front.http, "www.example.com")
    assert code == 200, body
    assert forwarded_for(body) == front.net.gw2
    assert grpc_hello(front, b"front") == b"hello front"
    # and HTTP/1.1 again after h2c, on new connections
    code, body = get(front, front.http, "www.example.com")
    assert code == 200, body


def test_h2c_prior_knowledge_reaches_http_routes(front):
    # any HTTP/2 client with prior knowledge, not only gRPC: the HTTPRoute
    res = subprocess.run(
        ["curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null",
         "-w", "%{http_version} %{http_code}",
         "--interface", front.net.gw2,
         f"http://{front.net.gw}:{front.http}/h2c"],
        capture_output=True, text=True, timeout=20)
    assert res.stdout == "2 200", res.stderr
