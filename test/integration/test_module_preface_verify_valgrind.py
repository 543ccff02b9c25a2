"""gateway_preface and gateway_upstream_verify under valgrind (memcheck).

nginx (master and one worker, as in test_module_valgrind.py) with
Debian's stream module and both of ours runs under valgrind with:

  stream{}: a port front (gateway_preface on) sending the HTTP/2 client
            preface to an http2 server and anything else to an HTTP/1.x
            one, both on unix sockets of http{}; clients send a whole
            request, the preface or a request a few bytes at a time
            (short reads), stop inside the preface (preread_timeout
            closes them), or go before sending anything;
  http{}:   locations proxying over TLS to a backend whose certificate
            the test's CA signed for DNS:secure.example.com and a
            spiffe:// URI, checked by gateway_upstream_verify: the DNS
            name, the URI, names the certificate does not carry, another
            CA.

Then a reload that swaps which locations carry matching names, the same
clients again, and a graceful stop.  Every process's valgrind log must
report no error and no definitely or indirectly lost block (nginx's own
exit-time blocks suppressed as in test_module_stream.py); the modules'
shared memory zones keep their name and size across the reload and the
front's counters keep counting.
"""

import socket
import time
from pathlib import Path

import pytest

from conftest import wait_for
from test_backend_tls import BACKEND_NAME, BACKEND_URI, Certs, TLSBackend
from test_module import NGINX, free_port
from test_module import workdir  # noqa: F401  (fixture)
from test_module_stream import (StreamValgrind, require_stream_module,
                                sessions)
from test_module_valgrind import VALGRIND

FRONT_PORT = 9110       # the front on net.gw
SLOW_PORT = 9111        # the same, with a short preread_timeout
VERIFY_PORT = 9112      # http{} server with the verifying locations
CONVERGE = 60.0         # nginx under valgrind on a busy machine
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
SETTINGS = b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"   # empty, stream 0


def stream_extra(net, root):
    """Two fronts (tagged: counted in the stream zone)."""
    server = (
        "    server {{\n"
        f"        listen {net.gw}:{{port}};\n"
        "        gateway_stream_tag gateway=default/gw"
        " listener={listener};\n"
        "        gateway_preface on;\n"
        "        preread_timeout {timeout};\n"
        "        proxy_pass $gw_preface_to;\n"
        "    }}\n")
    return (
        "    map $gateway_preface $gw_preface_to {\n"
        f"        h2      unix:{root}/h2.sock;\n"
        f"        default unix:{root}/http1.sock;\n"
        "    }\n"
        + server.format(port=FRONT_PORT, listener="front", timeout="30s")
        + server.format(port=SLOW_PORT, listener="slow", timeout="1s"))


def http_extra(net, root, certs, backend_port, swap=False):
    """The servers behind the fronts and the verifying locations."""
    ca, other = certs.ca[0], certs.other_ca[0]
    good_dns = f"dns:{BACKEND_NAME}"
    good_uri = f"uri:{BACKEND_URI}"
    bad = "dns:other.example.com uri:spiffe://cluster.local/ns/x/sa/y"
    names = {"dns": good_dns, "uri": good_uri, "none": bad}
    if swap:
        names = {"dns": bad, "uri": good_uri, "none": good_dns}

    def location(path, ca_file, sans):
        return (
            f"        location /{path} {{\n"
            "            proxy_ssl_server_name on;\n"
            f"            proxy_ssl_name {BACKEND_NAME};\n"
            "            proxy_ssl_verify off;\n"
            "            proxy_ssl_session_reuse off;\n"
            f'            gateway_upstream_verify {ca_file} {sans};\n'
            f"            proxy_pass https://verify_{path};\n"
            "        }\n")

    # One upstream per location, as the controller's one per Service
    # port: nginx resumes a peer's last TLS session without verifying
    # again.  No resumption here (proxy_ssl_session_reuse off): every
    # request is a full handshake through our callback, and nginx 1.22
    # never frees a peer's saved session when a worker exits (a definite
    # leak with Debian's nginx without our module too).
    upstreams = "".join(
        f"    upstream verify_{path} {{\n"
        f"        server 127.0.0.1:{backend_port};\n"
        "    }\n" for path in ("dns", "uri", "none", "other-ca"))

    return (
        upstreams
        + "    server {\n"
        f"        listen unix:{root}/http1.sock;\n"
        '        location / { return 200 "http1\\n"; }\n'
        "    }\n"
        "    server {\n"
        f"        listen unix:{root}/h2.sock http2;\n"
        '        location / { return 200 "h2\\n"; }\n'
        "    }\n"
        "    server {\n"
        f"        listen {net.gw}:{VERIFY_PORT};\n"
        + location("dns", ca, names["dns"])
        + location("uri", ca, names["uri"])
        + location("none", ca, names["none"])
        + location("other-ca", other, good_dns)
        + "    }\n")


class PrefaceVerify(StreamValgrind):
    """StreamValgrind with our stream{} and http{} additions."""

    def __init__(self, root, net, certs, backend_port):
        super().__init__(root, net)
        self.certs = certs
        self.backend_port = backend_port
        self.extra = stream_extra(net, root)
        self.http = http_extra(net, root, certs, backend_port)

    def render(self, generation, swap=None, **kw):
        if swap is not None:
            self.http = http_extra(self.net, self.root, self.certs,
                                   self.backend_port, swap)
        return super().render(generation, http_extra=self.http, **kw)


# --------------------------------------------------------------- clients

