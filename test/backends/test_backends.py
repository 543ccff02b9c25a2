#!/usr/bin/python3
"""Tests for the test and demo backends (echo.py, games serve.py).

  /usr/bin/python3 -m pytest -q test/backends

Every server listens on an ephemeral port on loopback (port 0), so these
tests do not collide with anything else running on the machine.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ECHO = os.path.join(HERE, "echo.py")
SERVE = os.path.join(ROOT, "examples", "games", "backends", "serve.py")
GAMES = os.path.join(ROOT, "examples", "games", "backends")
PY = "/usr/bin/python3"


class Server:
    def __init__(self, argv, env=None):
        self.proc = subprocess.Popen([PY] + argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True,
                                     env=env)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError("server did not start: %r %s"
                               % (line, self.proc.stderr.read()))
        addr = line.split()[-1]
        self.host, _, port = addr.rpartition(":")
        self.port = int(port)

    def conn(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=10)

    def get(self, path, headers=None, method="GET", body=None):
        c = self.conn()
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            return r, r.read()
        finally:
            c.close()

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        out = self.proc.stdout.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, out


@pytest.fixture
def echo():
    env = dict(os.environ, NAMESPACE="gateway-conformance-infra",
               POD_NAME="infra-backend-v1-6b8d9c7f4-x2k9q")
    s = Server([ECHO, "--listen", "127.0.0.1:0",
                "--service", "infra-backend-v1"], env=env)
    yield s
    if s.proc.poll() is None:
        s.stop()


def test_echo_json_body(echo):
    r, body = echo.get("/some/path?x=1&y=a%20b",
                       headers={"Host": "example.org",
                                "x-custom": "one",
                                "User-Agent": "pytest"})
    assert r.status == 200
    assert r.getheader("Content-Type") == "application/json"
    assert r.getheader("X-Content-Type-Options") == "nosniff"
    doc = json.loads(body)
    assert doc["path"] == "/some/path?x=1&y=a%20b"
    assert doc["host"] == "example.org"
    assert doc["method"] == "GET"
    assert doc["proto"] == "HTTP/1.1"
    assert doc["headers"]["X-Custom"] == ["one"]
    assert doc["headers"]["User-Agent"] == ["pytest"]
    assert "Host" not in doc["headers"]
    assert doc["httpPort"] == str(echo.port)
    assert doc["namespace"] == "gateway-conformance-infra"
    assert doc["pod"] == "infra-backend-v1-6b8d9c7f4-x2k9q"
    assert doc["service"] == "infra-backend-v1"
    assert doc["ingress"] == ""
    assert body.startswith(b"{\n \"path\"")      # indented like Go's


def test_echo_repeated_headers_are_lists(echo):
    c = echo.conn()
    c.putrequest("GET", "/multi", skip_host=True)
    c.putheader("Host", "h")
    c.putheader("x-multi", "a")
    c.putheader("X-MULTI", "b")
    c.endheaders()
    doc = json.loads(c.getresponse().read())
    c.close()
    assert doc["headers"]["X-Multi"] == ["a", "b"]


def test_echo_set_header(echo):
    r, _ = echo.get("/", headers={
        "X-Echo-Set-Header": "X-Header-Set-1:set-value, X-Other:v2,"
                             "X-Header-Set-1:again"})
    assert r.status == 200
    assert r.getheader("X-Header-Set-1") == "set-value,again"
    assert r.getheader("X-Other") == "v2"
    r, _ = echo.get("/", headers={"X-Echo-Set-Header": ""})
    assert r.status == 200


@pytest.mark.parametrize("code", [200, 302, 404, 500, 503])
def test_echo_status(echo, code):
    r, body = echo.get("/status/%d" % code)
    assert r.status == code
    assert body == b""


def test_echo_status_invalid(echo):
    r, _ = echo.get("/status/abc")
    assert r.status == 400


def test_echo_health(echo):
    r, body = echo.get("/health")
    assert (r.status, body) == (200, b"OK")


def test_echo_delay(echo):
    t0 = time.monotonic()
    r, body = echo.get("/timeout?delay=300ms")
    assert r.status == 200
    assert time.monotonic() - t0 >= 0.3
    assert json.loads(body)["path"] == "/timeout?delay=300ms"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE",
                                    "OPTIONS"])
def test_echo_methods_with_body(echo, method):
    r, body = echo.get("/m", method=method, body=b"x" * 100000)
    assert r.status == 200
    assert json.loads(body)["method"] == method


def test_echo_head(echo):
    r, body = echo.get("/h", method="HEAD")
    assert r.status == 200
    assert body == b""
    assert int(r.getheader("Content-Length")) > 0


def test_echo_keepalive_and_log(echo):
    c = echo.conn()
    for path in ("/one", "/two", "/three"):
        c.request("POST", path, body=b"payload")
        r = c.getresponse()
        assert json.loads(r.read())["path"] == path
    c.close()
    rc, out = echo.stop()
    assert rc == 0
    lines = [x for x in out.splitlines() if x.startswith("Echoing")]
    assert len(lines) == 3
    assert lines[0].startswith("Echoing back request made to /one to "
                               "client (127.0.0.1:")
    # all three on one connection: the same client port
    assert len({x.rsplit(":", 1)[1] for x in lines}) == 1


def test_echo_sigint_exits_cleanly(echo):
    rc, _ = echo.stop(signal.SIGINT)
    assert rc == 0


def test_echo_port_in_use():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(1)
    port = s.getsockname()[1]
    try:
        p = subprocess.run([PY, ECHO, "--listen", "127.0.0.1:%d" % port],
                           capture_output=True, text=True, timeout=10)
    finally:
        s.close()
    assert p.returncode == 1
    assert "cannot listen" in p.stderr



# --- the rest of the echo contract: h2c, WebSocket, HTTPS, /retry, gRPC


@pytest.fixture
def echo_all(tmp_path):
    key, crt = str(tmp_path / "k.pem"), str(tmp_path / "c.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "2",
                    "-subj", "/CN=abc.example.com", "-addext",
                    "subjectAltName=DNS:abc.example.com"],
                   check=True, capture_output=True)
    argv = [PY, ECHO, "--listen", "127.0.0.1:0", "--h2c-listen",
            "127.0.0.1:0", "--https-listen", "127.0.0.1:0", "--tls-cert",
            crt, "--tls-key", key, "--tls-client-ca", crt,
            "--namespace", "ns1", "--pod", "infra-backend-v1-a-b"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    ports = []
    for _ in range(3):
        line = proc.stdout.readline()
        assert line.startswith("listening on "), line
        ports.append(int(line.rsplit(":", 1)[1]))
    yield {"http": ports[0], "h2c": ports[1], "https": ports[2],
           "crt": crt, "key": key}
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def curl_json(*args):
    out = subprocess.run(["curl", "-sS", "--max-time", "10", *args],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_echo_h2c_prior_knowledge_and_upgrade(echo_all):
    port = echo_all["h2c"]
    doc = curl_json("--http2-prior-knowledge", "-H", "Host: example.com",
                    "http://127.0.0.1:%d/h2?x=1" % port)
    assert (doc["proto"], doc["path"], doc["host"]) == \
        ("HTTP/2.0", "/h2?x=1", "example.com")
    assert doc["pod"] == "infra-backend-v1-a-b"
    doc = curl_json("--http2", "http://127.0.0.1:%d/up" % port)
    assert (doc["proto"], doc["path"]) == ("HTTP/2.0", "/up")
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/plain")
    r = c.getresponse()
    assert (r.status, r.read()) == (400, b"Expected h2c request")
    c.close()


def test_echo_websocket(echo_all):
    s = socket.create_connection(("127.0.0.1", echo_all["http"]), 10)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
              b"Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1024)
    assert head.startswith(b"HTTP/1.1 101")
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in head
    mask = b"\x01\x02\x03\x04"
    data = b"hello"
    s.sendall(bytes([0x81, 0x80 | len(data)]) + mask +
              bytes(c ^ mask[i % 4] for i, c in enumerate(data)))
    assert s.recv(100) == b"\x81\x05hello"
    s.close()


def test_echo_https_sni_and_client_cert(echo_all):
    port = echo_all["https"]
    doc = curl_json("--cacert", echo_all["crt"], "--resolve",
                    "abc.example.com:%d:127.0.0.1" % port,
                    "--cert", echo_all["crt"], "--key", echo_all["key"],
                    "https://abc.example.com:%d/backendTLS" % port)
    assert doc["tls"]["serverName"] == "abc.example.com"
    assert doc["sni"] == "abc.example.com"
    assert doc["tls"]["version"].startswith("TLSv1.")
    with open(echo_all["crt"]) as f:
        assert doc["tls"]["peerCertificates"][0].split() == f.read().split()
    doc = curl_json("--cacert", echo_all["crt"], "--resolve",
                    "abc.example.com:%d:127.0.0.1" % port,
                    "https://abc.example.com:%d/x" % port)
    assert "peerCertificates" not in doc["tls"] and doc["sni"] == ""


def test_echo_retry(echo_all):
    port = echo_all["http"]
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/retry/?uuid=u1&succeedAfter=2&responseCode=503")
    r = c.getresponse()
    r.read()
    assert r.status == 503
    c.request("GET", "/retry/?uuid=u1&succeedAfter=2&responseCode=503")
    r = c.getresponse()
    r.read()
    assert r.status == 503
    c.request("GET", "/retry/?uuid=u1&succeedAfter=2&responseCode=503")
    r = c.getresponse()
    assert r.status == 200 and json.loads(r.read())["path"].startswith(
        "/retry/")
    c.close()
    # without responseCode the failure is a reset connection
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        c.request("GET", "/retry/?uuid=u2&succeedAfter=1")
        c.getresponse()
    c.close()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    c.request("GET", "/retry/?uuid=u2&succeedAfter=1")
    assert c.getresponse().status == 200
    c.close()


def test_grpc_conformance_echo():
    import sys
    sys.path.insert(0, HERE)
    import grpc
    import grpcecho_pb
    s = Server([os.path.join(HERE, "grpc_echo.py"), "--listen",
                "127.0.0.1:0", "--conformance", "--namespace", "ns1",
                "--pod", "grpc-infra-backend-v1-a-b"])
    try:
        ch = grpc.insecure_channel(
            "127.0.0.1:%d" % s.port,
            options=[("grpc.default_authority", "grpc.example.com")])
        call = ch.unary_unary("/%s/Echo" % grpcecho_pb.SERVICE)
        reply = grpcecho_pb.decode("EchoResponse", call(
            b"", metadata=[("x-a", "b")], timeout=10))
        a = reply["assertions"]
        assert a["fully_qualified_method"] == \
            "/gateway_api_conformance.echo_basic.grpcecho.GrpcEcho/Echo"
        assert a["authority"] == "grpc.example.com"
        assert {"key": "x-a", "value": "b"} in a["headers"]
        assert a["context"]["pod"] == "grpc-infra-backend-v1-a-b"
        assert a["context"]["namespace"] == "ns1"
        three = ch.unary_unary("/%s/EchoThree" % grpcecho_pb.SERVICE)
        with pytest.raises(grpc.RpcError) as e:
            three(b"", timeout=10)
        assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
        ch.close()
    finally:
        s.stop()

@pytest.fixture
def mario():
    s = Server([SERVE, "--listen", "127.0.0.1:0",
                "--root", os.path.join(GAMES, "mario")])
    yield s
    if s.proc.poll() is None:
        s.stop()


@pytest.mark.parametrize("path", ["/", "/index.html", "/mario",
                                  "/does/not/exist", "/../../etc/passwd",
                                  "/%2e%2e/%2e%2e/etc/passwd"])
def test_serve_index_for_any_path(mario, path):
    r, body = mario.get(path)
    assert r.status == 200
    assert r.getheader("Content-Type").startswith("text/html")
    assert r.getheader("X-Served-By") == "mario"
    assert b"<title>Super Mario</title>" in body


def test_serve_head_and_405(mario):
    r, body = mario.get("/", method="HEAD")
    assert r.status == 200 and body == b""
    r, _ = mario.get("/", method="POST", body=b"x=1")
    assert r.status == 405


def test_serve_tetris_and_log():
    s = Server([SERVE, "--listen", "127.0.0.1:0",
                "--root", os.path.join(GAMES, "tetris")])
    r, body = s.get("/")
    assert r.status == 200
    assert b"<title>Tetris</title>" in body
    rc, out = s.stop()
    assert rc == 0
    assert '"GET / HTTP/1.1" 200' in out


def test_game_pages_have_no_external_resources():
    for game in ("mario", "tetris"):
        with open(os.path.join(GAMES, game, "index.html")) as f:
            html = f.read()
        for needle in ("http://", "https://", "src=", "<link", "@import"):
            assert needle not in html, (game, needle)
