"""The controller (`ngx-gateway run -f`) under valgrind (memcheck).

The controller runs standalone under valgrind --leak-check=full (nginx,
which it starts, runs natively: --trace-children=no) on manifests that
use what landed last: a port front carrying HTTPS, TLS Terminate and TLS
Passthrough by server name, an HTTP port with a GRPCRoute (the h2c
front), a ListenerSet, a BackendTLSPolicy with its CA ConfigMap,
RequestMirror and sessionPersistence.  Then, one at a time, each waited
for in the status the controller writes: the CA bundle is damaged and
repaired, a second policy conflicts with the first, the ListenerSet goes,
the listeners' certificate Secret goes and comes back, a file that does
not parse and an object the API server would refuse come and go.
SIGTERM; the controller must exit 0 and its valgrind log must report no
error and nothing definitely, indirectly or possibly lost.

valgrind is a build dependency (deploy/deps.sh): missing, the test fails.
"""

import base64
import http.client
import json
import shutil
import signal
import ssl
import socket
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import (BIN, CONTROLLER, MARIO_PORT, PORT_OFFSET, Controller,
                      cond, find_item, listener, run_cli,
                      wait_for)
from test_l4 import self_signed

VALGRIND = shutil.which("valgrind")
NAMESPACE = "default"
SHARED, HTTP, LSET = 9443, 9080, 9081
SECURE = "secure.example.com"
TERM = "app.term.example.com"
CONVERGE = 120.0        # a reconcile under valgrind, on a busy machine
EXIT_DEADLINE = 180.0   # valgrind's leak check at exit is slow


# --------------------------------------------------------------- manifests

def b64(path):
    return base64.b64encode(Path(path).read_bytes()).decode()


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


def gateway_docs():
    listeners = [
        {"name": "https", "port": SHARED, "protocol": "HTTPS",
         "hostname": SECURE,
         "tls": {"certificateRefs": [{"name": "cert"}]}},
        {"name": "term", "port": SHARED, "protocol": "TLS",
         "hostname": "*.term.example.com",
         "tls": {"mode": "Terminate", "certificateRefs": [{"name": "cert"}]}},
        {"name": "pass", "port": SHARED, "protocol": "TLS",
         "hostname": "*.pass.example.com", "tls": {"mode": "Passthrough"}},
        {"name": "http", "port": HTTP, "protocol": "HTTP"},
    ]
    return [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "vg"},
         "spec": {"controllerName": CONTROLLER}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "vg", "namespace": NAMESPACE},
         "spec": {"gatewayClassName": "vg",
                  "allowedListeners": {"namespaces": {"from": "Same"}},
                  "listeners": listeners}},
    ]


def secret_doc(crt, key):
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "cert", "namespace": NAMESPACE},
            "type": "kubernetes.io/tls",
            "data": {"tls.crt": b64(crt), "tls.key": b64(key)}}


def listenerset_doc():
    return {"apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "ListenerSet",
            "metadata": {"name": "extra", "namespace": NAMESPACE},
            "spec": {"parentRef": {"name": "vg"},
                     "listeners": [{"name": "more", "port": LSET,
                                    "protocol": "HTTP",
                                    "hostname": "more.example.com"}]}}


def configmap_doc(text):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "ca", "namespace": NAMESPACE},
            "data": {"ca.crt": text}}


def policy_doc(name, created):
    return {"apiVersion": "gateway.networking.k8s.io/v1",
            "kind": "BackendTLSPolicy",
            "metadata": {"name": name, "namespace": NAMESPACE,
                         "creationTimestamp": created},
            "spec": {"targetRefs": [{"group": "", "kind": "Service",
                                     "name": "secure"}],
                     "validation": {
                         "hostname": "secure.internal",
                         "caCertificateRefs": [{"group": "",
                                                "kind": "ConfigMap",
                                                "name": "ca"}]}}}


def routes_docs():
    def parents(*sections):
        return [{"name": "vg", "sectionName": s} for s in sections]

    web = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
           "metadata": {"name": "web", "namespace": NAMESPACE},
           "spec": {
               "parentRefs": parents("https", "http")
               + [{"kind": "ListenerSet", "name": "extra"}],
               "rules": [
                   {"matches": [{"path": {"type": "PathPrefix",
                                          "value": "/cart"}}],
                    "sessionPersistence": {"sessionName": "cart-id"},
                    "backendRefs": [{"name": "echo", "port": MARIO_PORT}]},
                   {"matches": [{"path": {"type": "PathPrefix",
                                          "value": "/mirror"}}],
                    "filters": [{"type": "RequestMirror",
                                 "requestMirror": {
                                     "backendRef": {"name": "echo",
                                                    "port": MARIO_PORT},
                                     "percent": 50}}],
                    "backendRefs": [{"name": "echo", "port": MARIO_PORT}]},
                   {"matches": [{"path": {"type": "PathPrefix",
                                          "value": "/secure"}}],
                    "backendRefs": [{"name": "secure", "port": 8443}]},
                   {"backendRefs": [{"name": "echo", "port": MARIO_PORT}]},
               ]}}
    grpc = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GRPCRoute",
            "metadata": {"name": "grpc", "namespace": NAMESPACE},
            "spec": {"parentRefs": parents("http"),
                     "hostnames": ["grpc.example.com"],
                     "rules": [{"backendRefs": [{"name": "echo",
                                                 "port": MARIO_PORT}]}]}}
    term = {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "TLSRoute",
            "metadata": {"name": "term", "namespace": NAMESPACE},
            "spec": {"parentRefs": parents("term"), "hostnames": [TERM],
                     "rules": [{"backendRefs": [{"name": "echo",
                                                 "port": MARIO_PORT}]}]}}
    return [web, grpc, term]


