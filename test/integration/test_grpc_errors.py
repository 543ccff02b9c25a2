"""gRPC errors as gRPC statuses, seen by a real gRPC client (grpcio).

The examples/grpcroute setup (test_example_grpcroute.py: an HTTPS
listener for grpc.example.com, the GRPCRoute grpc-api to two
test/backends/grpc_echo.py backends) plus the GRPCRoute grpc-dead, whose
rule for dead.Service has only a backendRef to a Service that does not
exist.

- A call no rule takes gets a Trailers-Only answer from our module:
  HTTP 200, content-type application/grpc, grpc-status 12 UNIMPLEMENTED
  and our grpc-message; both ways nginx gets there are tried: no location
  but the server's last one (/other.Service/...), and a dispatcher none of
  whose candidates matches (/my.grpc.ServiceX/... is inside nginx's
  location /my.grpc.Service, not inside the PathPrefix match).
- A call to a rule without a usable backend gets grpc-status 14
  UNAVAILABLE.
- Unary calls carry a message (a body), which nginx must discard without
  resetting the stream before the status: the client must see our status
  and message, not a transport error nor "invalid content-type".
- Plain HTTP requests on the same server keep the 404.
"""

import subprocess
from pathlib import Path

import grpc
import pytest

from conftest import Backend, Controller, PYTHON, wait_for
from test_example_grpcroute import (BACKENDS, GRPC_ECHO, HOST, HTTPS_PORT,
                                    Example, copy_example)

UNIMPLEMENTED_MESSAGE = "no route matches the call"

DEAD = """
apiVersion: gateway.networking.k8s.io/v1
kind: GRPCRoute
metadata:
  name: grpc-dead
  namespace: default
spec:
  parentRefs:
  - name: grpc-gateway
  rules:
  - matches:
    - method:
        service: dead.Service
    backendRefs:
    - name: nowhere
      port: 50051
"""


@pytest.fixture
def errors(stack):
    net = stack.net
    mdir = Path(stack.tmp) / "grpcroute"
    ca = copy_example(mdir, net.mario)
    (mdir / "dead.yaml").write_text(DEAD)
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
    ex.ca_file = Path(stack.tmp) / "ca.pem"
    ex.ca_file.write_bytes(ca)
    ex.addr = net.gw
    wait_for(lambda: ex.call("/my.grpc.Service/GetStatus")[0]
             == grpc.StatusCode.OK,
             timeout=15, what="GetStatus through the HTTPS listener")
    yield ex
    ex.channel.close()


def big_message():
    return b"m" * 100000


@pytest.mark.parametrize("path", ["/other.Service/GetStatus",
                                  "/my.grpc.ServiceX/Echo"])
@pytest.mark.parametrize("message", [b"", b"hello", big_message()],
                         ids=["empty", "small", "100k"])
def test_a_call_no_rule_takes_is_unimplemented(errors, path, message):
    code, details, trailers = errors.call(path, message)
    assert code == grpc.StatusCode.UNIMPLEMENTED, (path, details)
    assert details == UNIMPLEMENTED_MESSAGE, (path, details)
    assert "x-backend" not in trailers, trailers


def test_a_rule_without_a_usable_backend_is_unavailable(errors):
    for message in (b"", b"hello", big_message()):
        code, details, trailers = errors.call("/dead.Service/Call", message)
        assert code == grpc.StatusCode.UNAVAILABLE, details
        assert "content-type" not in str(details), details
        assert "x-backend" not in trailers, trailers


def test_the_channel_stays_usable_after_errors(errors):
    # the error answers end their streams cleanly: the connection serves on
    for _ in range(5):
        assert errors.call("/other.Service/X", b"x")[0] == \
            grpc.StatusCode.UNIMPLEMENTED
        assert errors.call("/dead.Service/X", b"x")[0] == \
            grpc.StatusCode.UNAVAILABLE
    code, body, _ = errors.call("/my.grpc.Service/GetStatus", b"ping")
    assert code == grpc.StatusCode.OK, body


def curl(errors, *args):
    out = subprocess.run(
        ["curl", "-sk", "-o", "/dev/null", "-D", "-", "--cacert",
         str(errors.ca_file), "--resolve",
         f"{HOST}:{HTTPS_PORT}:{errors.addr}",
         *args, f"https://{HOST}:{HTTPS_PORT}/other.Service/GetStatus"],
        capture_output=True, text=True, timeout=10)
    return out.stdout.lower()


def test_the_answer_is_trailers_only(errors):
    head = curl(errors, "--http2", "-X", "POST", "-H",
                "content-type: application/grpc", "-H", "te: trailers",
                "--data-binary", "@/dev/null")
    assert head.startswith("http/2 200"), head
    assert "content-type: application/grpc" in head, head
    assert "grpc-status: 12" in head, head
    assert f"grpc-message: {UNIMPLEMENTED_MESSAGE}" in head, head


def test_plain_http_requests_keep_404(errors):
    for args in (["--http1.1"], ["--http2"],
                 ["--http1.1", "-X", "POST", "-H",
                  "content-type: application/grpc"]):
        head = curl(errors, *args)
        assert " 404" in head.splitlines()[0], (args, head)
        assert "grpc-status" not in head, (args, head)
