"""Stream counters of ngx_stream_gateway_module against a real nginx.

Each test starts its own nginx (master + 2 workers, daemon off) like
test_module.py, with Debian's stream module and both of our modules
loaded, in this order:

    load_module .../ngx_stream_module.so;            Debian's
    load_module build/ngx_http_gateway_module.so;    status + report
    load_module build/ngx_stream_gateway_module.so;  stream counters

and a hand-written stream{} on the test's loopback block (127.0.X.*):
a TCP server proxying to a TCP echo backend, a UDP server proxying to a
UDP echo backend (both threads of this process) and a TCP server whose
only peer listens nowhere (502). The report comes from the http status
socket.

Counters are updated in the log phase, when a session has ended: the
tests poll the report until it shows what they expect (bounded tries)
and then compare every field exactly.
"""

import re
import socket
import socketserver
import subprocess
import threading

import pytest

from conftest import wait_for
from test_module import MODULE, NGINX, Nginx, require_module
from test_module import workdir  # noqa: F401  (fixture)
from test_module_valgrind import SUPPRESSIONS as VALGRIND_SUPPRESSIONS
from test_module_valgrind import VALGRIND, Valgrind

STREAM_MODULE = MODULE.with_name("ngx_stream_gateway_module.so")
DEBIAN_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so"

TCP_PORT = 9100         # the Gateway's listeners on net.gw
UDP_PORT = 9101
DEAD_PORT = 9102
ECHO_PORT = 7100        # the echo backends on net.mario (TCP and UDP)
NOWHERE_PORT = 7102     # nothing listens there, on net.tetris

CONVERGE = 10.0         # seconds for counters to show a session
STATUSES = ("200", "400", "403", "500", "502", "503")
ERROR_LINE = re.compile(r"\[(alert|crit|emerg)\]")


def statuses(**counts):
    return {s: counts.get(f"s{s}", 0) for s in STATUSES}


def stream_body(net, udp_route="default/udp", tag_udp=True, tag_dead=True):
    """The stream{} block under test."""
    return (
        "stream {\n"
        "    upstream echo {\n"
        "        gateway_stream_backend_tag backend=default/echo:7100;\n"
        f"        server {net.mario}:{ECHO_PORT};\n"
        "    }\n"
        "    upstream echo_udp {\n"
        + ("        gateway_stream_backend_tag backend=default/echo-udp:7100;\n"
           if tag_udp else "")
        + f"        server {net.mario}:{ECHO_PORT};\n"
        "    }\n"
        "    upstream dead {\n"
        + ("        gateway_stream_backend_tag backend=default/dead:7102;\n"
           if tag_dead else "")
        + f"        server {net.tetris}:{NOWHERE_PORT};\n"
        "    }\n"
        "    server {\n"
        f"        listen {net.gw}:{TCP_PORT};\n"
        "        gateway_stream_tag gateway=default/gw listener=tcp\n"
        "                           route=default/tcp;\n"
        "        proxy_pass echo;\n"
        "    }\n"
        "    server {\n"
        f"        listen {net.gw}:{UDP_PORT} udp;\n"
        + ("        gateway_stream_tag gateway=default/gw listener=udp"
           f" route={udp_route};\n" if tag_udp else "")
        + "        proxy_pass echo_udp;\n"
        "        proxy_responses 1;\n"
        "        proxy_timeout 2s;\n"
        "    }\n"
        "    server {\n"
        f"        listen {net.gw}:{DEAD_PORT};\n"
        + ('        gateway_stream_tag "gateway=default/gw" "listener=dead";\n'
           if tag_dead else "")
        + "        proxy_pass dead;\n"
        "        proxy_connect_timeout 2s;\n"
        "    }\n"
        "}\n")