# --------------------------------------------------------------- controller

class ValgrindController(Controller):
    """`ngx-gateway run` under valgrind; nginx (exec'd) runs natively."""

    def __init__(self, manifests, state_dir, log, net, vlog):
        super().__init__(manifests, state_dir, log, net)
        self.vlog = vlog
        self.argv = [VALGRIND, "--leak-check=full",
                     "--show-leak-kinds=definite,indirect,possible",
                     "--errors-for-leak-kinds=definite,indirect,possible",
                     "--error-exitcode=99", "--trace-children=no",
                     "--child-silent-after-fork=yes",
                     f"--log-file={vlog}"] + self.argv

    def wait_live(self):
        wait_for(lambda: (not self.running()
                          or (self.log_has(msg="configuration live")
                              and (self.state_dir / "status.json")
                              .is_file())),
                 timeout=CONVERGE, what="configuration live")
        assert self.running(), (f"controller exited "
                                f"{self.proc.returncode}:\n{self.text()}")

    def finish(self):
        """SIGTERM; the exit status once valgrind has written its log."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(EXIT_DEADLINE)
        except subprocess.TimeoutExpired:
            self.killed = True
            self.proc.kill()
            self.proc.wait()
        self.returncode = self.proc.returncode
        return self.returncode


def status(c):
    res = run_cli("status", "--state-dir", c.state_dir, "-o", "json")
    return json.loads(res.stdout)


def policy_cond(st, name, ctype):
    p = find_item(st, "BackendTLSPolicy", name, NAMESPACE)
    if p is None or not p.get("status", {}).get("ancestors"):
        return None
    return cond(p["status"]["ancestors"][0]["conditions"], ctype)


def wait_status(c, check, what):
    """Until check(status) holds; the status the controller wrote."""
    last = [None]

    def probe():
        assert c.running(), f"controller exited:\n{c.text()[-3000:]}"
        last[0] = status(c)
        try:
            return check(last[0])
        except (KeyError, TypeError, AssertionError):
            return False
    try:
        wait_for(probe, timeout=CONVERGE, interval=0.5, what=what)
    except AssertionError as e:
        raise AssertionError(f"{e}\nlast status: {last[0]}") from None


def has(st, kind, name):
    try:
        find_item(st, kind, name, NAMESPACE)
    except KeyError:
        return False
    return True


def lcond(st, name, ctype):
    _, lst = listener(st, name, gateway="vg", namespace=NAMESPACE)
    return cond(lst["conditions"], ctype)


def is_(c, status, reason=None):
    return (c is not None and c["status"] == status
            and (reason is None or c["reason"] == reason))


def get(addr, port, path, host, tls=False):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(addr, port, timeout=10,
                                           context=ctx)
        conn.sock = ctx.wrap_socket(
            socket.create_connection((addr, port), timeout=10),
            server_hostname=host)
    else:
        conn = http.client.HTTPConnection(addr, port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        res = conn.getresponse()
        res.read()
        return res.status
    finally:
        conn.close()


# --------------------------------------------------------------- the test

@pytest.fixture
def vg(stack):
    if VALGRIND is None:
        pytest.fail("valgrind is missing: run `make deps`", pytrace=False)
    tmp = Path(stack.tmp)
    stack.echo("mario", NAMESPACE, "echo-1")
    yield stack, tmp
    stack.procs.teardown()


def test_controller_through_changes_under_valgrind(vg):
    stack, tmp = vg
    net = stack.net
    crt, key = self_signed(tmp, SECURE)
    ca_crt, _ = self_signed(tmp, "backend-ca")
    ca_text = Path(ca_crt).read_text()

    mdir = tmp / "vg"
    mdir.mkdir()
    scratch = tmp / "vg-scratch"
    scratch.mkdir()

    def write(name, docs):
        new = scratch / name
        new.write_text(yaml.safe_dump_all(docs, sort_keys=False))
        new.replace(mdir / name)

    def remove(name):
        (mdir / name).replace(scratch / (name + ".gone"))

    write("gateway.yaml", gateway_docs())
    write("secret.yaml", [secret_doc(crt, key)])
    write("lset.yaml", [listenerset_doc()])
    write("ca.yaml", [configmap_doc(ca_text)])
    write("policy.yaml", [policy_doc("p1", "2026-01-01T00:00:00Z")])
    write("routes.yaml", routes_docs()
          + service("echo", net.mario, MARIO_PORT)
          + service("secure", net.tetris, 8443))

    vlog = tmp / "controller.valgrind.log"
    c = ValgrindController(mdir, stack.state_dir, tmp / "controller.log",
                           net, vlog)
    stack.controller = stack.procs.add(c)
    c.start()

    wait_status(c, lambda st: (
        all(is_(lcond(st, n, "Programmed"), "True")
            for n in ("https", "term", "pass", "http"))
        and is_(policy_cond(st, "p1", "Accepted"), "True", "Accepted")),
        "every listener Programmed, the policy Accepted")

    # traffic through both fronts, the ListenerSet, a mirror, a session
    shared, http_port = SHARED + PORT_OFFSET, HTTP + PORT_OFFSET
    assert get(net.gw, shared, "/", SECURE, tls=True) == 200
    assert get(net.gw, http_port, "/mirror", "x.example.com") == 200
    assert get(net.gw, http_port, "/cart", "x.example.com") == 200
    wait_for(lambda: get(net.gw, LSET + PORT_OFFSET, "/",
                         "more.example.com") == 200,
             timeout=CONVERGE, what="the ListenerSet's listener")

    # 1. the CA bundle damaged: NoValidCACertificate; then repaired
    write("ca.yaml", [configmap_doc("-----BEGIN CERTIFICATE-----\n"
                                    "bm90IGEgY2VydGlmaWNhdGU=\n"
                                    "-----END CERTIFICATE-----\n")])
    wait_status(c, lambda st: is_(policy_cond(st, "p1", "Accepted"),
                                  "False", "NoValidCACertificate"),
                "p1 Accepted=False/NoValidCACertificate")
    write("ca.yaml", [configmap_doc(ca_text)])
    wait_status(c, lambda st: is_(policy_cond(st, "p1", "Accepted"),
                                  "True"), "p1 Accepted again")

    # 2. a newer policy on the same Service; the ListenerSet goes
    write("policy.yaml", [policy_doc("p1", "2026-01-01T00:00:00Z"),
                          policy_doc("p2", "2026-02-01T00:00:00Z")])
    remove("lset.yaml")
    wait_status(c, lambda st: (
        is_(policy_cond(st, "p2", "Accepted"), "False", "Conflicted")
        and not has(st, "ListenerSet", "extra")),
        "p2 Conflicted, the ListenerSet gone")

    # 3. the certificate goes (HTTPS and Terminate lose it), comes back
    remove("secret.yaml")
    wait_status(c, lambda st: (
        is_(lcond(st, "term", "ResolvedRefs"), "False",
            "InvalidCertificateRef")
        and is_(lcond(st, "https", "ResolvedRefs"), "False",
                "InvalidCertificateRef")),
        "the TLS listeners without their certificate")
    write("secret.yaml", [secret_doc(crt, key)])
    wait_status(c, lambda st: all(is_(lcond(st, n, "Programmed"), "True")
                                  for n in ("https", "term")),
                "the TLS listeners Programmed again")
    assert get(net.gw, shared, "/", SECURE, tls=True) == 200

    # 4. a file that does not parse, an object the API server would
    # refuse; then a good file in their place
    (mdir / "broken.yaml").write_text("kind: [unclosed\n")
    bad = policy_doc("p3", "2026-03-01T00:00:00Z")
    del bad["spec"]["targetRefs"]
    write("refused.yaml", [bad])
    wait_for(lambda: "broken.yaml" in c.text()
             and c.log_has(msg="invalid object", kind="BackendTLSPolicy"),
             timeout=CONVERGE, what="the parse error and the refusal logged")
    (mdir / "broken.yaml").unlink()
    remove("refused.yaml")
    write("lset.yaml", [listenerset_doc()])
    wait_status(c, lambda st: (
        has(st, "ListenerSet", "extra")
        and is_(cond(find_item(st, "ListenerSet", "extra",
                               NAMESPACE)["status"]["conditions"],
                     "Accepted"), "True")),
        "the ListenerSet back")

    rc = c.finish()
    log = vlog.read_text(errors="replace")
    tail = log[-4000:]
    assert f"{BIN} run -f" in log, log[:2000]
    assert "ERROR SUMMARY: 0 errors" in log, tail
    assert ("no leaks are possible" in log
            or ("definitely lost: 0 bytes" in log
                and "indirectly lost: 0 bytes" in log
                and "possibly lost: 0 bytes" in log)), tail
    assert not c.killed, "the controller did not exit after SIGTERM"
    assert rc == 0, f"exit status {rc}\n{tail}\n{c.text()[-2000:]}"
    print("\n".join(line.split("== ", 1)[-1] for line in log.splitlines()
                    if "ERROR SUMMARY" in line or "lost:" in line
                    or "in use at exit" in line))
    # every change was rendered and taken by nginx
    for bad in ("rendering failed", "configuration rejected"):
        assert bad not in c.text(), c.text()[-3000:]
