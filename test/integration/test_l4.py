"""TCPRoute, UDPRoute and TLSRoute (Passthrough) through nginx's stream{}.

One Gateway on the test's loopback block with five listeners (ports
shifted by PORT_OFFSET without root):

    tcp-echo     9100 TCP   TCPRoutes "old-echo" (echo-a, the oldest) and
                            "a-new-echo" (echo-b): only the oldest gets
                            traffic, both are Accepted
    tcp-weights  9101 TCP   TCPRoute "weights": echo-a weight 3, echo-b 1
    tcp-missing  9102 TCP   TCPRoute "missing": a Service that does not
                            exist, so connections are closed
    udp          9103 UDP   UDPRoute "udp-echo"
    tls          9104 TLS   Passthrough: TLSRoutes a.example.com -> tls-a,
                            b.example.com -> tls-b, *.wild.example.com ->
                            tls-w; any other server name is closed

The backends are threads of this process: TCP servers that echo what
they get and answer "WHO\\n" with their name, a UDP echo, and TLS servers
with their own self-signed certificate (so the certificate
`openssl s_client -servername` sees names the backend that terminated
TLS: nginx only passed the bytes through).
"""

import re
import socket
import socketserver
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
import yaml

from conftest import (DEADLINE, PORT_OFFSET, Controller, cond, find_item,
                      listener, wait_for)

TCP_ECHO, TCP_WEIGHTS, TCP_MISSING, UDP, TLS = 9100, 9101, 9102, 9103, 9104
BACKEND_TCP = 7001
BACKEND_UDP = 7002
BACKEND_TLS = 7443
BACKEND_TLS_W = 7444
NAMESPACE = "default"
TLS_NAMES = {"tls-a": "a.example.com", "tls-b": "b.example.com",
             "tls-w": "any.wild.example.com"}


# --------------------------------------------------------------- backends

class TCPBackend(socketserver.ThreadingTCPServer):
    """Echoes bytes back; "WHO\\n" as the first bytes gets its name."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, name):
        self.name = name
        self.connections = 0
        super().__init__(addr, TCPBackend.Handler)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            self.server.connections += 1
            first = True
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                if first and data == b"WHO\n":
                    self.request.sendall(self.server.name.encode() + b"\n")
                    return
                first = False
                self.request.sendall(data)


class UDPBackend(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr):
        super().__init__(addr, UDPBackend.Handler)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            sock.sendto(b"udp:" + data, self.client_address)


class TLSBackend(socketserver.ThreadingTCPServer):
    """Terminates TLS with its own certificate, then says its name."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, name, cert, key):
        self.name = name
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(cert, key)
        super().__init__(addr, TLSBackend.Handler)

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            try:
                with self.server.ctx.wrap_socket(self.request,
                                                 server_side=True) as s:
                    s.sendall(self.server.name.encode() + b"\n")
                    s.recv(1024)
            except (OSError, ssl.SSLError):
                pass


def self_signed(tmp, cn):
    key, cert = tmp / f"{cn}.key", tmp / f"{cn}.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", f"/CN={cn}", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    return cert, key


class Servers:
    """Starts socketserver instances in threads; stops them all."""

    def __init__(self):
        self.items = []

    def add(self, server):
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        self.items.append((server, t))
        return server

    def close(self):
        for server, t in self.items:
            server.shutdown()
            server.server_close()
            t.join(timeout=10)


# --------------------------------------------------------------- manifests

def service(name, addr, port, protocol="TCP"):
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": NAMESPACE},
         "spec": {"ports": [{"name": "p", "port": port,
                             "protocol": protocol}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-1", "namespace": NAMESPACE,
                      "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4",
         "ports": [{"name": "p", "port": port, "protocol": protocol}],
         "endpoints": [{"addresses": [addr],
                        "conditions": {"ready": True}}]},
    ]


def route(kind, name, section, backends, hostnames=None, created=None):
    md = {"name": name, "namespace": NAMESPACE}
    if created:
        md["creationTimestamp"] = created
    spec = {"parentRefs": [{"name": "l4", "sectionName": section}],
            "rules": [{"backendRefs": [
                {"name": b, "port": p, **({"weight": w} if w else {})}
                for b, p, w in backends]}]}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": "gateway.networking.k8s.io/v1alpha2", "kind": kind,
            "metadata": md, "spec": spec}


