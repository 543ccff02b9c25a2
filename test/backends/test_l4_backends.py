#!/usr/bin/python3
"""Tests for the L4 conformance backends: tcp_echo.py, udp_echo.py and
dns_whoami.py (echo-basic's TCP and UDP modes, the coredns stand-in).

  /usr/bin/python3 -m pytest -q test/backends/test_l4_backends.py

Every server listens on an ephemeral loopback port (port 0).
"""

import json
import os
import signal
import socket
import ssl
import struct
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
POD = "tcp-backend-6b8d9c7f4-x2k9q"
NS = "gateway-conformance-infra"


class Proc:
    """A backend process; `addrs` are the "listening on" addresses."""

    def __init__(self, argv, listeners=1):
        self.proc = subprocess.Popen([PY] + argv, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)
        self.addrs = []
        for _ in range(listeners):
            line = self.proc.stdout.readline()
            if not line.startswith("listening on "):
                self.proc.kill()
                raise RuntimeError("did not start: %r %s"
                                   % (line, self.proc.stderr.read()))
            host, _, port = line.split()[-1].rpartition(":")
            self.addrs.append((host, int(port)))

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc


@pytest.fixture(scope="module")
def cert(tmp_path_factory):
    d = tmp_path_factory.mktemp("certs")
    crt, key = str(d / "tls.crt"), str(d / "tls.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                    "-nodes", "-keyout", key, "-out", crt, "-days", "1",
                    "-subj", "/CN=abc.example.com", "-addext",
                    "subjectAltName=DNS:abc.example.com"],
                   check=True, capture_output=True)
    return crt, key


@pytest.fixture
def tcp(cert):
    p = Proc([os.path.join(HERE, "tcp_echo.py"), "--listen", "127.0.0.1:0",
              "--tls-listen", "127.0.0.1:0", "--tls-cert", cert[0],
              "--tls-key", cert[1], "--namespace", NS, "--pod", POD],
             listeners=2)
    yield p
    assert p.stop() == 0


def converse(sock):
    f = sock.makefile("rb")
    out = [f.readline()]
    for cmd in (b"PING", b"IS_TLS", b"NOPE", b"TEST"):
        sock.sendall(cmd + b"\n")
        if cmd != b"NOPE":            # unknown lines get no answer
            out.append(f.readline())
    f.close()
    return out


def test_tcp_plain_conversation(tcp):
    with socket.create_connection(tcp.addrs[0], 5) as s:
        welcome, pong, is_tls, test = converse(s)
    assert welcome == b"Gateway API Test TCP Server\n"
    assert pong == b"PONG\n"
    assert is_tls == b"false\n"
    payload = json.loads(test)
    assert payload["pod"] == POD and payload["namespace"] == NS
    assert payload["isTLS"] is False and "tls" not in payload
    assert payload["tcpport"] == str(tcp.addrs[0][1])


def test_tcp_tls_conversation_reports_sni(tcp, cert):
    ctx = ssl.create_default_context(cafile=cert[0])
    with socket.create_connection(tcp.addrs[1], 5) as raw:
        with ctx.wrap_socket(raw, server_hostname="abc.example.com") as s:
            welcome, pong, is_tls, test = converse(s)
    assert (welcome, pong, is_tls) == (
        b"Gateway API Test TCP Server\n", b"PONG\n", b"true\n")
    payload = json.loads(test)
    assert payload["isTLS"] is True
    assert payload["tls"]["serverName"] == "abc.example.com"
    assert payload["tls"]["version"].startswith("TLS 1.")


def test_udp_echo_reply():
    p = Proc([os.path.join(HERE, "udp_echo.py"), "--listen", "127.0.0.1:0",
              "--namespace", NS, "--pod", "udp-backend-v1-a-b",
              "--service", "udp-backend-v1"])
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(5)
            s.sendto(b"gateway-api-conformance-udp-echo", p.addrs[0])
            reply = json.loads(s.recv(2048))
    finally:
        assert p.stop() == 0
    assert reply == {"request": "gateway-api-conformance-udp-echo",
                     "namespace": NS, "ingress": "",
                     "service": "udp-backend-v1",
                     "pod": "udp-backend-v1-a-b"}


def dns_ask(addr, name, qid=0x1234):
    q = struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(x)]) + x.encode() for x in name.split("."))
    q += b"\0" + struct.pack("!HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto(q, addr)
        reply, _ = s.recvfrom(4096)
        port = s.getsockname()[1]
    return reply, port


def test_dns_whoami_answers_the_zone_only():
    p = Proc([os.path.join(HERE, "dns_whoami.py"), "--listen",
              "127.0.0.1:0"])
    try:
        reply, port = dns_ask(p.addrs[0], "foo.bar.com", 0x4242)
        other, _ = dns_ask(p.addrs[0], "example.com", 0x4343)
    finally:
        assert p.stop() == 0
    qid, flags, qd, an, ns, ar = struct.unpack("!HHHHHH", reply[:12])
    assert qid == 0x4242 and flags & 0x8000 and flags & 0x000F == 0
    assert (qd, an, ns, ar) == (1, 0, 0, 2)
    assert socket.inet_aton("127.0.0.1") in reply     # the A record
    assert struct.pack("!HHH", 0, 0, port) in reply    # the SRV port
    qid, flags = struct.unpack("!HH", other[:4])
    assert qid == 0x4343 and flags & 0x000F == 2       # SERVFAIL
