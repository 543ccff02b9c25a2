"""Frontend client certificate validation (mTLS) from a Gateway's
spec.tls.frontend, with real TLS clients against a real nginx.

Beside the games Gateway (HTTP, 127.0.X.1) each test adds a Gateway
`mtls-gateway` on 127.0.X.2 with two HTTPS listeners (plus the port offset
without root), both serving Secret server-cert (a.example.com):

    https        port 443    default validation: AllowValidOnly, CA "ca"
    https-fall   port 8443   perPort: AllowInsecureFallback, CA "ca"

Clients: curl with a certificate signed by the CA, one signed by another
CA, and none.  Invalid caCertificateRefs are checked through `status -f`.
"""

import base64
import json
import subprocess

import pytest
import yaml

from conftest import PORT_OFFSET, cond, find_item, run_cli, wait_for

PORT = 443 + PORT_OFFSET
FALLBACK_PORT = 8443 + PORT_OFFSET
MARIO = "<title>Super Mario</title>"


# ------------------------------------------------------------ helpers

def openssl(*args):
    subprocess.run(["openssl", *map(str, args)], check=True,
                   capture_output=True)


def make_ca(tmp, name):
    crt, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
            "-subj", f"/CN={name}", "-keyout", key, "-out", crt)
    return crt, key


def make_signed(tmp, name, cn, ca, client=False):
    """A P-256 certificate for cn signed by ca: (crt, key) paths."""
    crt, key, csr = (tmp / f"{name}.crt", tmp / f"{name}.key",
                     tmp / f"{name}.csr")
    ext = tmp / f"{name}.ext"
    ext.write_text("extendedKeyUsage=clientAuth\n" if client
                   else f"subjectAltName=DNS:{cn}\n")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-subj", f"/CN={cn}", "-keyout", key, "-out", csr)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1],
            "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", crt)
    return crt, key


def curl(port, cacert, cert=None, path="/mario"):
    """GET https://a.example.com/path: the status code, or None when the
    connection failed (no HTTP answer at all)."""
    argv = ["curl", "-sS", "--max-time", "5", "-o", "/dev/null", "-w",
            "%{http_code}", "--cacert", str(cacert), "--resolve",
            f"a.example.com:{port}:{curl.addr}",
            f"https://a.example.com:{port}{path}"]
    if cert is not None:
        argv += ["--cert", str(cert[0]), "--key", str(cert[1])]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if res.returncode != 0:
        return None
    return int(res.stdout)


def gateway_doc(addr, default_refs, fallback_refs=None):
    def https(name, port):
        return {"name": name, "port": port, "protocol": "HTTPS",
                "hostname": "a.example.com",
                "allowedRoutes": {"namespaces": {"from": "Same"}},
                "tls": {"certificateRefs": [{"name": "server-cert"}]}}

    frontend = {"default": {"validation": {
        "caCertificateRefs": default_refs}}}
    if fallback_refs is not None:
        frontend["perPort"] = [{"port": 8443, "tls": {"validation": {
            "mode": "AllowInsecureFallback",
            "caCertificateRefs": fallback_refs}}}]

    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "mtls-gateway", "namespace": "default"},
            "spec": {"gatewayClassName": "nginx-gateway",
                     "addresses": [{"type": "IPAddress", "value": addr}],
                     "tls": {"frontend": frontend},
                     "listeners": [https("https", 443),
                                   https("https-fall", 8443)]}}


def ca_ref(name, kind="ConfigMap", namespace=None):
    ref = {"group": "", "kind": kind, "name": name}
    if namespace:
        ref["namespace"] = namespace
    return ref


def configmap_doc(name, crt, namespace="default"):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"ca.crt": crt.read_text()}}


def secret_doc(name, crt, key):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "default"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(crt.read_bytes()).decode(),
                     "tls.key": base64.b64encode(key.read_bytes()).decode()}}


def route_doc():
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": "mtls-route", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": "mtls-gateway"}],
            "hostnames": ["a.example.com"],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix",
                                      "value": "/mario"}}],
                "filters": [{"type": "URLRewrite", "urlRewrite": {
                    "path": {"type": "ReplaceFullPath",
                             "replaceFullPath": "/"}}}],
                "backendRefs": [{"name": "mario", "namespace": "mario-ns",
                                 "port": 80}]}]}}


class Certs:
    def __init__(self, tmp):
        self.dir = tmp / "certs"
        self.dir.mkdir()
        self.ca = make_ca(self.dir, "ca")
        self.other_ca = make_ca(self.dir, "other-ca")
        self.server = make_signed(self.dir, "server", "a.example.com",
                                  self.ca)
        self.good = make_signed(self.dir, "good", "client", self.ca, True)
        self.bad = make_signed(self.dir, "bad", "client", self.other_ca,
                               True)


@pytest.fixture
def mtls(stack):
    stack.serve("mario")
    c = Certs(stack.tmp)
    curl.addr = stack.net.gw2
    docs = [gateway_doc(stack.net.gw2, [ca_ref("ca")], [ca_ref("ca")]),
            configmap_doc("ca", c.ca[0]),
            secret_doc("server-cert", *c.server), route_doc()]
    stack.manifests.write("mtls.yaml", yaml.safe_dump_all(docs))
    stack.start_controller()
    wait_for(lambda: curl(PORT, c.ca[0], c.good) == 200, timeout=15,
             what="https://a.example.com/mario with a client certificate")
    c.stack = stack
    return c


def gateway_status(status):
    return find_item(status, "Gateway", "mtls-gateway", "default")["status"]


