"""GRPCRoute filters: RequestHeaderModifier and ResponseHeaderModifier on
gRPC calls, and what GRPCRoutes cannot carry yet.

As test_grpc.py: a Gateway `grpc-gateway` on 127.0.X.2 with an HTTPS
listener for grpc.example.com, gRPC calls made with curl --http2.  The
backend is an nginx speaking h2c that answers every call OK and reports
the request headers it got as response headers (x-seen-NAME), and sends
x-from-backend and x-drop-me for the response modifier to change.
"""

import socket

import pytest
import yaml

from conftest import Proc, cond, find_item, wait_for
from test_grpc import GRPC_PORT, HOST, NGINX, call, make_cert, manifests
from test_grpc import service_docs

SEEN = ("x-set", "x-add", "x-remove", "x-kept")

BACKEND_CONF = """
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
{seen}
            add_header x-from-backend backend always;
            add_header x-drop-me backend always;
            add_header grpc-status 0 always;
            return 200 "";
        }}
    }}
}}
"""


class HeaderEcho(Proc):
    """nginx answering every gRPC call OK with the headers it got."""

    kind = "backend"

    def __init__(self, tmp, addr):
        d = tmp / "h2c-headers"
        d.mkdir()
        seen = "\n".join(
            f"            add_header x-seen-{h} "
            f"\"$http_{h.replace('-', '_')}\" always;" for h in SEEN)
        conf = d / "nginx.conf"
        conf.write_text(BACKEND_CONF.format(dir=d, addr=addr, port=GRPC_PORT,
                                            seen=seen))
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


def route(backend):
    ref = [{"name": backend, "port": GRPC_PORT}]
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
        "metadata": {"name": "filters", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": "grpc-gateway",
                            "sectionName": "https"}],
            "hostnames": [HOST],
            "rules": [
                {"matches": [{"method": {"service": "f.Request"}}],
                 "filters": [{
                     "type": "RequestHeaderModifier",
                     "requestHeaderModifier": {
                         "set": [{"name": "X-Set", "value": 'a "b"; {c}'}],
                         "add": [{"name": "X-Add", "value": "added"}],
                         "remove": ["X-Remove"]}}],
                 "backendRefs": ref},
                {"matches": [{"method": {"service": "f.Response"}}],
                 "filters": [{
                     "type": "ResponseHeaderModifier",
                     "responseHeaderModifier": {
                         "set": [{"name": "X-From-Backend",
                                  "value": "gateway"}],
                         "add": [{"name": "X-Added", "value": "gw"}],
                         "remove": ["X-Drop-Me"]}}],
                 "backendRefs": ref},
                {"matches": [{"method": {"service": "f.Mirror"}}],
                 "filters": [{"type": "RequestMirror", "requestMirror": {
                     "backendRef": {"name": backend,
                                    "port": GRPC_PORT}}}],
                 "backendRefs": ref}]}}


class Grpc:
    def __init__(self, stack):
        self.stack = stack
        self.addr = stack.net.gw2
        d = stack.tmp / "certs"
        d.mkdir()
        self.crt, key = make_cert(d, HOST)
        # test_grpc's Gateway, Secret and routes; ours beside them
        docs = manifests(self.addr, self.crt, key)
        docs += service_docs("echo-a", stack.net.mario)
        docs += service_docs("echo-b", stack.net.tetris)
        docs.append(route("echo-a"))
        stack.manifests.write("grpc.yaml",
                              yaml.safe_dump_all(docs, sort_keys=False))


@pytest.fixture
def grpc(stack):
    stack.serve("mario")
    stack.procs.add(HeaderEcho(stack.tmp, stack.net.mario)).start()
    g = Grpc(stack)
    stack.start_controller()
    wait_for(lambda: call(g, "/f.Response/Call")[1].get("grpc-status")
             == "0", timeout=15, what="gRPC f.Response/Call")
    return g


def test_request_headers_set_add_remove(grpc):
    status, h = call(grpc, "/f.Request/Call",
                     ["x-set: client", "x-add: client", "x-remove: gone",
                      "x-kept: kept"])
    assert (status, h.get("grpc-status")) == (200, "0"), h
    assert h.get("x-seen-x-set") == 'a "b"; {c}', h
    assert h.get("x-seen-x-add") == "client,added", h
    # (nginx's add_header leaves out an empty value)
    assert "x-seen-x-remove" not in h, h
    assert h.get("x-seen-x-kept") == "kept", h

    # the same backend, through a rule without filters: as sent
    _, h = call(grpc, "/echo.Echo/Hello", ["x-set: client",
                                           "x-remove: gone"])
    assert (h.get("x-seen-x-set"), h.get("x-seen-x-remove")) \
        == ("client", "gone"), h

    # add without the client's value
    _, h = call(grpc, "/f.Request/Call")
    assert h.get("x-seen-x-add") == "added", h


def test_response_headers_set_add_remove(grpc):
    status, h = call(grpc, "/f.Response/Call")
    assert (status, h.get("grpc-status")) == (200, "0"), h
    assert h.get("x-from-backend") == "gateway", h
    assert h.get("x-added") == "gw", h
    assert "x-drop-me" not in h, h

    # a rule without filters leaves the backend's headers alone
    _, h = call(grpc, "/echo.Echo/Hello")
    assert h.get("x-from-backend") == "backend", h


def test_mirror_not_supported_yet_drops_the_rule(grpc):
    status = grpc.stack.controller.status()
    r = find_item(status, "GRPCRoute", "filters", "default")
    (parent,) = r["status"]["parents"]
    assert cond(parent["conditions"], "Accepted")["status"] == "True"
    pi = cond(parent["conditions"], "PartiallyInvalid")
    assert "RequestMirror is not supported on GRPCRoutes yet" \
        in pi["message"], pi
    status, h = call(grpc, "/f.Mirror/Call")
    assert (status, h.get("grpc-status")) == (200, "12"), h
