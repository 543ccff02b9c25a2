"""HTTPS listeners terminated in nginx, with real TLS clients.

Beside the games Gateway (HTTP, 127.0.X.1) each test adds a Gateway
`tls-gateway` on 127.0.X.2 with two HTTPS listeners on port 443 (plus the
port offset without root):

    https      no hostname      Secret default-cert (c.example.com)
    https-a    a.example.com    Secret a-cert       (a.example.com)

and two routes: a.example.com /mario on https-a, c.example.com /tetris on
https. Clients are `curl --resolve ... --cacert` (the certificate must
verify for the name) and `openssl s_client -servername` (which certificate
the server sends for an SNI name).
"""

import base64
import os
import stat
import subprocess

import pytest
import yaml

from conftest import PORT_OFFSET, cond, find_item, wait_for

HTTPS_PORT = 443 + PORT_OFFSET
MARIO = "<title>Super Mario</title>"
TETRIS = "<title>Tetris</title>"


# ------------------------------------------------------------ helpers

def make_cert(tmp, name, cn):
    """A self-signed P-256 certificate for DNS name cn: (crt, key) paths."""
    crt, key = tmp / f"{name}.crt", tmp / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
         "ec_paramgen_curve:P-256", "-nodes", "-days", "30",
         "-subj", f"/CN={cn}", "-addext", f"subjectAltName=DNS:{cn}",
         "-keyout", str(key), "-out", str(crt)],
        check=True, capture_output=True)
    return crt, key


def fingerprint_pem(pem):
    res = subprocess.run(["openssl", "x509", "-noout", "-fingerprint",
                          "-sha256"], input=pem, capture_output=True,
                         text=True, check=True)
    return res.stdout.strip()


def fingerprint(crt):
    return fingerprint_pem(crt.read_text())


def served_fingerprint(addr, servername):
    """The fingerprint of the certificate nginx sends for SNI servername."""
    res = subprocess.run(
        ["openssl", "s_client", "-connect", f"{addr}:{HTTPS_PORT}",
         "-servername", servername],
        input="", capture_output=True, text=True, timeout=10)
    begin = res.stdout.find("-----BEGIN CERTIFICATE-----")
    end = res.stdout.find("-----END CERTIFICATE-----")
    assert begin >= 0 and end > begin, res.stdout + res.stderr
    return fingerprint_pem(res.stdout[begin:end + 25] + "\n")


def curl(addr, name, path, cacert, host=None):
    """GET https://name/path at addr, verified with cacert: (code, body).

    SNI is name; host, when given, replaces the Host header only.
    """
    argv = ["curl", "-sS", "--max-time", "5", "-o", "-", "-w",
            "\n%{http_code}", "--cacert", str(cacert), "--resolve",
            f"{name}:{HTTPS_PORT}:{addr}",
            f"https://{name}:{HTTPS_PORT}{path}"]
    if host is not None:
        argv += ["-H", f"Host: {host}"]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    if res.returncode != 0:
        return None, res.stderr
    body, _, code = res.stdout.rpartition("\n")
    return int(code), body


def secret_doc(name, crt, key):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": name, "namespace": "default"},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(crt.read_bytes()).decode(),
                     "tls.key": base64.b64encode(key.read_bytes()).decode()}}


def route_doc(name, section, hostname, prefix, service):
    return {
        "apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": "tls-gateway", "sectionName": section}],
            "hostnames": [hostname],
            "rules": [{
                "matches": [{"path": {"type": "PathPrefix",
                                      "value": prefix}}],
                "filters": [{"type": "URLRewrite", "urlRewrite": {
                    "path": {"type": "ReplaceFullPath",
                             "replaceFullPath": "/"}}}],
                "backendRefs": [{"name": service,
                                 "namespace": f"{service}-ns",
                                 "port": 80}]}]}}