def listener_conds(status, name):
    for lst in gateway_status(status)["listeners"]:
        if lst["name"] == name:
            return lst["conditions"]
    raise KeyError(name)


def reason(conds, ctype):
    c = cond(conds, ctype)
    return c["status"], c["reason"]


# ------------------------------------------------------------ tests

def test_allow_valid_only_needs_a_certificate_the_ca_signed(mtls):
    assert curl(PORT, mtls.ca[0], mtls.good) == 200
    # no certificate, or one another CA signed: no HTTP answer at all
    assert curl(PORT, mtls.ca[0]) is None
    assert curl(PORT, mtls.ca[0], mtls.bad) is None

    # the handshake asks for a certificate and names the CA
    res = subprocess.run(
        ["openssl", "s_client", "-connect", f"{curl.addr}:{PORT}",
         "-servername", "a.example.com"], input="", capture_output=True,
        text=True, timeout=10)
    assert "Acceptable client certificate CA names" in res.stdout
    assert "CN = ca" in res.stdout.split(
        "Acceptable client certificate CA names")[1][:200]

    status = mtls.stack.controller.status()
    for ctype in ("Accepted", "ResolvedRefs", "Programmed"):
        assert reason(listener_conds(status, "https"), ctype)[0] == "True"


def test_insecure_fallback_port_accepts_any_client(mtls):
    assert curl(FALLBACK_PORT, mtls.ca[0], mtls.good) == 200
    assert curl(FALLBACK_PORT, mtls.ca[0], mtls.bad) == 200
    assert curl(FALLBACK_PORT, mtls.ca[0]) == 200

    gw = gateway_status(mtls.stack.controller.status())
    assert (reason(gw["conditions"], "InsecureFrontendValidationMode")
            == ("True", "ConfigurationChanged"))


def test_ca_rotation_is_applied(mtls):
    # the ConfigMap now trusts the other CA only: the good client is out
    docs = list(yaml.safe_load_all(mtls.stack.manifests.read("mtls.yaml")))
    for d in docs:
        if d["kind"] == "ConfigMap":
            d["data"]["ca.crt"] = mtls.other_ca[0].read_text()
    mtls.stack.manifests.write("mtls.yaml", yaml.safe_dump_all(docs))

    wait_for(lambda: curl(PORT, mtls.ca[0], mtls.bad) == 200, timeout=15,
             what="the other CA's client accepted")
    assert curl(PORT, mtls.ca[0], mtls.good) is None


def test_invalid_ca_references_conditions(tmp_path):
    c = Certs(tmp_path)
    gw = gateway_doc("127.0.0.1", [ca_ref("ca")])
    gw["spec"]["listeners"] = [
        {"name": n, "port": p, "protocol": "HTTPS",
         "tls": {"certificateRefs": [{"name": "server-cert"}]}}
        for n, p in (("https", 443), ("missing", 7443), ("kind", 8443),
                     ("grant", 6443), ("broken", 5443), ("partial", 4443))]
    gw["spec"]["listeners"].append({"name": "http", "port": 80,
                                    "protocol": "HTTP"})
    gw["spec"]["tls"]["frontend"]["perPort"] = [
        {"port": p, "tls": {"validation": {"caCertificateRefs": refs}}}
        for p, refs in ((7443, [ca_ref("nope")]),
                        (8443, [ca_ref("svc", kind="Service")]),
                        (6443, [ca_ref("ca", namespace="other")]),
                        (5443, [ca_ref("broken")]),
                        (4443, [ca_ref("nope"), ca_ref("ca")]))]
    broken = configmap_doc("broken", c.ca[0])
    broken["data"] = {"ca.crt": "-----BEGIN CERTIFICATE-----\nAAAA\n"
                                "-----END CERTIFICATE-----\n"}
    docs = [{"apiVersion": "gateway.networking.k8s.io/v1",
             "kind": "GatewayClass", "metadata": {"name": "nginx-gateway"},
             "spec": {"controllerName": "ngx-gateway.io/gateway-controller"}},
            gw, configmap_doc("ca", c.ca[0]),
            configmap_doc("ca", c.ca[0], namespace="other"), broken,
            secret_doc("server-cert", *c.server)]
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump_all(docs))

    status = json.loads(run_cli("status", "-f", path, "-o", "json").stdout)

    for name in ("https", "http"):
        conds = listener_conds(status, name)
        for ctype in ("Accepted", "ResolvedRefs"):
            assert reason(conds, ctype)[0] == "True", (name, conds)

    for name, why in (("missing", "InvalidCACertificateRef"),
                      ("kind", "InvalidCACertificateKind"),
                      ("grant", "RefNotPermitted"),
                      ("broken", "InvalidCACertificateRef")):
        conds = listener_conds(status, name)
        assert reason(conds, "ResolvedRefs") == ("False", why), (name, conds)
        assert (reason(conds, "Accepted")
                == ("False", "NoValidCACertificate")), (name, conds)
        assert reason(conds, "Programmed")[0] == "False", (name, conds)

    # one of two references usable: said so, but still serving
    conds = listener_conds(status, "partial")
    assert (reason(conds, "ResolvedRefs")
            == ("False", "InvalidCACertificateRef")), conds
    assert "default/nope" in cond(conds, "ResolvedRefs")["message"]
    assert reason(conds, "Accepted")[0] == "True", conds

    gw_conds = gateway_status(status)["conditions"]
    assert "InsecureFrontendValidationMode" not in [c["type"]
                                                    for c in gw_conds]
