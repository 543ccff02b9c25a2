"""GRPCRoutes on an HTTPS listener, next to an HTTPRoute on the same host.

Beside the games Gateway each test adds a Gateway `grpc-gateway` on
127.0.X.2 with one HTTPS listener on port 443 (plus the port offset
without root) for grpc.example.com, the GRPCRoute `echo` and the
HTTPRoute `web` (/mario to the mario backend) on it.

The gRPC backends are two nginx instances speaking h2c (HTTP/2 without
TLS, as grpc_pass does) on 127.0.X.11 and .12, port 50051: each answers
every call with grpc-status 0 and `x-backend: a` or `b`, so the client
sees which Service the call reached.  The client is curl --http2 sending
a gRPC call's headers (POST, content-type application/grpc, te: trailers)
without a message: nginx answers these calls without reading a body,
and a body still on its way when the stream ends makes curl report a
stream error (a real gRPC client does not); verified with the listener's
certificate; the gRPC status is read from what curl -D writes: the
response headers, then the trailers.
"""

import base64
import re
import socket
import subprocess

import pytest
import yaml

from conftest import PORT_OFFSET, Proc, cond, find_item, wait_for

HTTPS_PORT = 443 + PORT_OFFSET
GRPC_PORT = 50051
HOST = "grpc.example.com"
MARIO = "<title>Super Mario</title>"
NGINX = "/usr/sbin/nginx"


# ------------------------------------------------------------ helpers

def make_cert(tmp, cn):
    crt, key = tmp / "grpc.crt", tmp / "grpc.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
         "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True)
    return crt, key


H2C_CONF = """
daemon off;
master_process off;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {dir}/body;
    server {{
        listen {addr}:{port} http2;
        location / {{
            default_type application/grpc;
            add_header x-backend {name} always;
            add_header x-path $uri always;
            add_header grpc-status 0 always;
            return 200 "";
        }}
    }}
}}
"""


class H2cBackend(Proc):
    """nginx answering every gRPC call OK, naming itself (x-backend)."""

    kind = "backend"

    def __init__(self, tmp, name, addr):
        d = tmp / f"h2c-{name}"
        d.mkdir()
        conf = d / "nginx.conf"
        conf.write_text(H2C_CONF.format(dir=d, addr=addr, port=GRPC_PORT,
                                        name=name))
        super().__init__([NGINX, "-p", d, "-c", conf, "-e", d / "error.log"],
                         d / "stdout.log")
        self.addr = addr

    def start(self):
        super().start()

        def bound():
            try:
                socket.create_connection((self.addr, GRPC_PORT), 1).close()
                return True
            except OSError:
                return not self.running()
        wait_for(bound, timeout=15, what=f"h2c backend on {self.addr}")
        assert self.running(), self.text()
        return self


def service_docs(name, addr):
    svc = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": "default"},
           "spec": {"ports": [{"name": "grpc", "port": GRPC_PORT,
                               "targetPort": GRPC_PORT}]}}
    eps = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": f"{name}-1", "namespace": "default",
                        "labels": {"kubernetes.io/service-name": name}},
           "addressType": "IPv4",
           "ports": [{"name": "grpc", "port": GRPC_PORT}],
           "endpoints": [{"addresses": [addr],
                          "conditions": {"ready": True}}]}
    return [svc, eps]


def backend(name):
    return {"name": name, "port": GRPC_PORT}


def manifests(addr, crt, key):
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
        "metadata": {"name": "grpc-gateway", "namespace": "default"},
        "spec": {"gatewayClassName": "nginx-gateway",
                 "addresses": [{"type": "IPAddress", "value": addr}],
                 "listeners": [{
                     "name": "https", "port": 443, "protocol": "HTTPS",
                     "hostname": HOST,
                     "allowedRoutes": {"namespaces": {"from": "All"}},
                     "tls": {"certificateRefs": [{"name": "grpc-cert"}]}}]}}
    secret = {"apiVersion": "v1", "kind": "Secret",
              "metadata": {"name": "grpc-cert", "namespace": "default"},
              "type": "kubernetes.io/tls",
              "data": {"tls.crt": base64.b64encode(crt.read_bytes()).decode(),
                       "tls.key": base64.b64encode(key.read_bytes()).decode()}}
    parent = [{"name": "grpc-gateway", "sectionName": "https"}]
    grpc = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
        "metadata": {"name": "echo", "namespace": "default"},
        "spec": {"parentRefs": parent, "hostnames": [HOST], "rules": [
            {"matches": [{"method": {"service": "echo.Echo",
                                     "method": "Hello"}}],
             "backendRefs": [backend("echo-a")]},
            {"matches": [{"method": {"service": "echo.Echo"},
                          "headers": [{"name": "x-variant",
                                       "value": "b"}]}],
             "backendRefs": [backend("echo-b")]},
            {"matches": [{"method": {"type": "RegularExpression",
                                     "service": r"echo\.Up.*",
                                     "method": "Shout|Yell"}}],
             "backendRefs": [backend("echo-b")]},
            {"matches": [{"method": {"method": "Ping"}}],
             "backendRefs": [backend("missing")]}]}}
    web = {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"parentRefs": parent, "hostnames": [HOST], "rules": [
            {"matches": [{"path": {"type": "PathPrefix",
                                   "value": "/mario"}}],
             "backendRefs": [{"name": "mario", "namespace": "mario-ns",
                              "port": 80}]}]}}
    return [gateway, secret, grpc, web]


