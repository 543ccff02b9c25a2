"""examples/mixed-gateway: the seed's mixed gateway with real clients.

Both ways the example runs (run.sh and run.sh --seed), on the test's block
of loopback addresses: the Gateway on 127.0.X.1 (ports shifted by
PORT_OFFSET without root), every backend on 127.0.X.11 at the example's
ports instead of 127.0.0.1:

    seed      seed/mixed-gateway.yaml as written: HTTP 80, HTTPS 443
              (Terminate), gRPC on the HTTP listener 50051 next to
              HTTP/1.1, TCP 3306 carry traffic; the TLSRoute is refused
              (NotAllowedByListeners: no listener takes TLSRoutes)
    example   gateway.yaml + routes.yaml: the same, and the TLS
              Passthrough listener on 443 beside HTTPS (tls.example.com
              passes through to the backend untouched)

Clients: http.client and ssl for HTTP and HTTPS, openssl s_client
-servername, python3-grpcio and a TCP socket.
"""

import shutil
import socket
import ssl
import subprocess
from pathlib import Path

import grpc
import pytest

from conftest import (PORT_OFFSET, PYTHON, REPO, Backend, Controller, cond,
                      find_item, listener)
from test_l4 import Servers, TLSBackend, peer_cn, s_client, self_signed

EXAMPLE = REPO / "examples" / "mixed-gateway"
BACKENDS = EXAMPLE / "backends"
SERVE = REPO / "examples" / "games" / "backends" / "serve.py"
MAKE_SECRET = REPO / "examples" / "cert-manager" / "standalone" / \
    "make-secret.sh"
CONTROLLER = "nginx.org/gateway-controller"
WEB = "<title>mixed-gateway web</title>"


class Mixed:
    def __init__(self, variant, net, controller):
        self.variant = variant
        self.net = net
        self.controller = controller

    def port(self, p):
        return p + PORT_OFFSET


def copy_example(dest, variant, net):
    dest.mkdir()
    if variant == "seed":
        shutil.copy(EXAMPLE / "seed" / "mixed-gateway.yaml", dest)
    else:
        shutil.copy(EXAMPLE / "gateway.yaml", dest)
        shutil.copy(EXAMPLE / "routes.yaml", dest)
    text = (EXAMPLE / "backends.yaml").read_text()
    assert "127.0.0.1" in text
    (dest / "backends.yaml").write_text(text.replace("127.0.0.1", net.mario))
    subprocess.run(["bash", MAKE_SECRET, "example.com", dest / "secret.yaml"],
                   check=True, capture_output=True)


@pytest.fixture(params=["seed", "example"])
def mixed(request, stack):
    variant = request.param
    net = stack.net
    tmp = Path(stack.tmp)
    servers = Servers()
    try:
        for argv, port in (
            ([SERVE, "--root", BACKENDS / "web"], 9080),
            ([BACKENDS / "grpc_status.py"], 9051),
            ([BACKENDS / "line_echo.py", "--name", "mysql-db"], 9306),
            ([BACKENDS / "line_echo.py", "--name", "db-proxy"], 9307),
        ):
            stack.procs.add(Backend(
                [PYTHON, *argv, "--listen", f"{net.mario}:{port}"],
                tmp / f"backend-{port}.log", net.mario, port)).start()
        cert, key = self_signed(tmp, "tls.example.com")
        servers.add(TLSBackend((net.mario, 9443), "secure-svc", cert, key))

        mdir = tmp / "mixed"
        copy_example(mdir, variant, net)
        c = Controller(mdir, stack.state_dir, tmp / "controller.log", net,
                       extra=("--controller-name", CONTROLLER))
        stack.controller = stack.procs.add(c)
        c.start()
        yield Mixed(variant, net, c)
    finally:
        stack.procs.teardown()
        servers.close()


# --------------------------------------------------------------- clients

def http_get(m, port, host, tls=False):
    """GET / (SNI host with tls): (status, body)."""
    raw = socket.create_connection((m.net.gw, m.port(port)), timeout=5)
    sock = raw
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        sock = ctx.wrap_socket(raw, server_hostname=host)
    with sock:
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n"
                     f"Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body.decode("utf-8", "replace")


def get_status(m, payload):
    with grpc.insecure_channel(f"{m.net.gw}:{m.port(50051)}") as ch:
        return ch.unary_unary("/my.grpc.Service/GetStatus")(payload,
                                                            timeout=5)


def tcp_line(m, line):
    with socket.create_connection((m.net.gw, m.port(3306)), timeout=5) as s:
        f = s.makefile("rwb")
        f.write(line + b"\n")
        f.flush()
        return f.readline()


def parent_cond(st, kind, name, ctype):
    r = find_item(st, kind, name, "default")
    (parent,) = r["status"]["parents"]
    c = cond(parent["conditions"], ctype)
    return c["status"], c["reason"]


# --------------------------------------------------------------- tests

def test_http_listener_serves_web(mixed):
    code, body = http_get(mixed, 80, "mixed.example.com")
    assert (code, WEB in body) == (200, True), body


def test_https_listener_terminates_and_serves_web(mixed):
    code, body = http_get(mixed, 443, "example.com", tls=True)
    assert (code, WEB in body) == (200, True), body
    rc, out = s_client(mixed.net.gw, mixed.port(443), "example.com")
    assert peer_cn(out) == "example.com", out


def test_grpc_and_http1_on_the_grpc_listener(mixed):
    assert get_status(mixed, b"ping") == b"grpc-service: OK ping"
    code, body = http_get(mixed, 50051, "mixed.example.com")
    assert (code, WEB in body) == (200, True), body


def test_tcp_listener_reaches_the_oldest_route(mixed):
    assert tcp_line(mixed, b"SELECT 1;") == b"mysql-db: SELECT 1;\n"


def test_tls_route(mixed):
    st = mixed.controller.status()
    rc, out = s_client(mixed.net.gw, mixed.port(443), "tls.example.com")
    if mixed.variant == "seed":
        # no listener takes TLSRoutes: refused, and 443 is HTTPS only
        assert parent_cond(st, "TLSRoute", "tls-app", "Accepted") == (
            "False", "NotAllowedByListeners")
        assert peer_cn(out) == "example.com", out
    else:
        # passed through untouched: the backend's own certificate
        assert parent_cond(st, "TLSRoute", "tls-app", "Accepted") == (
            "True", "Accepted")
        assert peer_cn(out) == "tls.example.com", out


def test_status_of_listeners_and_routes(mixed):
    st = mixed.controller.status()
    gw = find_item(st, "Gateway", "mixed-gateway", "default")
    assert cond(gw["status"]["conditions"], "Programmed")["status"] == "True"
    names = ["http", "tls", "grpc", "tcp"]
    if mixed.variant == "example":
        names.append("tls-passthrough")
    for name in names:
        _, lst = listener(st, name, gateway="mixed-gateway")
        for ctype, want in (("Accepted", "True"), ("Programmed", "True"),
                            ("Conflicted", "False")):
            assert cond(lst["conditions"], ctype)["status"] == want, lst
    for kind, name in (("HTTPRoute", "web-http"), ("GRPCRoute", "grpc-api"),
                       ("TCPRoute", "tcp-db"), ("TCPRoute", "db-forward")):
        r = find_item(st, kind, name, "default")
        for parent in r["status"]["parents"]:
            c = cond(parent["conditions"], "Accepted")
            assert c["status"] == "True", r
            assert "no traffic" not in c["message"], r