def manifests(net):
    lst = [
        ("tcp-echo", TCP_ECHO, "TCP"), ("tcp-weights", TCP_WEIGHTS, "TCP"),
        ("tcp-missing", TCP_MISSING, "TCP"), ("udp", UDP, "UDP"),
    ]
    listeners = [{"name": n, "port": p, "protocol": proto}
                 for n, p, proto in lst]
    listeners.append({"name": "tls", "port": TLS, "protocol": "TLS",
                      "tls": {"mode": "Passthrough"}})
    docs = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "l4"},
         "spec": {"controllerName": "ngx-gateway.io/gateway-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "l4", "namespace": NAMESPACE},
         "spec": {"gatewayClassName": "l4", "listeners": listeners}},
    ]
    docs += service("echo-a", net.mario, BACKEND_TCP)
    docs += service("echo-b", net.tetris, BACKEND_TCP)
    docs += service("udp-echo", net.mario, BACKEND_UDP, "UDP")
    docs += service("tls-a", net.mario, BACKEND_TLS)
    docs += service("tls-b", net.tetris, BACKEND_TLS)
    docs += service("tls-w", net.mario, BACKEND_TLS_W)
    docs += [
        route("TCPRoute", "old-echo", "tcp-echo",
              [("echo-a", BACKEND_TCP, None)],
              created="2024-01-01T00:00:00Z"),
        route("TCPRoute", "a-new-echo", "tcp-echo",
              [("echo-b", BACKEND_TCP, None)],
              created="2024-06-01T00:00:00Z"),
        route("TCPRoute", "weights", "tcp-weights",
              [("echo-a", BACKEND_TCP, 3), ("echo-b", BACKEND_TCP, 1)]),
        route("TCPRoute", "missing", "tcp-missing",
              [("nope", BACKEND_TCP, None)]),
        route("UDPRoute", "udp-echo", "udp",
              [("udp-echo", BACKEND_UDP, None)]),
        route("TLSRoute", "tls-a", "tls", [("tls-a", BACKEND_TLS, None)],
              hostnames=["a.example.com"]),
        route("TLSRoute", "tls-b", "tls", [("tls-b", BACKEND_TLS, None)],
              hostnames=["b.example.com"]),
        route("TLSRoute", "tls-w", "tls", [("tls-w", BACKEND_TLS_W, None)],
              hostnames=["*.wild.example.com"]),
    ]
    return docs


# --------------------------------------------------------------- fixture

class L4:
    def __init__(self, stack, controller, backends):
        self.stack = stack
        self.net = stack.net
        self.controller = controller
        self.backends = backends

    def port(self, p):
        return p + PORT_OFFSET


@pytest.fixture
def l4(stack):
    tmp = Path(stack.tmp)
    servers = Servers()
    try:
        backends = {
            "echo-a": servers.add(TCPBackend((stack.net.mario, BACKEND_TCP),
                                             "A")),
            "echo-b": servers.add(TCPBackend((stack.net.tetris, BACKEND_TCP),
                                             "B")),
        }
        servers.add(UDPBackend((stack.net.mario, BACKEND_UDP)))
        where = {"tls-a": (stack.net.mario, BACKEND_TLS),
                 "tls-b": (stack.net.tetris, BACKEND_TLS),
                 "tls-w": (stack.net.mario, BACKEND_TLS_W)}
        for name, cn in TLS_NAMES.items():
            cert, key = self_signed(tmp, cn)
            servers.add(TLSBackend(where[name], name, cert, key))

        mdir = tmp / "l4"
        mdir.mkdir()
        (mdir / "l4.yaml").write_text(
            yaml.safe_dump_all(manifests(stack.net), sort_keys=False))

        c = Controller(mdir, stack.state_dir, tmp / "controller.log",
                       stack.net)
        stack.controller = stack.procs.add(c)
        c.start()
        yield L4(stack, c, backends)
    finally:
        stack.procs.teardown()
        servers.close()


# --------------------------------------------------------------- clients

