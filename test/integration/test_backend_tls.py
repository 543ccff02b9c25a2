"""BackendTLSPolicy with real traffic: nginx speaks TLS to a real TLS
backend and checks its certificate.

Beside the games Gateway each test adds a Gateway `tls-gateway` on
127.0.X.2 (HTTP, port 80 plus the offset) whose
spec.tls.backend.clientCertificateRef is the Secret gateway-client, and an
HTTPRoute for tls.example.com to the Service `secure` (port 443), whose
one endpoint is a TLS server this test runs on 127.0.X.13.  The server
answers JSON: the SNI it was sent and the subject of the client
certificate, when one was presented.

Certificates: CA "ca" signs the backend's certificate (secure.example.com,
spiffe://cluster.local/ns/default/sa/secure) and the Gateway's client
certificate; CA "other-ca" signs nothing used here.
"""

import base64
import json
import socket
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from conftest import GW_PORT, cond, find_item, http_get, wait_for

HOST = "tls.example.com"
BACKEND_NAME = "secure.example.com"
BACKEND_URI = "spiffe://cluster.local/ns/default/sa/secure"


# ------------------------------------------------------------ certificates

def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True,
                   capture_output=True)


def make_ca(tmp, name):
    crt, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
            "-subj", f"/CN={name}", "-keyout", key, "-out", crt)
    return crt, key


def make_signed(tmp, name, cn, ca, san):
    """A P-256 certificate for cn signed by ca with extension san."""
    crt, key, csr = (tmp / f"{name}.crt", tmp / f"{name}.key",
                     tmp / f"{name}.csr")
    ext = tmp / f"{name}.ext"
    ext.write_text(san + "\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", f"/CN={cn}", "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
            "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", crt)
    return crt, key


class Certs:
    def __init__(self, tmp):
        self.dir = tmp / "certs"
        self.dir.mkdir()
        self.ca = make_ca(self.dir, "ca")
        self.other_ca = make_ca(self.dir, "other-ca")
        self.server = make_signed(
            self.dir, "server", BACKEND_NAME, self.ca,
            f"subjectAltName=DNS:{BACKEND_NAME},URI:{BACKEND_URI}")
        self.client = make_signed(self.dir, "client", "gateway-client",
                                  self.ca, "extendedKeyUsage=clientAuth")


# ------------------------------------------------------------ the backend

class TLSBackend:
    """A TLS HTTP server on addr:port; every answer is JSON with the SNI
    of the connection and the CN of the client certificate (or null).
    require_client: the handshake fails without a certificate ca signed."""

    def __init__(self, addr, port, certs, require_client=False):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs.server[0], certs.server[1])
        ctx.load_verify_locations(certs.ca[0])
        ctx.verify_mode = (ssl.CERT_REQUIRED if require_client
                           else ssl.CERT_OPTIONAL)
        self.sni = {}
        self.handshakes = 0

        def on_sni(sock, name, _ctx):
            self.sni[id(sock)] = name

        ctx.sni_callback = on_sni
        backend = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                peer = self.connection.getpeercert()
                cn = None
                if peer:
                    cn = dict(x[0] for x in peer["subject"]).get(
                        "commonName")
                body = json.dumps({
                    "path": self.path,
                    "sni": backend.sni.get(id(self.connection)),
                    "client_cn": cn}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, addr = self.socket.accept()
                conn = ctx.wrap_socket(sock, server_side=True,
                                       do_handshake_on_connect=False)
                return conn, addr

            def finish_request(self, request, client_address):
                try:
                    request.do_handshake()
                except (ssl.SSLError, OSError):
                    return
                backend.handshakes += 1
                super().finish_request(request, client_address)

        self.httpd = Server((addr, port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


# ------------------------------------------------------------ manifests

def configmap_doc(name, crt):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": "default"},
            "data": {"ca.crt": crt.read_text()}}


def secret_doc(name, crt, key):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "default"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(crt.read_bytes()).decode(),
                     "tls.key": base64.b64encode(key.read_bytes()).decode()}}


