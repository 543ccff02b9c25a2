"""
pytest fixture `apiserver`: the kube-apiserver stand-in on a free port.

    def test_x(apiserver):
        apiserver.client.apply({...})

    @pytest.mark.parametrize("apiserver", [{"tls": True}], indirect=True)
    def test_tls(apiserver): ...

Parameters (all optional): tls (bool: HTTPS with a CA made by openssl,
and a bearer token), token (str; default a random one with tls, none
without), crds (list of directories; default the Gateway API experimental
CRDs), history (int), args (list of extra server arguments).
"""

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from urllib.parse import urlencode

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import kubeclient  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
# the v1.6.1 experimental CRDs without their schemas (crds/strip.py)
CRDS = os.environ.get("NGX_GATEWAY_CRDS") or os.path.join(HERE, "crds")
SERVER = os.path.join(HERE, "apiserver.py")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable


def make_certs(d):
    """A CA and a server certificate for 127.0.0.1/localhost in d;
    returns (ca, cert, key) paths."""
    ca, ca_key = os.path.join(d, "ca.crt"), os.path.join(d, "ca.key")
    crt, key = os.path.join(d, "server.crt"), os.path.join(d, "server.key")
    csr, ext = os.path.join(d, "server.csr"), os.path.join(d, "server.ext")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
          "-nodes"]

    def run(*args):
        subprocess.run(["openssl", *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    run("req", "-x509", *ec, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/CN=standin-ca",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=apiserver")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n"
                "authorityKeyIdentifier=keyid\n"
                "subjectKeyIdentifier=hash\n")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key,
        "-CAcreateserial", "-out", crt, "-days", "2", "-extfile", ext)
    return ca, crt, key


class ApiServer:
    """A running stand-in.  url, token, cacert, client, port, data
    (its persistence file), kubeconfig (a kubeconfig file for it), log."""

    def __init__(self, tmp, tls=False, token=None, crds=None, history=None,
                 args=()):
        self.tmp = str(tmp)
        self.tls = tls
        self.token = token if token is not None else (
            secrets.token_hex(16) if tls else None)
        self.crds = [CRDS] if crds is None else list(crds)
        self.history = history
        self.extra = list(args)
        self.port = 0
        self.proc = None
        self.data = os.path.join(self.tmp, "apiserver-data.jsonl")
        self.log = os.path.join(self.tmp, "apiserver.log")
        self.cacert = self.cert = self.key = None
        if tls:
            self.cacert, self.cert, self.key = make_certs(self.tmp)
        self.start()
        scheme = "https" if tls else "http"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)
        self.client = kubeclient.Client(self.url, self.token, self.cacert)
        self.kubeconfig = os.path.join(self.tmp, "kubeconfig")
        self._write_kubeconfig()

    def start(self):
        """Starts the server (on the same port after the first start)."""
        port_file = os.path.join(self.tmp, "apiserver.port")
        if os.path.exists(port_file):
            os.unlink(port_file)
        cmd = [PYTHON, SERVER, "--listen", "127.0.0.1:%d" % self.port,
               "--port-file", port_file, "--data", self.data]
        if self.crds:
            cmd += ["--crds", *self.crds]
        if self.tls:
            cmd += ["--tls-cert", self.cert, "--tls-key", self.key]
        if self.token:
            cmd += ["--token", self.token]
        if self.history is not None:
            cmd += ["--history", str(self.history)]
        cmd += self.extra
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while not os.path.exists(port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("apiserver exited with %d; see %s"
                                   % (self.proc.returncode, self.log))
            if time.monotonic() > deadline:
                raise RuntimeError("apiserver did not start; see "
                                   + self.log)
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read())

    def kill(self):
        """SIGKILL: the server dies at once (objects are kept on disk)."""
        self._signal(signal.SIGKILL)

    def stop(self):
        self._signal(signal.SIGTERM)

    def _signal(self, sig):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def restart(self):
        """Kill and start again on the same port: the objects and the
        resourceVersion survive, the watch history does not."""
        self.kill()
        self.start()

    def control(self, endpoint, http_method=None, /, **params):
        """A /_control/ endpoint with params as its query (POST, or GET
        for requests/healthz); returns the decoded JSON answer."""
        method = http_method or (
            "GET" if endpoint in ("requests", "healthz") else "POST")
        q = "?" + urlencode(params) if params else ""
        conn = self.client.connect()
        try:
            conn.request(method, "/_control/" + endpoint + q)
            resp = conn.getresponse()
            body = resp.read()
        finally:
            conn.close()
        if resp.status >= 400:
            raise kubeclient.KubeError(resp.status, body)
        return json.loads(body)

    def _write_kubeconfig(self):
        cluster = {"server": self.url}
        if self.cacert:
            cluster["certificate-authority"] = self.cacert
        user = {"token": self.token} if self.token else {}
        cfg = {"apiVersion": "v1", "kind": "Config",
               "clusters": [{"name": "standin", "cluster": cluster}],
               "users": [{"name": "standin", "user": user}],
               "contexts": [{"name": "standin", "context": {
                   "cluster": "standin", "user": "standin",
                   "namespace": "default"}}],
               "current-context": "standin"}
        with open(self.kubeconfig, "w") as f:
            yaml.safe_dump(cfg, f, default_flow_style=False)


@pytest.fixture
def apiserver(request, tmp_path):
    params = getattr(request, "param", None) or {}
    srv = ApiServer(tmp_path, **params)
    try:
        yield srv
    finally:
        srv.stop()


# ------------------------------------------------ test_controller*.py

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure of a controller test, its logs (ctlfixture.py)."""
    outcome = yield
    rep = outcome.get_result()
    if rep.when != "call" or not rep.failed:
        return
    ctl = sys.modules.get("ctlfixture")
    if ctl is not None:
        rep.sections.extend(ctl.failure_sections(item))


def pytest_terminal_summary(terminalreporter):
    """The convergence times test_controller*.py measured."""
    ctl = sys.modules.get("ctlfixture")
    if ctl is None or not ctl.CONVERGENCE:
        return
    tr = terminalreporter
    tr.write_sep("-", "controller view == API server view after")
    for test, what, took in ctl.CONVERGENCE:
        tr.write_line("%6.2f s  %s (%s)" % (took, what, test))
