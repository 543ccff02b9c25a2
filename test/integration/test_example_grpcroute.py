"""examples/grpcroute: the seed's GRPCRoute, called by a real gRPC client.

The example's manifests (gateway.yaml, grpcroute.yaml, backends.yaml)
and the Secret its run.sh makes (examples/cert-manager/standalone/
make-secret.sh for grpc.example.com) run through one controller, on the
test's block of loopback addresses instead of the example's 127.0.0.1:

    127.0.X.1    the Gateway's HTTPS listener (port 443, plus the port
                 offset without root)
    127.0.X.11   the backends, test/backends/grpc_echo.py:
                 grpc-service on port 50051, internal-grpc on 50052

The client is grpcio over TLS, trusting the Secret's self-signed
certificate and checking it against grpc.example.com (the listener's
hostname, also sent as SNI).  The backends answer with their name and the
method, and the trailer x-backend.
"""

import base64
import shutil
import subprocess
from pathlib import Path

import grpc
import pytest
import yaml

from conftest import (PORT_OFFSET, PYTHON, REPO, Backend, Controller, cond,
                      find_item, listener, wait_for)

EXAMPLE = REPO / "examples" / "grpcroute"
MAKE_SECRET = REPO / "examples" / "cert-manager" / "standalone" / \
    "make-secret.sh"
GRPC_ECHO = REPO / "test" / "backends" / "grpc_echo.py"
HOST = "grpc.example.com"
HTTPS_PORT = 443 + PORT_OFFSET
BACKENDS = (("grpc-service", 50051), ("internal-grpc", 50052))


def copy_example(dest, addr):
    """The example's manifests with the backends on addr, and the Secret."""
    dest.mkdir()
    for name in ("gateway.yaml", "grpcroute.yaml", "backends.yaml"):
        text = (EXAMPLE / name).read_text()
        (dest / name).write_text(text.replace("127.0.0.1", addr))
    slices = [d for d in yaml.safe_load_all((dest / "backends.yaml")
                                            .read_text())
              if d["kind"] == "EndpointSlice"]
    assert sorted((s["endpoints"][0]["addresses"], s["ports"][0]["port"])
                  for s in slices) == [([addr], p) for _, p in BACKENDS]
    subprocess.run(["bash", MAKE_SECRET, HOST, dest / "secret.yaml"],
                   check=True, capture_output=True)
    (secret,) = yaml.safe_load_all((dest / "secret.yaml").read_text())
    return base64.b64decode(secret["data"]["tls.crt"])


class Example:
    def __init__(self, controller, addr, ca):
        self.controller = controller
        creds = grpc.ssl_channel_credentials(ca)
        self.channel = grpc.secure_channel(
            f"{addr}:{HTTPS_PORT}", creds,
            options=[("grpc.ssl_target_name_override", HOST)])

    def call(self, path, request=b"hello"):
        """A unary call: (status code, response bytes or details,
        trailing metadata)."""
        f = self.channel.unary_unary(path).future(request, timeout=5)
        err = f.exception()
        trailers = dict(f.trailing_metadata() or ())
        return f.code(), (f.details() if err else f.result()), trailers


@pytest.fixture
def example(stack):
    net = stack.net
    mdir = Path(stack.tmp) / "grpcroute"
    ca = copy_example(mdir, net.mario)
    for name, port in BACKENDS:
        stack.procs.add(Backend(
            [PYTHON, GRPC_ECHO, "--listen", f"{net.mario}:{port}",
             "--name", name],
            Path(stack.tmp) / f"{name}.log", net.mario, port)).start()
    c = Controller(mdir, stack.state_dir, Path(stack.tmp) / "controller.log",
                   net)
    stack.controller = stack.procs.add(c)
    c.start()
    ex = Example(c, net.gw, ca)
    wait_for(lambda: ex.call("/my.grpc.Service/GetStatus")[0]
             == grpc.StatusCode.OK,
             timeout=15, what="GetStatus through the HTTPS listener")
    yield ex
    ex.channel.close()


def test_get_status_reaches_grpc_service(example):
    code, body, trailers = example.call("/my.grpc.Service/GetStatus",
                                        b"ping")
    assert code == grpc.StatusCode.OK, body
    assert body == b"grpc-service my.grpc.Service/GetStatus: ping"
    assert trailers.get("x-backend") == "grpc-service", trailers


def test_other_methods_of_the_service_reach_internal_grpc(example):
    code, body, trailers = example.call("/my.grpc.Service/Echo", b"ping")
    assert code == grpc.StatusCode.OK, body
    assert body == b"internal-grpc my.grpc.Service/Echo: ping"
    assert trailers.get("x-backend") == "internal-grpc", trailers

    # the service-only rule takes any method: one the backend does not
    # have is the backend's own UNIMPLEMENTED
    code, _, trailers = example.call("/my.grpc.Service/Missing")
    assert code == grpc.StatusCode.UNIMPLEMENTED


def test_unknown_service_is_unimplemented(example):
    # no rule matches: our module answers grpc-status UNIMPLEMENTED
    # (test_grpc_errors.py); neither backend sees the call
    for path in ("/other.Service/GetStatus", "/my.grpc.ServiceX/Echo"):
        code, details, trailers = example.call(path)
        assert code == grpc.StatusCode.UNIMPLEMENTED, (path, details)
        assert "x-backend" not in trailers, (path, trailers)


def test_status_route_accepted_and_resolved(example):
    st = example.controller.status()
    route = find_item(st, "GRPCRoute", "grpc-api", "default")
    (parent,) = route["status"]["parents"]
    assert parent["parentRef"]["name"] == "grpc-gateway", parent
    conds = {t: (cond(parent["conditions"], t)["status"],
                 cond(parent["conditions"], t)["reason"])
             for t in ("Accepted", "ResolvedRefs")}
    assert conds == {"Accepted": ("True", "Accepted"),
                     "ResolvedRefs": ("True", "ResolvedRefs")}, parent
    assert "no traffic" not in cond(parent["conditions"],
                                    "Accepted")["message"], parent

    gw, lst = listener(st, "https", gateway="grpc-gateway")
    c = cond(gw["status"]["conditions"], "Programmed")
    assert (c["status"], c["reason"]) == ("True", "Programmed"), gw
    assert lst["attachedRoutes"] == 1, lst