def gateway_doc(addr):
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "tls-gateway", "namespace": "default"},
            "spec": {"gatewayClassName": "nginx-gateway",
                     "addresses": [{"type": "IPAddress", "value": addr}],
                     "tls": {"backend": {"clientCertificateRef": {
                         "name": "gateway-client"}}},
                     "listeners": [{
                         "name": "http", "port": 80, "protocol": "HTTP",
                         "allowedRoutes": {"namespaces": {"from": "Same"}}}]}}


def service_docs(name, addr, port):
    return [{"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": name, "namespace": "default"},
             "spec": {"ports": [{"port": 443, "targetPort": port}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": f"{name}-1", "namespace": "default",
                          "labels": {
                              "kubernetes.io/service-name": name}},
             "addressType": "IPv4",
             "ports": [{"name": "", "port": port, "protocol": "TCP"}],
             "endpoints": [{"addresses": [addr],
                            "conditions": {"ready": True}}]}]


def route_doc():
    def rule(prefix, *refs):
        return {"matches": [{"path": {"type": "PathPrefix",
                                      "value": prefix}}],
                "backendRefs": [{"name": n, "port": 443, "weight": 1}
                                for n in refs]}

    return {"apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "HTTPRoute",
            "metadata": {"name": "tls-route", "namespace": "default"},
            "spec": {"parentRefs": [{"name": "tls-gateway"}],
                     "hostnames": [HOST],
                     "rules": [rule("/secure", "secure"),
                               rule("/half", "secure", "missing")]}}


def policy_doc(ca="ca", hostname=BACKEND_NAME, sans=None):
    validation = {"hostname": hostname,
                  "caCertificateRefs": [{"group": "", "kind": "ConfigMap",
                                         "name": ca}]}
    if sans is not None:
        validation["subjectAltNames"] = sans
    return {"apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "BackendTLSPolicy",
            "metadata": {"name": "secure-tls", "namespace": "default"},
            "spec": {"targetRefs": [{"group": "", "kind": "Service",
                                     "name": "secure"}],
                     "validation": validation}}


# ------------------------------------------------------------ fixture

class Env:
    def __init__(self, stack, certs, backend, addr, port):
        self.stack = stack
        self.certs = certs
        self.backend = backend
        self.addr = addr
        self.port = port

    def docs(self, policy):
        c = self.certs
        return ([gateway_doc(self.stack.net.gw2),
                 configmap_doc("ca", c.ca[0]),
                 configmap_doc("other-ca", c.other_ca[0]),
                 secret_doc("gateway-client", *c.client), route_doc(),
                 policy]
                + service_docs("secure", self.addr, self.port))

    def apply(self, policy):
        self.stack.manifests.write("tls.yaml",
                                   yaml.safe_dump_all(self.docs(policy)))

    def get(self, path="/secure/x"):
        return http_get(self.stack.net.gw2, GW_PORT, path, HOST)

    def wait(self, status, path="/secure/x", sni=None):
        """Poll until path answers status (and, given sni, the backend
        saw that SNI: the new configuration is live)."""
        last = [None]

        def probe():
            last[0] = self.get(path)
            if last[0][0] != status:
                return False
            return sni is None or json.loads(last[0][1])["sni"] == sni
        try:
            wait_for(probe, timeout=15, what=f"GET {HOST}{path} -> {status}"
                     + (f" with SNI {sni}" if sni else ""))
        except AssertionError as e:
            raise AssertionError(f"{e}\nlast answer: {last[0]}") from None
        return last[0]

    def policy_status(self):
        status = self.stack.controller.status()
        item = find_item(status, "BackendTLSPolicy", "secure-tls",
                         "default")
        return item["status"]["ancestors"]


def free_port(addr):
    with socket.socket() as s:
        s.bind((addr, 0))
        return s.getsockname()[1]


@pytest.fixture
def env(stack):
    certs = Certs(stack.tmp)
    addr = f"127.0.{stack.net.block}.13"
    port = free_port(addr)
    backend = TLSBackend(addr, port, certs, require_client=True)
    e = Env(stack, certs, backend, addr, port)
    e.apply(policy_doc())
    stack.start_controller()
    yield e
    backend.stop()


def reason(conds, ctype):
    c = cond(conds, ctype)
    return c["status"], c["reason"]