def gateway_doc(addr):
    def https(name, secret, hostname=None):
        lst = {"name": name, "port": 443, "protocol": "HTTPS",
               "allowedRoutes": {"namespaces": {"from": "Same"}},
               "tls": {"certificateRefs": [{"name": secret}]}}
        if hostname:
            lst["hostname"] = hostname
        return lst

    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
            "metadata": {"name": "tls-gateway", "namespace": "default"},
            "spec": {"gatewayClassName": "nginx-gateway",
                     "addresses": [{"type": "IPAddress", "value": addr}],
                     "listeners": [https("https", "default-cert"),
                                   https("https-a", "a-cert",
                                         "a.example.com")]}}


class Tls:
    """The tls-gateway manifests and the certificates behind them."""

    def __init__(self, stack):
        self.stack = stack
        self.addr = stack.net.gw2
        self.dir = stack.tmp / "certs"
        self.dir.mkdir()
        self.default = make_cert(self.dir, "default", "c.example.com")
        self.a = make_cert(self.dir, "a", "a.example.com")

    def write(self, a_secret=None):
        docs = [gateway_doc(self.addr),
                secret_doc("default-cert", *self.default),
                a_secret or secret_doc("a-cert", *self.a),
                route_doc("a-route", "https-a", "a.example.com", "/mario",
                          "mario"),
                route_doc("c-route", "https", "c.example.com", "/tetris",
                          "tetris")]
        self.stack.manifests.write("tls.yaml",
                                   yaml.safe_dump_all(docs, sort_keys=False))

    def listener_conds(self, name):
        status = self.stack.controller.status()
        gw = find_item(status, "Gateway", "tls-gateway", "default")
        for lst in gw["status"]["listeners"]:
            if lst["name"] == name:
                return lst["conditions"]
        raise KeyError(name)

    def secrets_dir(self):
        return self.stack.state_dir / "secrets"

    def secret_files(self):
        return sorted(p.name for p in self.secrets_dir().iterdir())


@pytest.fixture
def tls(stack):
    stack.serve("mario")
    stack.serve("tetris")
    t = Tls(stack)
    t.write()
    stack.start_controller()
    wait_for(lambda: curl(t.addr, "a.example.com", "/mario", t.a[0])[0]
             == 200, timeout=15, what="https://a.example.com/mario")
    return t


def assert_true(conds, ctype):
    c = cond(conds, ctype)
    assert (c["status"], c["reason"]) == ("True", ctype), c


# ------------------------------------------------------------ tests

def test_sni_picks_the_certificate_and_host_the_route(tls):
    addr = tls.addr

    # the certificate of the listener SNI names; the catch-all's otherwise
    assert served_fingerprint(addr, "a.example.com") == fingerprint(tls.a[0])
    assert (served_fingerprint(addr, "c.example.com")
            == fingerprint(tls.default[0]))
    assert (served_fingerprint(addr, "unknown.example.com")
            == fingerprint(tls.default[0]))

    # curl verifies each certificate for its name, and Host routes
    code, body = curl(addr, "a.example.com", "/mario", tls.a[0])
    assert code == 200 and MARIO in body, (code, body[:200])
    code, body = curl(addr, "c.example.com", "/tetris", tls.default[0])
    assert code == 200 and TETRIS in body, (code, body[:200])
    code, body = curl(addr, "c.example.com", "/mario", tls.default[0])
    assert code == 404, (code, body[:200])

    # SNI and Host naming different listeners: misdirected
    code, _ = curl(addr, "a.example.com", "/tetris", tls.a[0],
                   host="c.example.com")
    assert code == 421
    code, _ = curl(addr, "c.example.com", "/mario", tls.default[0],
                   host="a.example.com")
    assert code == 421
    # ... but an unknown Host is the catch-all's listener, as SNI was
    code, _ = curl(addr, "c.example.com", "/", tls.default[0],
                   host="unknown.example.com")
    assert code == 404

    # the HTTP Gateway is untouched
    code, body = tls.stack.get("/mario")
    assert code == 200 and MARIO in body

    for name in ("https", "https-a"):
        conds = tls.listener_conds(name)
        for ctype in ("Accepted", "ResolvedRefs", "Programmed"):
            assert_true(conds, ctype)
    gw = find_item(tls.stack.controller.status(), "Gateway", "tls-gateway",
                   "default")
    assert_true(gw["status"]["conditions"], "Programmed")