def tcp_exchange(addr, port, payload, timeout=5.0):
    """Send payload, half-close, read until the peer closes."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.sendall(payload)
        s.shutdown(socket.SHUT_WR)
        got = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return got
            got += chunk


def closed_at_once(addr, port, timeout=5.0):
    """True when the proxy closes the connection without a byte of data
    (the peer's FIN or RST); False when it answers or holds it open."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        try:
            s.sendall(b"hello\n")
            return s.recv(65536) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def who(addr, port):
    return tcp_exchange(addr, port, b"WHO\n").strip().decode()


def s_client(addr, port, servername):
    """openssl s_client -servername NAME: (exit status, output)."""
    res = subprocess.run(
        ["openssl", "s_client", "-connect", f"{addr}:{port}",
         "-servername", servername],
        input=b"", capture_output=True, timeout=20)
    return res.returncode, (res.stdout + res.stderr).decode("utf-8",
                                                            "replace")


def peer_cn(output):
    m = re.search(r"subject=\s*CN\s*=\s*(\S+)", output)
    return m.group(1) if m else None


# --------------------------------------------------------------- tests

def test_listeners_programmed_and_routes_accepted(l4):
    st = l4.controller.status()
    gw = find_item(st, "Gateway", "l4", NAMESPACE)
    assert cond(gw["status"]["conditions"], "Programmed")["status"] == "True"
    for name in ("tcp-echo", "tcp-weights", "tcp-missing", "udp", "tls"):
        _, lst = listener(st, name, gateway="l4")
        c = cond(lst["conditions"], "Programmed")
        assert (c["status"], c["reason"]) == ("True", "Programmed"), lst
    _, lst = listener(st, "tcp-echo", gateway="l4")
    assert lst["attachedRoutes"] == 2
    _, lst = listener(st, "tls", gateway="l4")
    assert lst["attachedRoutes"] == 3


def test_tcp_bytes_round_trip(l4):
    payload = bytes(range(256)) * 512          # 128 KiB, every byte value
    got = tcp_exchange(l4.net.gw, l4.port(TCP_ECHO), payload)
    assert got == payload


def test_second_tcproute_on_a_listener_gets_no_traffic(l4):
    answers = {who(l4.net.gw, l4.port(TCP_ECHO)) for _ in range(20)}
    assert answers == {"A"}                    # old-echo, the oldest
    assert l4.backends["echo-b"].connections == 0

    st = l4.controller.status()
    for name in ("old-echo", "a-new-echo"):
        r = find_item(st, "TCPRoute", name, NAMESPACE)
        c = cond(r["status"]["parents"][0]["conditions"], "Accepted")
        assert (c["status"], c["reason"]) == ("True", "Accepted"), r


def test_tcp_weights(l4):
    counts = {"A": 0, "B": 0}
    n = 400
    for _ in range(n):
        counts[who(l4.net.gw, l4.port(TCP_WEIGHTS))] += 1
    # weights 3:1: about 300 and 100; generous bounds, both must get some
    assert 0.6 * n <= counts["A"] <= 0.9 * n, counts
    assert counts["B"] > 0, counts


def test_missing_backend_closes_and_resolvedrefs_false(l4):
    assert closed_at_once(l4.net.gw, l4.port(TCP_MISSING))

    st = l4.controller.status()
    r = find_item(st, "TCPRoute", "missing", NAMESPACE)
    parent = r["status"]["parents"][0]
    c = cond(parent["conditions"], "ResolvedRefs")
    assert (c["status"], c["reason"]) == ("False", "BackendNotFound"), r
    assert cond(parent["conditions"], "Accepted")["status"] == "True"


def test_udp_echo(l4):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(2.0)

        def exchange():
            s.sendto(b"ping", (l4.net.gw, l4.port(UDP)))
            try:
                return s.recvfrom(2048)[0]
            except socket.timeout:
                return None
        assert wait_for(exchange, timeout=DEADLINE,
                        what="a UDP answer") == b"udp:ping"


@pytest.mark.parametrize("servername,cn", [
    ("a.example.com", "a.example.com"),
    ("b.example.com", "b.example.com"),
    ("x.wild.example.com", "any.wild.example.com"),
    ("deep.x.wild.example.com", "any.wild.example.com"),
])
def test_tls_passthrough_by_sni(l4, servername, cn):
    rc, out = s_client(l4.net.gw, l4.port(TLS), servername)
    assert peer_cn(out) == cn, out


@pytest.mark.parametrize("servername", ["unknown.example.org",
                                        "wild.example.com"])
def test_tls_unknown_name_is_closed(l4, servername):
    rc, out = s_client(l4.net.gw, l4.port(TLS), servername)
    assert rc != 0, out
    assert peer_cn(out) is None, out
    assert "no peer certificate available" in out, out
