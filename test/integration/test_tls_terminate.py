"""TLS listeners in mode Terminate (TLSRouteModeTerminate) and Mixed
(TLSRouteModeMixed), against a real nginx with real clients.

One Gateway `term` on the test's loopback block (ports shifted by
PORT_OFFSET without root):

    term   9443 TLS Terminate    term.example.com, certificate term-cert:
                                 TLSRoute -> the plain TCP echo `plain-a`
    pass   9443 TLS Passthrough  pass.example.com: TLSRoute -> a TLS
                                 backend with its own certificate
    solo   9444 TLS Terminate    no hostname, certificate solo-cert:
                                 TLSRoute solo.example.com -> `plain-b`
    https  9445 HTTPS            secure.example.com (http{}): HTTPRoute
    mail   9445 TLS Terminate    mail.example.com, certificate mail-cert:
                                 TLSRoute -> `plain-a`
    vault  9446 TLS Terminate    vault.example.com, certificate vault-cert,
                                 client certificates required (the
                                 Gateway's tls.frontend.perPort, CA in the
                                 ConfigMap clients-ca): TLSRoute -> `plain-b`

On 9443 and 9445 a stream{} front reads the server name and sends the
connection to the server of its listener; nginx terminates TLS for the
Terminate listeners in stream{} with the listener's certificate and the
backend gets the plain bytes.
"""

import base64
import re
import socket
import ssl
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import (MARIO_PORT, PORT_OFFSET, Controller, cond, find_item,
                      listener, wait_for)
from test_l4 import Servers, TCPBackend, TLSBackend, peer_cn, self_signed
from test_mtls import make_ca, make_signed

NAMESPACE = "default"
MIXED, SOLO, SHARED, VAULT = 9443, 9444, 9445, 9446
PLAIN_A, PLAIN_B, BACKEND_TLS = 7100, 7101, 7443
TERM = "term.example.com"
PASS = "pass.example.com"
SOLO_NAME = "solo.example.com"
SECURE = "secure.example.com"
MAIL = "mail.example.com"
VAULT_NAME = "vault.example.com"


# --------------------------------------------------------------- manifests

def service(name, addr, port):
    return [
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": name, "namespace": NAMESPACE},
         "spec": {"ports": [{"name": "p", "port": port}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": f"{name}-1", "namespace": NAMESPACE,
                      "labels": {"kubernetes.io/service-name": name}},
         "addressType": "IPv4",
         "ports": [{"name": "p", "port": port}],
         "endpoints": [{"addresses": [addr],
                        "conditions": {"ready": True}}]},
    ]


def secret(name, crt, key):
    b64 = lambda p: base64.b64encode(Path(p).read_bytes()).decode()
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": NAMESPACE},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64(crt), "tls.key": b64(key)}}


def tls_listener(name, port, mode, hostname=None, cert=None):
    lst = {"name": name, "port": port, "protocol": "TLS",
           "tls": {"mode": mode}}
    if hostname:
        lst["hostname"] = hostname
    if cert:
        lst["tls"]["certificateRefs"] = [{"name": cert}]
    return lst


def route(kind, name, section, backend, port, hostnames=None):
    spec = {"parentRefs": [{"name": "term", "sectionName": section}],
            "rules": [{"backendRefs": [{"name": backend, "port": port}]}]}
    if hostnames:
        spec["hostnames"] = hostnames
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind,
            "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": spec}