def test_certificate_files_private_and_never_logged(tls):
    d = tls.secrets_dir()
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    files = tls.secret_files()
    assert len(files) == 2, files
    for f in files:
        st = (d / f).stat()
        assert stat.S_IMODE(st.st_mode) == 0o600, f
        assert st.st_uid == os.geteuid()

    key_lines = [line for crt_key in (tls.a, tls.default)
                 for line in crt_key[1].read_text().splitlines()
                 if "-----" not in line]
    key_b64 = [base64.b64encode(k.read_bytes()).decode()[:40]
               for _, k in (tls.a, tls.default)]
    logs = [tls.stack.controller.log, tls.stack.state_dir / "status.json"]
    logs += list((tls.stack.state_dir / "logs").iterdir())
    for path in logs:
        text = path.read_text(errors="replace")
        assert "PRIVATE KEY" not in text, path
        for needle in key_lines + key_b64:
            assert needle not in text, path


def test_rotated_secret_is_served_after_the_reload(tls):
    old_files = tls.secret_files()
    new = make_cert(tls.dir, "a2", "a.example.com")
    assert fingerprint(new[0]) != fingerprint(tls.a[0])

    tls.write(secret_doc("a-cert", *new))

    wait_for(lambda: served_fingerprint(tls.addr, "a.example.com")
             == fingerprint(new[0]), timeout=15, what="the new certificate")
    code, body = curl(tls.addr, "a.example.com", "/mario", new[0])
    assert code == 200 and MARIO in body, (code, body[:200])
    code, _ = curl(tls.addr, "a.example.com", "/mario", tls.a[0])
    assert code is None          # the old certificate no longer verifies

    # the old file went away once the new configuration was live
    files = wait_for(lambda: (tls.secret_files()
                              if len(tls.secret_files()) == 2 else None),
                     what="two certificate files")
    assert len(set(files) - set(old_files)) == 1, (old_files, files)


def test_broken_secret_refused_and_the_last_good_one_keeps_serving(tls):
    before = served_fingerprint(tls.addr, "a.example.com")
    broken = secret_doc("a-cert", *tls.a)
    broken["data"]["tls.key"] = base64.b64encode(b"not a key\n").decode()
    tls.write(broken)

    def refused():
        c = cond(tls.listener_conds("https-a"), "ResolvedRefs")
        return (c["status"], c["reason"]) == ("False",
                                               "InvalidCertificateRef")
    wait_for(refused, timeout=15, what="https-a InvalidCertificateRef")
    c = cond(tls.listener_conds("https-a"), "ResolvedRefs")
    assert "last valid version" in c["message"], c
    assert "not a key" not in c["message"], c      # no key material

    # a bad edit does not take HTTPS down: the version served before still
    # is, and the listener is still programmed
    assert served_fingerprint(tls.addr, "a.example.com") == before
    code, body = curl(tls.addr, "a.example.com", "/mario", tls.a[0])
    assert code == 200 and MARIO in body, (code, body[:200])
    assert_true(tls.listener_conds("https-a"), "Programmed")

    # the other listener and the HTTP Gateway keep serving
    code, body = curl(tls.addr, "c.example.com", "/tetris", tls.default[0])
    assert code == 200 and TETRIS in body, (code, body[:200])
    code, body = tls.stack.get("/tetris")
    assert code == 200 and TETRIS in body
    assert_true(tls.listener_conds("https"), "Programmed")

    # fixed again: served again
    tls.write()
    wait_for(lambda: curl(tls.addr, "a.example.com", "/mario", tls.a[0])[0]
             == 200, timeout=15, what="https://a.example.com/mario again")
    # status is written right after nginx confirms: poll it too
    wait_for(lambda: cond(tls.listener_conds("https-a"),
                          "ResolvedRefs")["status"] == "True",
             timeout=15, what="https-a ResolvedRefs True again")
    assert_true(tls.listener_conds("https-a"), "ResolvedRefs")