def exchange(addr, port, chunks, pause=0.0, timeout=30.0):
    """Send chunks (pausing between them), read until the peer closes or
    a first answer came; return the bytes received."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for i, chunk in enumerate(chunks):
            if i and pause:
                time.sleep(pause)
            s.sendall(chunk)
        got = b""
        while True:
            try:
                data = s.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            got += data
            if got.startswith(b"HTTP/1.1") and b"\r\n\r\n" in got:
                break
            if len(got) >= 9 and not got.startswith(b"HTTP"):
                break
        return got


def http1(host, port, pieces=1, pause=0.0):
    req = (b"GET / HTTP/1.1\r\nHost: front.example.com\r\n"
           b"Connection: close\r\n\r\n")
    step = -(-len(req) // pieces)
    chunks = [req[i:i + step] for i in range(0, len(req), step)]
    return exchange(host, port, chunks, pause)


def h2(host, port, pieces=1, pause=0.0):
    data = PREFACE + SETTINGS
    chunks = [data]
    if pieces > 1:
        # inside "PRI", inside the preface, one byte short of it, the rest
        cuts = [0, 3, 11, len(PREFACE) - 1, len(data)]
        chunks = [data[a:b] for a, b in zip(cuts, cuts[1:])]
    return exchange(host, port, chunks, pause)


def is_h2_settings(answer):
    """The server's first frame: SETTINGS (type 4) on stream 0."""
    return len(answer) >= 9 and answer[3] == 4 and answer[5:9] == b"\0" * 4


def is_http1(answer, body):
    return (answer.startswith(b"HTTP/1.1 200") and answer.endswith(body))


def get_status(addr, port, path):
    answer = exchange(addr, port, [
        f"GET {path} HTTP/1.1\r\nHost: v.example.com\r\n"
        "Connection: close\r\n\r\n".encode()])
    assert answer.startswith(b"HTTP/1.1 "), answer
    return int(answer.split()[1])


# --------------------------------------------------------------- the test

@pytest.fixture
def tls_backend(tmp_path, net):
    certs = Certs(Path(tmp_path))
    port = free_port()
    b = TLSBackend("127.0.0.1", port, certs)
    yield certs, port
    b.stop()


def test_preface_and_upstream_verify_under_valgrind(workdir, net,  # noqa: F811
                                                    tls_backend, tmp_path):
    require_stream_module()
    if VALGRIND is None:
        pytest.fail("valgrind is missing: run `make deps`", pytrace=False)
    certs, backend_port = tls_backend
    v = PrefaceVerify(workdir, net, certs, backend_port)
    gw = net.gw

    def traffic(swap):
        # preface sniffing: whole, in short pieces, HTTP/1.x and h2
        assert is_http1(http1(gw, FRONT_PORT), b"http1\n")
        assert is_http1(http1(gw, FRONT_PORT, pieces=4, pause=0.3),
                        b"http1\n")
        assert is_h2_settings(h2(gw, FRONT_PORT))
        assert is_h2_settings(h2(gw, FRONT_PORT, pieces=4, pause=0.3))
        # a request that starts like the preface and is not it
        answer = exchange(gw, FRONT_PORT, [b"PRI * HTTP/1.1\r\n\r\n"])
        assert answer.startswith(b"HTTP/1.1 4"), answer
        # inside the preface, then silence: preread_timeout closes it
        assert exchange(gw, SLOW_PORT, [PREFACE[:10]]) == b""
        # gone before a byte
        socket.create_connection((gw, SLOW_PORT), timeout=30).close()

        # the backend's names
        want = {"/dns": 502 if swap else 200, "/uri": 200,
                "/none": 200 if swap else 502, "/other-ca": 502}
        got = {p: get_status(gw, VERIFY_PORT, p) for p in want}
        assert got == want

    try:
        v.start(1)
        traffic(swap=False)
        doc1 = wait_for(lambda: (lambda d: d if sessions(d, "front") == 5
                                 and sessions(d, "slow") == 2 else None)(
                                     v.status()),
                        timeout=CONVERGE, what="7 sessions counted")

        v.reload(2, swap=True)
        doc2 = v.wait_generation(2)
        for zone in ("zone", "stream_zone"):
            for key in ("name", "size", "total_pages"):
                assert doc2[zone][key] == doc1[zone][key], (zone, doc1,
                                                            doc2)
        traffic(swap=True)
        wait_for(lambda: sessions(v.status(), "front") == 10
                 and sessions(v.status(), "slow") == 4,
                 timeout=CONVERGE, what="14 sessions counted")

        rc, logs = v.finish()
    finally:
        if v.proc is not None:
            v.proc.kill()
            v.proc.wait()
            v.output.close()

    for name, log in logs.items():      # kept with the test's files
        (tmp_path / name).write_text(log)
    # the master, the first worker, the one the reload started
    assert len(logs) >= 3, list(logs)
    for name, log in logs.items():
        assert f"Command: {NGINX} " in log, f"{name}:\n{log[:2000]}"
        assert "ERROR SUMMARY: 0 errors" in log, f"{name}:\n{log[-3000:]}"
        assert ("definitely lost: 0 bytes" in log
                or "no leaks are possible" in log), f"{name}:\n{log}"
    assert rc == 0
    print("\n".join(f"{name}: {line.split('== ', 1)[1]}"
                    for name, log in logs.items()
                    for line in log.splitlines()
                    if "ERROR SUMMARY" in line or "definitely lost" in line
                    or "in use at exit" in line))