def manifests(net, certs, clients_ca):
    listeners = [
        tls_listener("term", MIXED, "Terminate", TERM, "term-cert"),
        tls_listener("pass", MIXED, "Passthrough", PASS),
        tls_listener("solo", SOLO, "Terminate", cert="solo-cert"),
        {"name": "https", "port": SHARED, "protocol": "HTTPS",
         "hostname": SECURE,
         "tls": {"certificateRefs": [{"name": "secure-cert"}]}},
        tls_listener("mail", SHARED, "Terminate", MAIL, "mail-cert"),
        tls_listener("vault", VAULT, "Terminate", VAULT_NAME, "vault-cert"),
    ]
    frontend = {"default": {}, "perPort": [{"port": VAULT, "tls": {"validation": {
        "caCertificateRefs": [{"group": "", "kind": "ConfigMap",
                               "name": "clients-ca"}]}}}]}
    docs = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "term"},
         "spec": {"controllerName": "ngx-gateway.io/gateway-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "term", "namespace": NAMESPACE},
         "spec": {"gatewayClassName": "term", "listeners": listeners,
                  "tls": {"frontend": frontend}}},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "clients-ca", "namespace": NAMESPACE},
         "data": {"ca.crt": Path(clients_ca).read_text()}},
    ]
    for name, (crt, key) in certs.items():
        docs.append(secret(f"{name}-cert", crt, key))
    docs += service("plain-a", net.mario, PLAIN_A)
    docs += service("plain-b", net.tetris, PLAIN_B)
    docs += service("pass", net.tetris, BACKEND_TLS)
    docs += service("echo", net.mario, MARIO_PORT)
    docs += [
        route("TLSRoute", "term", "term", "plain-a", PLAIN_A, [TERM]),
        route("TLSRoute", "pass", "pass", "pass", BACKEND_TLS, [PASS]),
        route("TLSRoute", "solo", "solo", "plain-b", PLAIN_B, [SOLO_NAME]),
        route("TLSRoute", "mail", "mail", "plain-a", PLAIN_A, [MAIL]),
        route("TLSRoute", "vault", "vault", "plain-b", PLAIN_B, [VAULT_NAME]),
        route("HTTPRoute", "web", "https", "echo", MARIO_PORT),
    ]
    return docs


# --------------------------------------------------------------- fixture

class Term:
    def __init__(self, stack, controller):
        self.stack = stack
        self.net = stack.net
        self.controller = controller

    def port(self, p):
        return p + PORT_OFFSET


@pytest.fixture
def term(stack):
    tmp = Path(stack.tmp)
    servers = Servers()
    try:
        stack.echo("mario", NAMESPACE, "echo-1")
        servers.add(TCPBackend((stack.net.mario, PLAIN_A), "plain-a"))
        servers.add(TCPBackend((stack.net.tetris, PLAIN_B), "plain-b"))
        cert, key = self_signed(tmp, PASS)
        servers.add(TLSBackend((stack.net.tetris, BACKEND_TLS), "pass",
                               cert, key))
        certs = {"term": self_signed(tmp, TERM),
                 "solo": self_signed(tmp, SOLO_NAME),
                 "secure": self_signed(tmp, SECURE),
                 "mail": self_signed(tmp, MAIL),
                 "vault": self_signed(tmp, VAULT_NAME)}
        ca = make_ca(tmp, "clients-ca")
        client = make_signed(tmp, "client", "client", ca, client=True)
        stranger = make_signed(tmp, "stranger", "stranger",
                               make_ca(tmp, "other-ca"), client=True)

        mdir = tmp / "term"
        mdir.mkdir()
        (mdir / "term.yaml").write_text(
            yaml.safe_dump_all(manifests(stack.net, certs, ca[0]),
                               sort_keys=False))

        c = Controller(mdir, stack.state_dir, tmp / "controller.log",
                       stack.net)
        stack.controller = stack.procs.add(c)
        c.start()
        t = Term(stack, c)
        t.client, t.stranger = client, stranger
        yield t
    finally:
        stack.procs.teardown()
        servers.close()


# --------------------------------------------------------------- clients

def s_client_who(addr, port, servername, cert=None):
    """openssl s_client -servername NAME (presenting cert: (crt, key)),
    sending "WHO\\n" once the handshake is done and reading until the peer
    closes: the output has the certificate nginx presented and what the
    backend answered."""
    argv = ["openssl", "s_client", "-connect", f"{addr}:{port}",
            "-servername", servername, "-ign_eof"]
    if cert is not None:
        argv += ["-cert", str(cert[0]), "-key", str(cert[1])]
    res = subprocess.run(argv, input=b"WHO\n", capture_output=True,
                         timeout=20)
    return (res.stdout + res.stderr).decode("utf-8", "replace")


