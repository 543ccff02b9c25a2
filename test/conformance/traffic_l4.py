"""TCP, TLS and UDP clients of the traffic replay, with the semantics of
the upstream helpers: conformance/utils/tcp (the echo-basic TCP
conversation, EchoSendOnce), utils/tls (connection rejection), utils/udp
(echo replies) and utils/weight (distribution over backends).

Case kinds (traffic-format.md): tcp, tcpRepeat, tcpWeights, tlsReject,
udp (echo or a DNS query), udpWeights.
"""

import concurrent.futures
import json
import os
import socket
import ssl
import struct

from traffic_base import (Fail, backend_of_pod, eventually,
                          weights_mismatch)

WELCOME = "Gateway API Test TCP Server\n"
SINGLE_TIMEOUT = 5.0        # EchoSendOnce / tcpRepeat per connection
UDP_TIMEOUT = 2.0           # udp.ExpectEchoResponse's read deadline


# --------------------------------------------------------------------------
# TCP (utils/tcp)


def tls_client(target, spec):
    """tls.Config{ServerName: sni, MinVersion: TLS 1.2, RootCAs: the
    trusted certificate} (system roots when none is named)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    if spec.get("trustConfigMap"):
        ctx.load_verify_locations(cadata=target.data(
            "ConfigMap", spec["trustConfigMap"], "ca.crt"))
    elif spec.get("trustSecret"):
        ctx.load_verify_locations(cadata=target.data(
            "Secret", spec["trustSecret"], "tls.crt"))
    else:
        ctx.load_default_certs()
    return ctx


def dial(target, port, ctx, sni, timeout):
    raw = socket.create_connection((target.addr, port), timeout)
    if ctx is None:
        return raw
    try:
        return ctx.wrap_socket(raw, server_hostname=sni or None)
    except (OSError, ssl.SSLError):
        raw.close()
        raise


class LineConn:
    """Line-oriented conversation with the TCP echo."""

    def __init__(self, sock):
        self.sock = sock
        self.rfile = sock.makefile("rb")

    def line(self):
        data = self.rfile.readline()
        if not data:
            raise OSError("connection closed (EOF)")
        return data.decode("utf-8", "replace")

    def ask(self, command):
        self.sock.sendall(command.encode() + b"\n")
        return self.line()

    def close(self):
        self.rfile.close()
        self.sock.close()


def tcp_exchange(case, target, port, ctx, sni):
    """One attempt of WaitForValidTCPResponse: None or why not."""
    exp = case.get("expected") or {}
    try:
        conn = LineConn(dial(target, port, ctx, sni, 10.0))
    except (OSError, ssl.SSLError) as e:
        return "client could not connect: %s" % e
    try:
        welcome = conn.line()
        if welcome != WELCOME:
            return "welcome message does not match: got %r" % welcome
        pong = conn.ask("PING")
        if pong != "PONG\n":
            return "PING response does not match: got %r" % pong
        is_tls = conn.ask("IS_TLS").rstrip("\n")
        want = "true" if exp.get("backendIsTLS") else "false"
        if is_tls != want:
            return "IS_TLS: got %r, want %r" % (is_tls, want)
        payload = json.loads(conn.ask("TEST"))
    except (OSError, ssl.SSLError, ValueError) as e:
        return "%s: %s" % (type(e).__name__, e)
    finally:
        conn.close()
    ns = case.get("namespace", "")
    if payload.get("namespace") != ns:
        return "namespace: got %r, want %r" % (payload.get("namespace"), ns)
    backend = case.get("backend", "")
    if not str(payload.get("pod", "")).startswith(backend + "-"):
        return "pod %r does not start with %s-" % (payload.get("pod"),
                                                    backend)
    if exp.get("hostname"):
        got = (payload.get("tls") or {}).get("serverName")
        if got != exp["hostname"]:
            return "TLS server name: got %r, want %r" % (got,
                                                         exp["hostname"])
    return None


def run_tcp_case(case, target, deadline_s):
    """tcp.MakeTCPRequestAndExpectEventuallyValidResponse: eventually one
    valid conversation (assert.Eventually, retried every second)."""
    t = case["tcp"]
    port = target.port_of(t)
    ctx = tls_client(target, t) if t.get("tls") else None
    eventually(lambda: tcp_exchange(case, target, port, ctx, t.get("sni")),
               deadline_s, "TCP%s %s:%d%s" % (
                   "+TLS" if ctx else "", target.addr, port,
                   " SNI " + t["sni"] if t.get("sni") else ""))


def echo_send_once(target, port):
    """tcp.EchoSendOnce: welcome line, TEST, the pod name."""
    conn = LineConn(dial(target, port, None, None, SINGLE_TIMEOUT))
    try:
        welcome = conn.line()
        if welcome != WELCOME:
            raise OSError("unexpected welcome message %r" % welcome)
        pod = json.loads(conn.ask("TEST")).get("pod", "")
    finally:
        conn.close()
    if not pod:
        raise OSError("TCP echo response without a pod name")
    return pod


def run_tcp_repeat(case, target):
    """count single connections, no retry: each pod name starts with
    podPrefix and none with forbiddenPodPrefix."""
    r = case["tcpRepeat"]
    port = target.port_of(r)
    for i in range(int(r.get("count", 1))):
        try:
            pod = echo_send_once(target, port)
        except (OSError, ValueError) as e:
            raise Fail("connection %d to port %d: %s" % (i + 1, port, e))
        if r.get("forbiddenPodPrefix") and \
                pod.startswith(r["forbiddenPodPrefix"]):
            raise Fail("connection %d reached %s (forbidden prefix %s)"
                       % (i + 1, pod, r["forbiddenPodPrefix"]))
        if not pod.startswith(r.get("podPrefix", "")):
            raise Fail("connection %d reached %s, want %s*" % (
                i + 1, pod, r.get("podPrefix", "")))


def distribution(spec, send_once, what):
    """weight.TestWeightedDistribution: rounds of `requests` sends,
    `concurrency` at a time; a failed send fails the round."""
    total = int(spec.get("requests", 500))
    tolerance = float(spec.get("tolerance", 0.05))
    last = ""
    for _ in range(int(spec.get("rounds", 10))):
        counts = {}
        errors = []

        def one(_i):
            try:
                return backend_of_pod(send_once())
            except (OSError, ValueError) as e:
                errors.append("%s: %s" % (type(e).__name__, e))
                return None

        with concurrent.futures.ThreadPoolExecutor(
                int(spec.get("concurrency", 10))) as ex:
            for b in ex.map(one, range(total)):
                if b is not None:
                    counts[b] = counts.get(b, 0) + 1
        if errors:
            last = "%d failed sends, first: %s" % (len(errors), errors[0])
            continue
        last = weights_mismatch(counts, spec["expected"], total, tolerance)
        if last is None:
            return
    raise Fail("%s weights: %s" % (what, last))


def run_tcp_weights(case, target):
    w = case["tcpWeights"]
    port = target.port_of(w)
    distribution(w, lambda: echo_send_once(target, port), "TCP")


# --------------------------------------------------------------------------
# TLS (utils/tls)


def tls_reject_attempt(target, port, sni):
    """None when the handshake ends in EOF or a reset; anything else
    (a completed handshake, another error) is "not yet"."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:
        raw = socket.create_connection((target.addr, port), 10.0)
    except OSError as e:
        return "could not connect: %s" % e
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni)
    except (ssl.SSLEOFError, ConnectionResetError):
        return None
    except ssl.SSLError as e:
        if "EOF" in str(e) or "UNEXPECTED_EOF" in str(e):
            return None
        return "handshake failed otherwise: %s" % e
    except OSError as e:
        return "handshake failed otherwise: %s" % e
    finally:
        raw.close()
    s.close()
    return "the TLS handshake completed"