class StreamGateway(Nginx):
    """Nginx of test_module.py with the stream modules and a stream{}."""

    def __init__(self, root, net, stream=True):
        super().__init__(root)
        self.net = net
        self.stream = stream_body(net) if stream else ""
        self.extra = ""

    def render(self, generation, stream=None, stream_extra=None, **kw):
        if stream is not None:
            self.stream = stream
        if stream_extra is not None:
            self.extra = stream_extra
        text = super().render(generation, **kw)
        if not self.stream:
            return text
        head = (f"load_module {DEBIAN_STREAM};\n"
                f"load_module {MODULE};\n"
                f"load_module {STREAM_MODULE};\n")
        text = text.replace(f"load_module {MODULE};\n", head, 1)
        stream = self.stream.replace("stream {\n", "stream {\n" + self.extra,
                                     1)
        return text + stream

    def errors(self):
        text = self.error_log.read_text(errors="replace")
        return [line for line in text.splitlines() if ERROR_LINE.search(line)]


# --------------------------------------------------------------- backends

class TCPEcho(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            while True:
                data = self.request.recv(65536)
                if not data:
                    return
                self.request.sendall(data)


class UDPEcho(socketserver.ThreadingUDPServer):
    daemon_threads = True
    allow_reuse_address = True

    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            data, sock = self.request
            sock.sendto(data, self.client_address)


@pytest.fixture
def echo(net):
    servers = [TCPEcho((net.mario, ECHO_PORT), TCPEcho.Handler),
               UDPEcho((net.mario, ECHO_PORT), UDPEcho.Handler)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True)
               for s in servers]
    for t in threads:
        t.start()
    yield servers
    for s in servers:
        s.shutdown()
        s.server_close()
    for t in threads:
        t.join(timeout=10)


@pytest.fixture
def gateway(workdir, net, echo):  # noqa: F811  (workdir is a fixture)
    require_stream_module()
    g = StreamGateway(workdir, net)
    try:
        g.start(generation=1)
        yield g
    finally:
        g.stop()


def require_stream_module():
    require_module()
    if not STREAM_MODULE.is_file():
        pytest.fail(f"{STREAM_MODULE} is missing: run `make module` "
                    "(or `bash nginx-module/build.sh build`) first",
                    pytrace=False)


# --------------------------------------------------------------- clients

def tcp_session(addr, port, payload, timeout=10.0):
    """Send payload, read as many bytes back, close; return what came."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.sendall(payload)
        got = b""
        while len(got) < len(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    return got


def tcp_refused_by_gateway(addr, port, timeout=10.0):
    """Connect, send a byte; True when nginx closed without an answer."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        try:
            s.sendall(b"?")
            return s.recv(1) == b""
        except ConnectionResetError:
            return True