# ------------------------------------------------------------ tests

def test_valid_ca_and_hostname_speak_tls_with_sni(env):
    code, body = env.wait(200)
    seen = json.loads(body)
    assert seen["path"] == "/secure/x"
    # nginx sent the policy's hostname as SNI ...
    assert seen["sni"] == BACKEND_NAME
    # ... and the Gateway's client certificate (the backend requires one)
    assert seen["client_cn"] == "gateway-client"

    anc = env.policy_status()
    assert len(anc) == 1
    assert reason(anc[0]["conditions"], "Accepted") == ("True", "Accepted")
    assert (reason(anc[0]["conditions"], "ResolvedRefs")
            == ("True", "ResolvedRefs"))


def test_wrong_ca_answers_502(env):
    env.wait(200)
    env.apply(policy_doc(ca="other-ca"))
    env.wait(502)
    # a well-formed CA that did not sign the backend's certificate: the
    # policy itself is valid; only the handshake fails
    anc = env.policy_status()
    assert reason(anc[0]["conditions"], "Accepted") == ("True", "Accepted")
    assert (reason(anc[0]["conditions"], "ResolvedRefs")
            == ("True", "ResolvedRefs"))


def test_hostname_mismatch_answers_502(env):
    env.wait(200)
    env.apply(policy_doc(hostname="other.example.com"))
    env.wait(502)
    # back to the right name: served again
    env.apply(policy_doc())
    env.wait(200, sni=BACKEND_NAME)


def test_invalid_share_in_a_tls_location_answers_500(env):
    env.wait(200)
    codes = set()
    for _ in range(40):
        code, body = env.get("/half/x")
        codes.add(code)
        if code == 200:
            assert json.loads(body)["sni"] == BACKEND_NAME
    # the share of the missing Service answers 500, never 502
    assert codes == {200, 500}


def san(kind, value):
    if kind == "URI":
        return {"type": "URI", "uri": value}
    return {"type": "Hostname", "hostname": value}


def test_subject_alt_names_are_checked_instead_of_the_hostname(env):
    env.wait(200)

    # the URI name matches; the hostname (SNI) is not the certificate's
    # and, with subjectAltNames, not checked
    env.apply(policy_doc(hostname="other.example.com",
                         sans=[san("Hostname", "nope.example.com"),
                               san("URI", BACKEND_URI)]))
    env.wait(200, sni="other.example.com")
    anc = env.policy_status()
    assert reason(anc[0]["conditions"], "Accepted") == ("True", "Accepted")

    # no name matches: the handshake fails
    env.apply(policy_doc(sans=[san("Hostname", "nope.example.com"),
                               san("URI", BACKEND_URI + "-other")]))
    env.wait(502)

    # the DNS name matches
    env.apply(policy_doc(hostname="other.example.com",
                         sans=[san("Hostname", BACKEND_NAME)]))
    code, body = env.wait(200, sni="other.example.com")
    assert json.loads(body)["client_cn"] == "gateway-client"

    # a matching name does not excuse a chain from another CA
    env.apply(policy_doc(ca="other-ca", sans=[san("URI", BACKEND_URI)]))
    env.wait(502)


def test_hostile_subject_alt_names_stay_data(env):
    env.wait(200)

    # quotes, braces, a semicolon and a '$' are written as data: nginx
    # loads the configuration and the other name still matches
    hostile = 'spiffe://x/";{}$host\\'
    env.apply(policy_doc(hostname="other.example.com",
                         sans=[san("URI", hostile), san("URI", BACKEND_URI)]))
    env.wait(200, sni="other.example.com")
    conf = "\n".join(p.read_text() for p in
                     (env.stack.state_dir / "conf").rglob("*.conf"))
    assert '"uri:spiffe://x/\\";{}$host\\\\"' in conf

    # a name nginx cannot be given (a newline) is never written: the
    # backend is not spoken to unchecked, its share answers 500
    env.apply(policy_doc(sans=[san("URI", BACKEND_URI + "\nx")]))
    env.wait(500)
    anc = env.policy_status()
    assert reason(anc[0]["conditions"], "Accepted") == ("False", "Invalid")