def run_tls_reject(case, target, deadline_s):
    r = case["tlsReject"]
    port = target.port_of(r)
    eventually(lambda: tls_reject_attempt(target, port, r.get("sni")),
               deadline_s, "TLS SNI %s to %s:%d must be rejected" % (
                   r.get("sni"), target.addr, port))


# --------------------------------------------------------------------------
# UDP (utils/udp) and DNS (udproute-simple.go)


def udp_exchange(target, port, payload, timeout=UDP_TIMEOUT):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(timeout)
    try:
        s.connect((target.addr, port))
        s.send(payload)
        return s.recv(65535)
    finally:
        s.close()


def dns_query(name, qtype):
    qid = struct.unpack("!H", os.urandom(2))[0]
    qname = b"".join(bytes([len(p)]) + p.encode()
                     for p in name.strip(".").split(".")) + b"\0"
    types = {"A": 1, "AAAA": 28, "SRV": 33, "TXT": 16}
    return qid, struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + qname + \
        struct.pack("!HH", types.get(qtype, 1), 1)


def udp_attempt(case, target, port):
    u = case["udp"]
    exp = case.get("expected") or {}
    if "dns" in u:
        qid, query = dns_query(u["dns"]["question"],
                               u["dns"].get("type", "A"))
        try:
            reply = udp_exchange(target, port, query)
        except OSError as e:
            return "DNS exchange failed: %s" % e
        # dns.Exchange: a reply with our id is a success
        if len(reply) < 12 or struct.unpack("!H", reply[:2])[0] != qid \
                or not reply[2] & 0x80:
            return "not a DNS reply to our query: %r" % reply[:12]
        return None
    try:
        reply = udp_exchange(target, port, str(u.get("send", "")).encode())
    except OSError as e:
        return "no UDP reply: %s" % e
    if exp.get("anyReply"):
        return None
    try:
        echo = json.loads(reply)
    except ValueError:
        return "reply is not the echo's JSON: %r" % reply[:80]
    for key in ("service", "namespace"):
        if key in exp and echo.get(key) != exp[key]:
            return "%s: got %r, want %r" % (key, echo.get(key), exp[key])
    return None


def run_udp_case(case, target, deadline_s):
    u = case["udp"]
    port = target.port_of(u)
    eventually(lambda: udp_attempt(case, target, port), deadline_s,
               "UDP %s:%d" % (target.addr, port))


def run_udp_weights(case, target):
    w = case["udpWeights"]
    port = target.port_of(w)
    payload = str(w.get("send", "")).encode()

    def send_once():
        pod = json.loads(udp_exchange(target, port, payload)).get("pod")
        if not pod:
            raise ValueError("UDP echo reply without a pod name")
        return pod
    distribution(w, send_once, "UDP")