def udp_session(addr, port, payload, timeout=10.0):
    """One datagram from a fresh source port; return the answer."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, (addr, port))
        data, _ = s.recvfrom(65536)
    return data


# --------------------------------------------------------------- the report

def one(items, **want):
    found = [i for i in items if all(i.get(k) == v for k, v in want.items())]
    assert len(found) == 1, f"{want} in {items}"
    return found[0]


def stream_of(doc, listener):
    return one(doc["streams"], listener=listener)


def peers_of(doc, backend):
    return one(doc["stream_upstreams"], backend=backend)["peers"]


def wait_report(g, check, what):
    """Poll the report until check(doc) is true; return that doc."""
    last = {}

    def probe():
        last["doc"] = g.status()
        return check(last["doc"]) and last["doc"]

    try:
        return wait_for(probe, timeout=CONVERGE, what=what)
    except AssertionError as e:
        doc = last.get("doc") or {}
        raise AssertionError(
            f"{e}\nlast report: streams={doc.get('streams')} "
            f"stream_upstreams={doc.get('stream_upstreams')}") from None


def sessions(doc, listener):
    return stream_of(doc, listener)["sessions"]


# --------------------------------------------------------------- tests

def test_tcp_sessions_counted_with_exact_bytes(gateway, net):
    doc = gateway.status()
    assert doc["stream_zone"]["name"] == "ngx_stream_gateway"
    assert sorted(s["listener"] for s in doc["streams"]) == [
        "dead", "tcp", "udp"]
    assert all(s["sessions"] == 0 and s["active"] == 0
               for s in doc["streams"])

    sizes = [1, 100, 5000, 70000, 12345]
    for n in sizes:
        payload = bytes(i % 251 for i in range(n))
        assert tcp_session(net.gw, TCP_PORT, payload) == payload

    doc = wait_report(gateway, lambda d: sessions(d, "tcp") == 5,
                      "5 TCP sessions")
    tcp = stream_of(doc, "tcp")
    assert (tcp["gateway"], tcp["route"]) == ("default/gw", "default/tcp")
    assert tcp["active"] == 0
    assert tcp["bytes_in"] == sum(sizes)
    assert tcp["bytes_out"] == sum(sizes)
    assert tcp["status"] == statuses(s200=5)
    assert tcp["session_time_ms_sum"] >= 0

    [peer] = peers_of(doc, "default/echo:7100")
    assert set(peer) == {"address", "sessions", "bytes_in", "bytes_out",
                         "connect_time_ms_sum", "session_time_ms_sum",
                         "status"}
    assert peer["address"] == f"{net.mario}:{ECHO_PORT}"
    assert peer["sessions"] == 5
    assert peer["bytes_out"] == sum(sizes)     # nginx to the peer
    assert peer["bytes_in"] == sum(sizes)      # the peer to nginx
    assert peer["status"] == statuses(s200=5)

    # nothing else moved, and nothing more arrives later
    assert sessions(doc, "udp") == 0 and sessions(doc, "dead") == 0
    assert gateway.status()["streams"] == doc["streams"]
    assert gateway.errors() == []


def test_active_session_is_counted_until_it_ends(gateway, net):
    with socket.create_connection((net.gw, TCP_PORT), timeout=10) as s:
        s.sendall(b"hello")
        assert s.recv(5) == b"hello"
        doc = wait_report(gateway,
                          lambda d: stream_of(d, "tcp")["active"] == 1,
                          "1 active session")
        assert sessions(doc, "tcp") == 0

    doc = wait_report(gateway, lambda d: sessions(d, "tcp") == 1,
                      "the session ended")
    tcp = stream_of(doc, "tcp")
    assert tcp["active"] == 0
    assert (tcp["bytes_in"], tcp["bytes_out"]) == (5, 5)


def test_udp_sessions_counted(gateway, net):
    for i in range(6):
        payload = b"ping-%d" % i + b"." * i
        assert udp_session(net.gw, UDP_PORT, payload) == payload
    total = sum(len(b"ping-%d" % i) + i for i in range(6))

    doc = wait_report(gateway, lambda d: sessions(d, "udp") == 6,
                      "6 UDP sessions")
    udp = stream_of(doc, "udp")
    assert udp["route"] == "default/udp"
    assert udp["active"] == 0
    assert (udp["bytes_in"], udp["bytes_out"]) == (total, total)
    assert udp["status"] == statuses(s200=6)

    [peer] = peers_of(doc, "default/echo-udp:7100")
    assert peer["address"] == f"{net.mario}:{ECHO_PORT}"
    assert peer["sessions"] == 6
    assert (peer["bytes_in"], peer["bytes_out"]) == (total, total)
    assert sessions(doc, "tcp") == 0


def test_dead_peer_counts_502(gateway, net):
    for _ in range(3):
        assert tcp_refused_by_gateway(net.gw, DEAD_PORT)

    doc = wait_report(gateway, lambda d: sessions(d, "dead") == 3,
                      "3 sessions to the dead peer")
    dead = stream_of(doc, "dead")
    assert dead["route"] is None                # left out of the tag
    assert dead["status"] == statuses(s502=3)
    assert dead["bytes_out"] == 0
    assert dead["active"] == 0

    [peer] = peers_of(doc, "default/dead:7102")
    assert peer["address"] == f"{net.tetris}:{NOWHERE_PORT}"
    assert peer["sessions"] == 3
    assert peer["status"] == statuses(s502=3)
    assert (peer["bytes_in"], peer["bytes_out"]) == (0, 0)
    assert peer["connect_time_ms_sum"] == 0     # never connected
    assert gateway.alerts() == []


def test_counters_survive_reload(gateway, net):
    for _ in range(4):
        assert tcp_session(net.gw, TCP_PORT, b"abc") == b"abc"
    wait_report(gateway, lambda d: sessions(d, "tcp") == 4, "4 sessions")
    zone = gateway.status()["stream_zone"]

    gateway.reload(2)
    gateway.wait_generation(2)
    gateway.wait_workers(2)
    for _ in range(4):
        assert tcp_session(net.gw, TCP_PORT, b"defg") == b"defg"
    assert udp_session(net.gw, UDP_PORT, b"u") == b"u"

    doc = wait_report(gateway, lambda d: sessions(d, "tcp") == 8,
                      "8 sessions")
    tcp = stream_of(doc, "tcp")
    assert (tcp["bytes_in"], tcp["bytes_out"]) == (28, 28)
    assert tcp["status"] == statuses(s200=8)
    assert peers_of(doc, "default/echo:7100")[0]["sessions"] == 8
    doc = wait_report(gateway, lambda d: sessions(d, "udp") == 1,
                      "1 UDP session")
    assert doc["stream_zone"] == zone
    assert gateway.errors() == []


def test_thirty_reloads_under_load_lose_no_count(gateway, net):
    """Each reload renames the UDP server's route, so every reload creates
    a series and frees one; the zone must not grow, and every TCP session
    of the client loop is counted exactly once."""
    stop = threading.Event()
    sent = {"ok": 0, "errors": []}

    def load():
        while not stop.is_set():
            try:
                if tcp_session(net.gw, TCP_PORT, b"0123456789") \
                        == b"0123456789":
                    sent["ok"] += 1
                else:
                    sent["errors"].append("short echo")
            except OSError as e:
                sent["errors"].append(repr(e))

    zone = gateway.status()["stream_zone"]
    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        for generation in range(2, 32):
            gateway.reload(generation, stream=stream_body(
                net, udp_route=f"default/udp-{generation}"))
            gateway.wait_generation(generation)
            assert gateway.alive()
    finally:
        stop.set()
        thread.join(timeout=30)

    assert not thread.is_alive()
    assert sent["errors"] == []
    assert sent["ok"] > 30
    gateway.wait_workers(2)

    doc = wait_report(gateway, lambda d: sessions(d, "tcp") >= sent["ok"],
                      f"{sent['ok']} sessions")
    tcp = stream_of(doc, "tcp")
    assert tcp["sessions"] == sent["ok"]
    assert tcp["active"] == 0
    assert tcp["status"] == statuses(s200=sent["ok"])
    assert tcp["bytes_in"] == tcp["bytes_out"] == 10 * sent["ok"]
    assert peers_of(doc, "default/echo:7100")[0]["sessions"] == sent["ok"]
    assert stream_of(doc, "udp")["route"] == "default/udp-31"
    assert doc["stream_zone"] == zone
    assert gateway.errors() == []


def test_removed_tags_lose_their_series(gateway, net):
    assert udp_session(net.gw, UDP_PORT, b"x") == b"x"
    wait_report(gateway, lambda d: sessions(d, "udp") == 1, "1 UDP session")
    series = gateway.status()["stream_zone"]["series"]

    gateway.reload(2, stream=stream_body(net, tag_udp=False, tag_dead=False))
    doc = gateway.wait_generation(2)

    assert [s["listener"] for s in doc["streams"]] == ["tcp"]
    assert [u["backend"] for u in doc["stream_upstreams"]] == [
        "default/echo:7100"]
    # two servers, two upstreams and their peers
    assert doc["stream_zone"]["series"] == series - 6

    # the untagged servers still serve, uncounted
    gateway.wait_workers(2)
    assert udp_session(net.gw, UDP_PORT, b"y") == b"y"
    assert tcp_session(net.gw, TCP_PORT, b"z") == b"z"
    doc = wait_report(gateway, lambda d: sessions(d, "tcp") == 1,
                      "1 TCP session")
    assert [s["listener"] for s in doc["streams"]] == ["tcp"]

    # a tag put back starts from zero
    gateway.reload(3, stream=stream_body(net))
    doc = gateway.wait_generation(3)
    assert sessions(doc, "udp") == 0
    assert doc["stream_zone"]["series"] == series
    assert gateway.errors() == []


def test_http_only_config_loads_without_stream_modules(workdir):  # noqa: F811
    require_stream_module()
    n = StreamGateway(workdir, net=None, stream=False)
    text = n.render(1)
    assert [line for line in text.splitlines()
            if line.startswith("load_module")] == [f"load_module {MODULE};"]
    assert "stream {" not in text
    try:
        doc = n.start(generation=1)
        assert not {"stream_zone", "streams", "stream_upstreams"} & set(doc)
        assert doc["servers"] == [] and doc["upstreams"] == []
    finally:
        n.stop()


def test_stream_module_needs_debian_stream_module_first(workdir):  # noqa: F811
    require_stream_module()
    n = Nginx(workdir)
    text = n.render(1).replace(
        f"load_module {MODULE};\n",
        f"load_module {MODULE};\nload_module {STREAM_MODULE};\n", 1)
    rc, out = n.check(text)
    assert rc != 0
    assert "undefined symbol: ngx_stream_core_module" in out


def test_stream_without_tags_reports_empty_lists(workdir, net):  # noqa: F811
    require_stream_module()
    n = StreamGateway(workdir, net, stream=False)
    n.stream = ("stream {\n"
                f"    server {{ listen {net.gw}:{TCP_PORT}; return ok; }}\n"
                "}\n")
    try:
        doc = n.start(generation=1)
        assert doc["streams"] == [] and doc["stream_upstreams"] == []
        assert doc["stream_zone"]["series"] == 0
        assert doc["stream_zone"]["size"] == 1024 * 1024
    finally:
        n.stop()


@pytest.mark.parametrize("directive, message", [
    ("server { listen 127.0.0.1:1; gateway_stream_tag gateway=a/b;"
     " return x; }", '"gateway_stream_tag" needs "listener="'),
    ("server { listen 127.0.0.1:1; gateway_stream_tag gateway=a/b"
     " listener=l color=red; return x; }",
     'unknown key "color" in "gateway_stream_tag"'),
    ("server { listen 127.0.0.1:1; gateway_stream_tag gateway=a/b"
     " listener=l listener=m; return x; }",
     'duplicate key "listener" in "gateway_stream_tag"'),
    ("server { listen 127.0.0.1:1; gateway_stream_tag gateway=a/b"
     " listener; return x; }",
     'invalid parameter "listener" in "gateway_stream_tag", '
     'it must be key=value'),
    ("server { listen 127.0.0.1:1; gateway_stream_tag gateway="
     " listener=l; return x; }",
     'invalid length of "gateway" in "gateway_stream_tag"'),
    ("server { listen 127.0.0.1:1; gateway_stream_tag gateway=a/b"
     ' listener=l "route=a\\"b"; return x; }',
     'invalid character in "route" in "gateway_stream_tag"'),
    ("server { listen 127.0.0.1:1; gateway_stream_tag gateway=a/b"
     " listener=l; gateway_stream_tag gateway=a/b listener=m; return x; }",
     '"gateway_stream_tag" directive is duplicate'),
    ("server { listen 127.0.0.1:1; gateway_stream_backend_tag"
     " backend=a/b:80; return x; }",
     '"gateway_stream_backend_tag" directive is not allowed here'),
    ("upstream u { gateway_stream_backend_tag backend=a/b:80;"
     " gateway_stream_backend_tag backend=a/c:80; server 127.0.0.1:1; }",
     '"gateway_stream_backend_tag" directive is duplicate'),
    ("upstream u { gateway_stream_backend_tag port=80;"
     " server 127.0.0.1:1; }",
     'unknown key "port" in "gateway_stream_backend_tag"'),
    ("gateway_stream_status_zone 16k;",
     '"gateway_stream_status_zone" of 16384 bytes is too small'),
    ("server { listen 127.0.0.1:1; gateway_stream_status_zone 1m;"
     " return x; }",
     '"gateway_stream_status_zone" directive is not allowed here'),
])
def test_invalid_stream_tags_fail_config_test(workdir, directive,  # noqa: F811
                                              message):
    require_stream_module()
    n = StreamGateway(workdir, net=None, stream=False)
    n.stream = f"stream {{\n    {directive}\n}}\n"
    rc, out = n.check(n.render(1))
    assert rc != 0, out
    assert message in out
    assert "test failed" in out


def test_valid_stream_tags_pass_config_test(workdir):  # noqa: F811
    require_stream_module()
    n = StreamGateway(workdir, net=None, stream=False)
    n.stream = (
        "stream {\n"
        "    gateway_stream_status_zone 64k;\n"
        "    upstream u { gateway_stream_backend_tag backend=ns/svc:53;"
        " server 127.0.0.1:1; server 127.0.0.1:1; }\n"
        "    server { listen 127.0.0.1:1 udp;"
        " gateway_stream_tag route=ns/r listener=l gateway=ns/gw;"
        " proxy_pass u; }\n"
        "}\n")
    rc, out = n.check(n.render(1))
    assert rc == 0, out


# --------------------------------------------------------------- valgrind

# nginx's own, besides those of test_module_valgrind.py: a worker never
# frees its connections and events (ngx_event_process_init(), ngx_alloc()
# in static functions, hence unnamed) and destroys the pool of its cycle,
# which points to them, before it exits. Whether a stale pointer elsewhere
# keeps them "reachable" varies from run to run. Nothing of the module.
SUPPRESSIONS = VALGRIND_SUPPRESSIONS + """\
{
   nginx-worker-connections
   Memcheck:Leak
   match-leak-kinds: definite,indirect
   fun:malloc
   fun:ngx_alloc
   obj:/usr/sbin/nginx
   obj:/usr/sbin/nginx
   obj:/usr/sbin/nginx
   fun:ngx_spawn_process
}
"""


class StreamValgrind(StreamGateway):
    """One nginx process (master, one worker) under valgrind, run and
    stopped as in test_module_valgrind.py."""

    finish = Valgrind.finish

    def render(self, generation, **kw):
        text = super().render(generation, **kw)
        return text.replace("worker_processes 2;", "worker_processes 1;")

    def start(self, generation):
        self.write_conf(self.render(generation))
        supp = self.root / "nginx.supp"
        supp.write_text(SUPPRESSIONS)
        self.output = open(self.root / "nginx.out", "wb")
        self.proc = subprocess.Popen(
            [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite",
             f"--suppressions={supp}",
             "--errors-for-leak-kinds=definite,indirect",
             "--error-exitcode=99",
             f"--log-file={self.root}/valgrind.%p.log",
             NGINX, "-p", str(self.root), "-c", str(self.conf),
             "-e", str(self.error_log)],
            stdin=subprocess.DEVNULL, stdout=self.output,
            stderr=subprocess.STDOUT)
        return self.wait_generation(generation)


def test_counting_and_reload_under_valgrind(workdir, net,  # noqa: F811
                                            echo):
    require_stream_module()
    if VALGRIND is None:
        pytest.fail("valgrind is missing: run `make deps`", pytrace=False)
    v = StreamValgrind(workdir, net)
    try:
        v.start(1)
        for _ in range(3):
            assert tcp_session(net.gw, TCP_PORT, b"abc") == b"abc"
        assert udp_session(net.gw, UDP_PORT, b"u") == b"u"
        assert tcp_refused_by_gateway(net.gw, DEAD_PORT)
        wait_report(v, lambda d: sessions(d, "tcp") == 3
                    and sessions(d, "udp") == 1 and sessions(d, "dead") == 1,
                    "5 sessions")

        # drop the udp and dead tags, rename nothing else
        v.reload(2, stream=stream_body(net, tag_udp=False, tag_dead=False))
        doc = v.wait_generation(2)
        assert [s["listener"] for s in doc["streams"]] == ["tcp"]

        for _ in range(2):
            assert tcp_session(net.gw, TCP_PORT, b"de") == b"de"
        doc = wait_report(v, lambda d: sessions(d, "tcp") == 5, "5 sessions")
        assert stream_of(doc, "tcp")["bytes_in"] == 13

        rc, logs = v.finish()
    finally:
        if v.proc is not None:
            v.proc.kill()
            v.proc.wait()
            v.output.close()

    # the master, the first worker, the one the reload started
    assert len(logs) >= 3, list(logs)
    for name, log in logs.items():
        assert f"Command: {NGINX} " in log, f"{name}:\n{log[:2000]}"
        assert "ERROR SUMMARY: 0 errors" in log, f"{name}:\n{log[-3000:]}"
        assert ("definitely lost: 0 bytes" in log
                or "no leaks are possible" in log), f"{name}:\n{log}"
    assert rc == 0