def call(g, path, headers=()):
    """A unary gRPC call over TLS: (HTTP status, response headers)."""
    argv = ["curl", "-sS", "--max-time", "5", "--http2", "-o", "/dev/null",
            "-D", "-", "--cacert", str(g.crt), "--resolve",
            f"{HOST}:{HTTPS_PORT}:{g.addr}",
            "-X", "POST", "-H", "content-type: application/grpc",
            "-H", "te: trailers", f"https://{HOST}:{HTTPS_PORT}{path}"]
    for h in headers:
        argv += ["-H", h]
    res = subprocess.run(argv, capture_output=True, timeout=10)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.decode(errors="replace").splitlines()
    status = int(re.match(r"HTTP/2 (\d+)", lines[0]).group(1))
    hdrs = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            hdrs[name.strip().lower()] = value.strip()
    return status, hdrs


def get(g, path, version):
    """GET https://HOST/path with curl --http1.1 or --http2."""
    res = subprocess.run(
        ["curl", "-sS", "--max-time", "5", version, "-o", "-", "-w",
         "\n%{http_version} %{http_code}", "--cacert", str(g.crt),
         "--resolve", f"{HOST}:{HTTPS_PORT}:{g.addr}",
         f"https://{HOST}:{HTTPS_PORT}{path}"],
        capture_output=True, text=True, timeout=10)
    assert res.returncode == 0, res.stderr
    body, _, last = res.stdout.rpartition("\n")
    proto, code = last.split()
    return proto, int(code), body


class Grpc:
    def __init__(self, stack):
        self.stack = stack
        self.addr = stack.net.gw2
        d = stack.tmp / "certs"
        d.mkdir()
        self.crt, key = make_cert(d, HOST)
        docs = manifests(self.addr, self.crt, key)
        docs += service_docs("echo-a", stack.net.mario)
        docs += service_docs("echo-b", stack.net.tetris)
        stack.manifests.write("grpc.yaml",
                              yaml.safe_dump_all(docs, sort_keys=False))


@pytest.fixture
def grpc(stack):
    stack.serve("mario")
    for name, addr in (("a", stack.net.mario), ("b", stack.net.tetris)):
        stack.procs.add(H2cBackend(stack.tmp, name, addr)).start()
    g = Grpc(stack)
    stack.start_controller()
    wait_for(lambda: call(g, "/echo.Echo/Hello")[1].get("x-backend") == "a",
             timeout=15, what="gRPC echo.Echo/Hello on grpc.example.com")
    return g


# ------------------------------------------------------------ tests

def test_calls_reach_the_backend_of_their_method(grpc):
    # service and method, Exact
    status, h = call(grpc, "/echo.Echo/Hello")
    assert (status, h.get("grpc-status"), h.get("x-backend")) \
        == (200, "0", "a"), h
    assert h.get("x-path") == "/echo.Echo/Hello"

    # service only, with a header match
    status, h = call(grpc, "/echo.Echo/Other", ["x-variant: b"])
    assert (h.get("grpc-status"), h.get("x-backend")) == ("0", "b"), h

    # regexes for service and method
    status, h = call(grpc, "/echo.Upper/Yell")
    assert (h.get("grpc-status"), h.get("x-backend")) == ("0", "b"), h


def test_unmatched_calls_are_unimplemented(grpc):
    # a Trailers-Only answer (test_grpc_errors.py): grpc-status 12
    # UNIMPLEMENTED; no backend sees the call
    for path, headers in (("/echo.Echo/Other", []),
                          ("/echo.Upper/Whisper", []),
                          ("/other.Service/Hello", ["x-variant: b"])):
        status, h = call(grpc, path, headers)
        assert status == 200, (path, h)
        assert h.get("grpc-status") == "12", (path, h)
        assert h.get("content-type") == "application/grpc", (path, h)
        assert "x-backend" not in h, (path, h)


def test_rule_without_backend_is_unavailable(grpc):
    status, h = call(grpc, "/any.Service/Ping")
    assert status == 200, h
    assert h.get("grpc-status") == "14", h
    assert h.get("content-type") == "application/grpc", h
    assert "x-backend" not in h, h


def test_httproute_on_the_same_host_speaks_both_versions(grpc):
    for version, want in (("--http1.1", "1.1"), ("--http2", "2")):
        proto, code, body = get(grpc, "/mario", version)
        assert (proto, code) == (want, 200), (version, body[:200])
        assert MARIO in body

        # not a gRPC call: no route is a plain 404, no gRPC status
        proto, code, body = get(grpc, "/nothing", version)
        assert (proto, code) == (want, 404), version


def test_status_says_the_grpcroute_is_served(grpc):
    status = grpc.stack.controller.status()
    route = find_item(status, "GRPCRoute", "echo", "default")
    (parent,) = route["status"]["parents"]
    accepted = cond(parent["conditions"], "Accepted")
    assert accepted["status"] == "True", accepted
    assert "no traffic" not in accepted["message"], accepted