def tls_exchange(addr, port, servername, payload):
    """payload over TLS with SNI servername (no verification: the test's
    certificates are self-signed); what comes back until the peer closes,
    and the CN of the certificate presented."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection((addr, port), timeout=5)
    with ctx.wrap_socket(raw, server_hostname=servername) as s:
        der = s.getpeercert(binary_form=True)
        s.sendall(payload)
        data = b""
        while not data.endswith(payload):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    pem = ssl.DER_cert_to_PEM_cert(der)
    out = subprocess.run(["openssl", "x509", "-noout", "-subject"],
                         input=pem.encode(), capture_output=True).stdout
    m = re.search(rb"CN\s*=\s*(\S+)", out)
    return data, m.group(1).decode() if m else None


def backend_answer(output):
    # s_client may print a session ticket's dump on the line the
    # backend's answer starts (TLS 1.3 tickets arrive after the handshake)
    m = re.search(r"(plain-[ab])$|^(pass)$", output, re.M)
    return (m.group(1) or m.group(2)) if m else None


# --------------------------------------------------------------- tests

def test_listeners_accepted_and_routes_attached(term):
    st = term.controller.status()
    for name in ("term", "pass", "solo", "https", "mail"):
        _, lst = listener(st, name, gateway="term")
        for ctype, want in (("Accepted", "True"), ("Programmed", "True"),
                            ("ResolvedRefs", "True"),
                            ("Conflicted", "False")):
            assert cond(lst["conditions"], ctype)["status"] == want, lst
        assert lst["supportedKinds"][0]["kind"] == (
            "HTTPRoute" if name == "https" else "TLSRoute"), lst
        assert lst["attachedRoutes"] == 1, lst
    for name in ("term", "pass", "solo", "mail"):
        r = find_item(st, "TLSRoute", name, NAMESPACE)
        c = cond(r["status"]["parents"][0]["conditions"], "Accepted")
        assert c["status"] == "True", r


def test_terminate_presents_listener_certificate_and_plain_backend(term):
    out = wait_for(
        lambda: (lambda o: o if backend_answer(o) else None)(
            s_client_who(term.net.gw, term.port(SOLO), SOLO_NAME)),
        what="s_client through the Terminate listener")
    assert peer_cn(out) == SOLO_NAME, out
    # the backend is a plain TCP echo: it got "WHO\n" in clear text
    assert backend_answer(out) == "plain-b", out


def test_terminate_echoes_bytes_in_both_directions(term):
    payload = b"hello through nginx's TLS\n" * 100
    data, cn = tls_exchange(term.net.gw, term.port(SOLO), SOLO_NAME, payload)
    assert cn == SOLO_NAME
    assert data == payload


def test_terminate_name_without_route_is_closed(term):
    # the listener takes every name, its only route solo.example.com
    out = s_client_who(term.net.gw, term.port(SOLO), "other.example.com")
    assert backend_answer(out) is None, out


def test_mixed_terminate_name_is_terminated(term):
    out = wait_for(
        lambda: (lambda o: o if backend_answer(o) else None)(
            s_client_who(term.net.gw, term.port(MIXED), TERM)),
        what="s_client to the Terminate listener of the mixed port")
    assert peer_cn(out) == TERM, out
    assert backend_answer(out) == "plain-a", out


def test_mixed_passthrough_name_reaches_tls_backend(term):
    # the backend's own certificate: nginx did not terminate TLS
    out = s_client_who(term.net.gw, term.port(MIXED), PASS)
    assert peer_cn(out) == PASS, out
    assert backend_answer(out) == "pass", out


def test_mixed_unknown_name_is_closed(term):
    out = s_client_who(term.net.gw, term.port(MIXED), "unknown.example.org")
    assert peer_cn(out) is None, out
    assert backend_answer(out) is None, out


def test_https_beside_terminate_on_one_port(term):
    out = s_client_who(term.net.gw, term.port(SHARED), MAIL)
    assert peer_cn(out) == MAIL, out
    assert backend_answer(out) == "plain-a", out

    res = subprocess.run(
        ["curl", "-sS", "-k", "-o", "/dev/null", "-w", "%{http_code}",
         "--resolve", f"{SECURE}:{term.port(SHARED)}:{term.net.gw}",
         f"https://{SECURE}:{term.port(SHARED)}/"],
        capture_output=True, text=True, timeout=20)
    assert res.stdout == "200", res.stderr


def test_terminate_requires_a_client_certificate_the_cas_signed(term):
    """tls.frontend validation (AllowValidOnly) on a Terminate listener:
    the handshake fails without a certificate or with one another CA
    signed; with one from the ConfigMap's CA the backend answers."""
    wait_for(lambda: backend_answer(s_client_who(
        term.net.gw, term.port(VAULT), VAULT_NAME, term.client)) == "plain-b",
        timeout=20, what="the vault listener served to a valid client")

    for cert in (None, term.stranger):
        out = s_client_who(term.net.gw, term.port(VAULT), VAULT_NAME, cert)
        assert backend_answer(out) is None, out

    st = term.controller.status()
    _, lst = listener(st, "vault", "term", NAMESPACE)
    assert cond(lst["conditions"], "ResolvedRefs")["status"] == "True", lst
