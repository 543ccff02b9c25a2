#!/usr/bin/python3
"""Replay the data-plane TRAFFIC of the Gateway API v1.6.1 conformance tests.

For each traffic/<TestName>.yaml (format: /work/briefs/traffic-format.md,
summarised in README.md) this:

  1. builds the manifest directory the suite would have applied, with
     replay.py's builder (base manifests, the Setup Secrets/ConfigMaps,
     the test's YAML, one address per Gateway);
  2. starts one echo process per Pod of every Deployment (replicas of
     them, POD_NAME `<deployment>-<hash>-<hash>`, NAMESPACE, each on its
     own 127.0.B.x address with the container's ports: HTTP 3000, h2c
     3001, HTTPS 8443 when TLS_SERVER_CERT is set; gRPC echo on 3000 for
     GRPC_ECHO_SERVER) and points each Service's EndpointSlice at the Pods
     its selector picks, as the EndpointSlice controller would;
  3. runs a real nginx with our modules under `ngx-gateway run -f DIR`
     (standalone), waits for the configuration to be live and the
     Gateway Programmed;
  4. sends every request of the test with real clients (http.client, ssl,
     grpcio) and checks the answers with the semantics of the upstream
     helpers (conformance/utils/http/http.go CompareRequest and
     MakeRequestAndExpectEventuallyConsistentResponse: the same answer 3
     times in a row within a deadline; weighted splits as utils/weight).

Usage: /usr/bin/python3 test/conformance/traffic.py [-k NAME] [-v]
Needs root (ports 80/443, 127.0.0.0/8 addresses). Exit status: non-zero
when a test not listed in known-traffic-failures.txt fails or a listed
test passes.
"""

import argparse
import concurrent.futures
import copy
import fcntl
import hashlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "backends"))

import replay  # noqa: E402  (the manifest builder, not copied)

TRAFFIC_DIR = os.path.join(HERE, "traffic")
KNOWN_FAILURES = os.path.join(HERE, "known-traffic-failures.txt")
BACKENDS = os.path.join(os.path.dirname(HERE), "backends")
ECHO = os.path.join(BACKENDS, "echo.py")
GRPC_ECHO = os.path.join(BACKENDS, "grpc_echo.py")
PYTHON = "/usr/bin/python3"

# conformance/utils/config TimeoutConfig defaults: 3 consecutive
# successes; MaxTimeToConsistency is 30 s upstream (--consistency).
CONSECUTIVE = 3
REQUEST_TIMEOUT = 10.0
START_DEADLINE = 30.0
LOCK_DIR = "/tmp/gwit-netlocks"      # shared with test/integration
GW_HOSTS = range(1, 50)              # 127.0.B.1-49: Gateways
POD_HOSTS = range(50, 250)           # 127.0.B.50-249: Pods


class Fail(Exception):
    """A traffic expectation did not hold; the message says how."""


# --------------------------------------------------------------------------
# Addresses: one block 127.0.B.* per run, reserved like the integration
# tests' blocks (flock on /tmp/gwit-netlocks/B)


def lock_block():
    os.makedirs(LOCK_DIR, mode=0o777, exist_ok=True)
    start = (os.getpid() * 53) % 200
    for i in range(200):
        block = 20 + (start + i) % 200
        fd = os.open(os.path.join(LOCK_DIR, str(block)),
                     os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        return block, fd
    raise SystemExit("no free block of loopback addresses 127.0.20-219.*")


# --------------------------------------------------------------------------
# Pods: the Deployments of the manifests, as echo processes


def env_of(container):
    return {e["name"]: e.get("value", "")
            for e in container.get("env", []) if "name" in e}


def pod_hash(*parts):
    return hashlib.sha1("/".join(parts).encode()).hexdigest()


def is_tcp_echo(env):
    return bool(env.get("TCP_ECHO_SERVER") or env.get("UDP_ECHO_SERVER"))


class Pod:
    """One replica of a Deployment: an echo process on its own address."""

    def __init__(self, deployment, index, ip, workdir, secrets):
        md = deployment["metadata"]
        tmpl = deployment["spec"]["template"]
        self.namespace = md.get("namespace", "default")
        self.deployment = md["name"]
        h = pod_hash(self.namespace, self.deployment)
        # <deployment>-<replicaset hash>-<pod hash>, as the suite's
        # weight helper strips the last two parts to find the backend
        self.name = "%s-%s-%s" % (self.deployment, h[:9],
                                  pod_hash(h, str(index))[:5])
        self.labels = tmpl.get("metadata", {}).get("labels", {})
        self.ip = ip
        self.container = tmpl["spec"]["containers"][0]
        self.env = env_of(self.container)
        self.log = os.path.join(workdir, "pod-%s.log" % self.name)
        self.files = os.path.join(workdir, "pod-%s" % self.name)
        self.secrets = secrets
        self.tmpl = tmpl
        self.proc = None
        self.argv = self.command()

    def mounted(self, path):
        """A file under a Secret volumeMount, written out for the echo."""
        for vm in self.container.get("volumeMounts", []):
            mount = vm["mountPath"].rstrip("/") + "/"
            if not path.startswith(mount):
                continue
            rel = path[len(mount):]
            for vol in self.tmpl["spec"].get("volumes", []):
                if vol["name"] != vm["name"] or "secret" not in vol:
                    continue
                sec = self.secrets.get((self.namespace,
                                        vol["secret"]["secretName"]))
                if sec is None:
                    return None
                key = rel
                for item in vol["secret"].get("items", []):
                    if item["path"] == rel:
                        key = item["key"]
                data = sec.get(key)
                if data is None:
                    return None
                os.makedirs(self.files, exist_ok=True)
                out = os.path.join(self.files, rel.replace("/", "_"))
                with open(out, "w") as f:
                    f.write(data)
                return out
        return None

    def command(self):
        image = self.container.get("image", "")
        if "echo-basic" not in image or is_tcp_echo(self.env):
            return None       # coredns, TCP/UDP echo: not an HTTP pod
        ident = ["--namespace", self.namespace, "--pod", self.name]
        if self.env.get("GRPC_ECHO_SERVER"):
            return [PYTHON, GRPC_ECHO, "--conformance", "--listen",
                    "%s:%s" % (self.ip, self.env.get("GRPC_PORT", "3000"))
                    ] + ident
        argv = [PYTHON, ECHO,
                "--listen", "%s:%s" % (self.ip,
                                       self.env.get("HTTP_PORT", "3000")),
                "--h2c-listen", "%s:%s" % (self.ip,
                                           self.env.get("H2C_PORT", "3001"))]
        cert = self.env.get("TLS_SERVER_CERT")
        key = self.env.get("TLS_SERVER_PRIVKEY")
        if cert and key:
            cert, key = self.mounted(cert), self.mounted(key)
            if cert and key:
                argv += ["--https-listen", "%s:%s" % (
                    self.ip, self.env.get("HTTPS_PORT", "8443")),
                    "--tls-cert", cert, "--tls-key", key]
                ca = self.env.get("TLS_CLIENT_CACERTS")
                ca = self.mounted(ca) if ca else None
                if ca:
                    argv += ["--tls-client-ca", ca]
        return argv + ident

    def start(self):
        if self.argv is None:
            return
        out = open(self.log, "w")
        self.proc = subprocess.Popen(self.argv, stdout=out,
                                     stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        out.close()

    def wait_ready(self, deadline):
        if self.proc is None:
            return
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Fail("pod %s exited: %s" % (self.name, self.text()))
            if "listening on" in self.text():
                return
            time.sleep(0.05)
        raise Fail("pod %s did not start" % self.name)

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def secret_data(doc):
    data = dict(doc.get("stringData") or {})
    for k, v in (doc.get("data") or {}).items():
        import base64
        data[k] = base64.b64decode(v).decode()
    return data


class Pods:
    """Every Pod of the run; base Deployments are started once and kept,
    a test's own Deployments are started for it and stopped after it."""

    def __init__(self, block, workdir):
        self.block = block
        self.workdir = workdir
        self.pods = {}            # (ns, deployment, spec digest) -> [Pod]
        self.free = list(POD_HOSTS)

    def ensure(self, docs):
        """The Pods of the Deployments in docs, started; returns them and
        the keys started for this call only."""
        secrets = {(d["metadata"].get("namespace", "default"),
                    d["metadata"]["name"]): secret_data(d)
                   for d in docs if d.get("kind") == "Secret"}
        out = []
        started = []
        for d in docs:
            if d.get("kind") != "Deployment":
                continue
            md = d["metadata"]
            key = (md.get("namespace", "default"), md["name"],
                   pod_hash(json.dumps(d, sort_keys=True)))
            if key not in self.pods:
                replicas = d.get("spec", {}).get("replicas", 1)
                pods = []
                for i in range(replicas):
                    if not self.free:
                        raise Fail("replay error: out of pod addresses")
                    ip = "127.0.%d.%d" % (self.block, self.free.pop(0))
                    pods.append(Pod(d, i, ip, self.workdir, secrets))
                for p in pods:
                    p.start()
                self.pods[key] = pods
                started.append(key)
            out += self.pods[key]
        deadline = time.monotonic() + START_DEADLINE
        for p in out:
            p.wait_ready(deadline)
        return out, started

    def release(self, keys):
        for key in keys:
            for p in self.pods.pop(key, []):
                p.stop()
                self.free.append(int(p.ip.rsplit(".", 1)[1]))

    def stop_all(self):
        self.release(list(self.pods))


# --------------------------------------------------------------------------
# Manifests


def selects(selector, labels):
    return bool(selector) and all(labels.get(k) == v
                                  for k, v in selector.items())


def wire_endpoints(docs, pods):
    """Each replay EndpointSlice (one per Service with a selector) lists the
    ready Pods the Service's selector picks."""
    services = {(d["metadata"].get("namespace", "default"),
                 d["metadata"]["name"]): d
                for d in docs if d.get("kind") == "Service"}
    for d in docs:
        if d.get("kind") != "EndpointSlice" or \
                not d["metadata"]["name"].endswith("-replay"):
            continue
        ns = d["metadata"].get("namespace", "default")
        svc = services.get(
            (ns, d["metadata"]["labels"]["kubernetes.io/service-name"]))
        selector = svc.get("spec", {}).get("selector", {}) if svc else {}
        d["endpoints"] = [
            {"addresses": [p.ip], "conditions": {"ready": True},
             "targetRef": {"kind": "Pod", "namespace": p.namespace,
                           "name": p.name}}
            for p in pods
            if p.namespace == ns and selects(selector, p.labels)]


def place_gateways(docs, block):
    """replay.prepare gives each Gateway 127.0.1.N; move them into this
    run's block (parallel runs must not share addresses)."""
    for d in docs:
        if d.get("kind") != "Gateway":
            continue
        for a in d.get("spec", {}).get("addresses", []):
            v = a.get("value", "")
            if v.startswith("127.0.1."):
                n = int(v.rsplit(".", 1)[1])
                if n not in GW_HOSTS:
                    raise Fail("replay error: too many Gateways")
                a["value"] = "127.0.%d.%d" % (block, n)


def test_manifests(spec):
    """The test's manifests: expect/<Test>.yaml's list, else its own."""
    path = os.path.join(replay.EXPECT_DIR, spec["name"] + ".yaml")
    if os.path.exists(path):
        with open(path) as f:
            expect = yaml.safe_load(f)
        if expect.get("manifests"):
            return expect["manifests"]
    return spec.get("manifests", [])


def find(docs, kind, ref):
    ns, _, name = ref.rpartition("/")
    for d in docs:
        if replay.obj_key(d) == (kind, ns, name):
            return d
    raise Fail("replay error: no %s %s in the manifests" % (kind, ref))


# --------------------------------------------------------------------------
# nginx + controller


class Controller:
    def __init__(self, workdir, block):
        self.mdir = os.path.join(workdir, "manifests")
        os.makedirs(self.mdir, exist_ok=True)
        self.state = tempfile.mkdtemp(prefix="gwtr-", dir="/tmp")
        self.log = os.path.join(workdir, "controller.log")
        self.block = block
        self.proc = None

    def write(self, docs):
        tmp = os.path.join(os.path.dirname(self.mdir), "manifests.new")
        with open(tmp, "w") as f:
            yaml.safe_dump_all(docs, f, sort_keys=False)
        os.replace(tmp, os.path.join(self.mdir, "manifests.yaml"))

    def text(self):
        try:
            with open(self.log, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def lives(self):
        return self.text().count("configuration live")

    def start(self):
        out = open(self.log, "w")
        self.proc = subprocess.Popen(
            [replay.BINARY, "run", "-f", self.mdir, "--state-dir",
             self.state, "--controller-name", replay.CONTROLLER,
             "--default-address", "127.0.%d.250" % self.block,
             "--worker-processes", "1", "--admin-address", "off"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        out.close()
        self.wait_live(0)

    def wait_live(self, before):
        deadline = time.monotonic() + START_DEADLINE
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Fail("controller exited %d: %s" % (
                    self.proc.returncode, self.text()[-800:]))
            if self.lives() > before:
                return
            time.sleep(0.05)
        raise Fail("no configuration live within %gs: %s"
                   % (START_DEADLINE, self.text()[-800:]))

    def status(self):
        p = subprocess.run([replay.BINARY, "status", "--state-dir",
                            self.state, "-o", "json"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            return {}
        return {replay.obj_key(i): i
                for i in json.loads(p.stdout).get("items", [])}

    def wait_programmed(self, gw_ref):
        ns, _, name = gw_ref.rpartition("/")
        deadline = time.monotonic() + START_DEADLINE
        last = []
        while time.monotonic() < deadline:
            gw = self.status().get(("Gateway", ns, name))
            last = (gw or {}).get("status", {}).get("conditions", [])
            if any(c["type"] == "Programmed" and c["status"] == "True"
                   for c in last):
                return
            time.sleep(0.2)
        raise Fail("Gateway %s not Programmed: %s"
                   % (gw_ref, [replay.cond_str(c) for c in last]))

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.state, ignore_errors=True)

    def error_log(self):
        try:
            with open(os.path.join(self.state, "logs", "error.log"),
                      errors="replace") as f:
                return f.read()[-600:]
        except OSError:
            return ""


# --------------------------------------------------------------------------
# Clients


class Captured:
    """What a round trip returned: status, headers, the echo's JSON."""

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {}
        for k, v in headers:
            self.headers.setdefault(k.lower(), []).append(v)
        self.echo = None
        ctype = self.headers.get("content-type", [""])[0]
        if ctype.startswith("application/json"):
            try:
                self.echo = json.loads(body)
            except ValueError:
                self.echo = None


def http_round_trip(addr, port, req, scheme):
    """One request on a new connection (the suite disables keep-alive)."""
    method = req.get("method") or "GET"
    path = req.get("path") or "/"
    host = req.get("host") or addr
    if scheme == "https":
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(
            addr, port, timeout=REQUEST_TIMEOUT, context=ctx)
        # SNI is the request's host (the suite's roundtripper sets
        # ServerName from the Host), unless the case names another
        sni = req.get("sni") or host.split(":")[0]
        conn._create_connection = tls_dialer(ctx, sni)
    else:
        conn = http.client.HTTPConnection(addr, port,
                                          timeout=REQUEST_TIMEOUT)
    try:
        conn.putrequest(method, path, skip_host=True,
                        skip_accept_encoding=True)
        conn.putheader("Host", host)
        conn.putheader("User-Agent", "Go-http-client/1.1")
        for k, v in (req.get("headers") or {}).items():
            conn.putheader(k, str(v))
        conn.putheader("X-Echo-Set-Header",
                       req.get("_echo_set_header", ""))
        conn.putheader("Connection", "close")
        conn.endheaders()
        r = conn.getresponse()
        body = r.read()
        return Captured(r.status, r.getheaders(), body)
    finally:
        conn.close()


def tls_dialer(ctx, sni):
    def dial(address, timeout, source_address=None):
        raw = socket.create_connection(address, timeout)
        return ctx.wrap_socket(raw, server_hostname=sni)
    return dial


# --------------------------------------------------------------------------
# CompareRequest (conformance/utils/http/http.go)

TIMEOUT_CODES = (408, 504)
REDIRECT_CODES = (301, 302, 303, 307, 308)


def joined(values):
    return ",".join(values) if isinstance(values, list) else str(values)


def lower_keys(d):
    return {k.lower(): v for k, v in (d or {}).items()}


def compare(case, req, got, scheme):
    """None when the answer is what the case expects, else why not."""
    resp = case.get("response") or {}
    codes = resp.get("statusCodes") or [resp.get("statusCode") or 200]
    if got.status in TIMEOUT_CODES and \
            any(c in TIMEOUT_CODES for c in codes):
        return None
    if got.status not in codes:
        return "expected status %s, got %d" % (
            codes[0] if len(codes) == 1 else codes, got.status)
    if got.status == 200:
        return compare_echo(case, req, got)
    if got.status in REDIRECT_CODES:
        return compare_redirect(case, req, got, scheme)
    return None


def compare_echo(case, req, got):
    want = case.get("expectedRequest") or req
    echo = got.echo
    if echo is None:
        return "expected a JSON echo, got %s" % (
            got.headers.get("content-type", ["no content type"])[0])
    host = want.get("host") or ""
    if host and host != echo.get("host"):
        return "expected host %s, got %s" % (host, echo.get("host"))
    path = want.get("path") or ""
    if "path" in want and path != echo.get("path"):
        return "expected path %s, got %s" % (path, echo.get("path"))
    method = want.get("method") or "GET"
    if method != echo.get("method"):
        return "expected method %s, got %s" % (method, echo.get("method"))
    ns = case.get("namespace") or ""
    if ns != echo.get("namespace"):
        return "expected namespace %r, got %r" % (ns, echo.get("namespace"))
    seen = lower_keys(echo.get("headers"))
    for name, val in (want.get("headers") or {}).items():
        if name.lower() not in seen:
            return "expected request header %s, backend saw %s" % (
                name, sorted(echo.get("headers", {})))
        if joined(seen[name.lower()]) != str(val):
            return "expected request header %s: %s, got %s" % (
                name, val, joined(seen[name.lower()]))
    resp = case.get("response") or {}
    for name, val in (resp.get("headers") or {}).items():
        if name.lower() not in got.headers:
            return "expected response header %s, got %s" % (
                name, sorted(got.headers))
        if joined(got.headers[name.lower()]) != str(val):
            return "expected response header %s: %s, got %s" % (
                name, val, joined(got.headers[name.lower()]))
    for name in resp.get("absentHeaders") or []:
        if name.lower() in got.headers:
            return "expected no response header %s, got %s" % (
                name, joined(got.headers[name.lower()]))
    for name in want.get("absentHeaders") or []:
        if name.lower() in seen:
            return "expected no request header %s, backend saw %s" % (
                name, joined(seen[name.lower()]))
    backend = case.get("backend") or ""
    if not str(echo.get("pod", "")).startswith(backend):
        return "expected pod %s-*, got %s" % (backend, echo.get("pod"))
    return None


def compare_redirect(case, req, got, scheme):
    want = case.get("redirectRequest")
    if want is None:
        return None
    loc = got.headers.get("location", [""])[0]
    u = urllib.parse.urlsplit(loc)
    g_scheme, g_host = u.scheme, u.hostname or ""
    g_port = str(u.port) if u.port else ""
    w_host = want.get("host") or g_host
    w_scheme = want.get("scheme") or scheme
    w_path = want.get("path") or req.get("path", "/").split("?")[0]
    if w_host != g_host:
        return "expected redirect host %r, got %r (Location %s)" % (
            w_host, g_host, loc)
    w_port = str(want.get("port") or "")
    if w_port:
        if w_port != g_port:
            return "expected redirect port %r, got %r (Location %s)" % (
                w_port, g_port, loc)
    elif g_scheme.lower() == "http" and g_port not in ("", "80"):
        return "expected redirect port 80 or none, got %r" % g_port
    elif g_scheme.lower() == "https" and g_port not in ("", "443"):
        return "expected redirect port 443 or none, got %r" % g_port
    if w_scheme != g_scheme:
        return "expected redirect scheme %r, got %r (Location %s)" % (
            w_scheme, g_scheme, loc)
    if w_path != u.path:
        return "expected redirect path %r, got %r (Location %s)" % (
            w_path, u.path, loc)
    return None


# --------------------------------------------------------------------------
# Cases


class Target:
    """Where a test's requests go: the Gateway's address and ports."""

    def __init__(self, docs, gw_ref):
        gw = find(docs, "Gateway", gw_ref)
        addrs = gw.get("spec", {}).get("addresses") or []
        if not addrs:
            raise Fail("replay error: Gateway %s has no address" % gw_ref)
        self.addr = addrs[0]["value"]
        listeners = gw["spec"].get("listeners") or [{}]
        self.port = listeners[0].get("port", 80)
        self.protocol = listeners[0].get("protocol", "HTTP")


def request_of(case):
    req = copy.deepcopy(case.get("request") or {})
    sets = case.get("backendSetResponseHeaders") or {}
    req["_echo_set_header"] = ",".join("%s:%s" % kv for kv in sets.items())
    return req


def run_http_case(case, target, deadline_s, pods):
    req = request_of(case)
    scheme = req.get("scheme") or (
        "https" if target.protocol == "HTTPS" else "http")
    port = int(req.get("port") or target.port)
    marks = mirror_marks(case, pods)
    start = time.monotonic()
    successes = 0
    last = "no answer"
    while True:
        try:
            got = http_round_trip(target.addr, port, req, scheme)
            why = compare(case, req, got, scheme)
        except (OSError, http.client.HTTPException) as e:
            why = "request failed: %s: %s" % (type(e).__name__, e)
        if why is None:
            successes += 1
            if successes >= CONSECUTIVE:
                break
            continue
        successes = 0
        last = why
        if time.monotonic() - start >= deadline_s:
            raise Fail("%s %s%s: %s (after %gs)" % (
                req.get("method") or "GET", req.get("host", ""),
                req.get("path", "/"), last, deadline_s))
        time.sleep(1.0)
    check_mirrors(case, req, pods, marks, deadline_s)


def mirror_marks(case, pods):
    return {p.name: len(p.text()) for p in pods} \
        if case.get("mirroredTo") else {}


def check_mirrors(case, req, pods, marks, deadline_s):
    """MirroredTo: each mirror backend's pods logged the request."""
    line = "Echoing back request made to %s to client" % (
        req.get("path") or "/")
    for m in case.get("mirroredTo") or []:
        ns = m.get("namespace") or case.get("namespace") or ""
        mine = [p for p in pods if p.namespace == ns and
                p.deployment == m["backend"]]
        end = time.monotonic() + deadline_s
        while not any(line in p.text()[marks.get(p.name, 0):]
                      for p in mine):
            if time.monotonic() >= end:
                raise Fail("request %s was not mirrored to %s/%s" % (
                    req.get("path"), ns, m["backend"]))
            time.sleep(0.2)


def backend_of_pod(pod):
    """utils/weight: the pod name without its last two parts."""
    parts = pod.split("-")
    return "-".join(parts[:-2]) if len(parts) > 2 else pod


def run_weights(case, target, pods):
    w = case["weights"]
    req = request_of({"request": w["request"]})
    scheme = req.get("scheme") or "http"
    port = int(req.get("port") or target.port)
    total = int(w.get("requests", 500))
    tolerance = float(w.get("tolerance", 0.05))
    expected = w["expected"]
    last = ""
    for _ in range(10):
        counts = {}

        def one(_i):
            try:
                got = http_round_trip(target.addr, port, req, scheme)
            except (OSError, http.client.HTTPException) as e:
                return "error " + type(e).__name__
            if got.status != 200 or not got.echo:
                return "status %d" % got.status
            return backend_of_pod(got.echo.get("pod", ""))

        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            for b in ex.map(one, range(total)):
                counts[b] = counts.get(b, 0) + 1
        last = weights_mismatch(counts, expected, total, tolerance)
        if last is None:
            return
    raise Fail("weights: %s" % last)


def weights_mismatch(counts, expected, total, tolerance):
    for b in counts:
        if b not in expected:
            return "unexpected answers %r x%d (counts %s)" % (
                b, counts[b], counts)
    for b, want in expected.items():
        share = counts.get(b, 0) / total
        if want == 0 and counts.get(b, 0):
            return "%s has weight 0 but got %d requests" % (b, counts[b])
        if abs(share - want) > tolerance:
            return "%s got %.3f of the requests, want %.2f +- %.2f " \
                   "(counts %s)" % (b, share, want, tolerance, counts)
    return None


def run_grpc_case(case, target, deadline_s):
    import grpc
    import grpcecho_pb
    g = case["grpc"]
    port = int(g.get("port") or target.port)
    opts = []
    if g.get("host"):
        opts.append(("grpc.default_authority", g["host"]))
    want_code = (case.get("response") or {}).get("code", 0)
    service = g.get("service") or grpcecho_pb.SERVICE
    full = "/%s/%s" % (service, g.get("method", "Echo"))
    metadata = [(k.lower(), str(v))
                for k, v in (g.get("metadata") or {}).items()]
    start = time.monotonic()
    successes = 0
    last = ""
    while True:
        why = None
        ch = grpc.insecure_channel("%s:%d" % (target.addr, port),
                                   options=opts)
        try:
            call = ch.unary_unary(full)
            raw = call(b"", metadata=metadata, timeout=REQUEST_TIMEOUT)
            code = 0
        except grpc.RpcError as e:
            raw = None
            code = e.code().value[0]
            detail = e.details()
        finally:
            ch.close()
        if code != want_code:
            why = "expected gRPC status %d, got %d%s" % (
                want_code, code, " (%s)" % detail if code else "")
        elif raw is not None:
            a = grpcecho_pb.decode("EchoResponse", raw).get(
                "assertions") or {}
            ctx = a.get("context") or {}
            if a.get("fully_qualified_method") != full:
                why = "expected method %s, got %s" % (
                    full, a.get("fully_qualified_method"))
            elif case.get("namespace", "") != ctx.get("namespace"):
                why = "expected namespace %r, got %r" % (
                    case.get("namespace", ""), ctx.get("namespace"))
            elif not ctx.get("pod", "").startswith(case.get("backend", "")):
                why = "expected pod %s-*, got %s" % (
                    case.get("backend"), ctx.get("pod"))
        if why is None:
            successes += 1
            if successes >= CONSECUTIVE:
                return
            continue
        successes = 0
        last = why
        if time.monotonic() - start >= deadline_s:
            raise Fail("gRPC %s (authority %s, metadata %s): %s" % (
                full, g.get("host", ""), g.get("metadata") or {}, last))
        time.sleep(1.0)


def run_grpc_weights(case, target):
    import grpc
    import grpcecho_pb
    w = case["grpcWeights"]
    g = w["grpc"]
    port = int(g.get("port") or target.port)
    opts = [("grpc.default_authority", g["host"])] if g.get("host") else []
    full = "/%s/%s" % (g.get("service") or grpcecho_pb.SERVICE,
                       g.get("method", "Echo"))
    total = int(w.get("requests", 500))
    tolerance = float(w.get("tolerance", 0.05))
    last = ""
    for _ in range(10):
        counts = {}

        def one(_i):
            ch = grpc.insecure_channel("%s:%d" % (target.addr, port),
                                       options=opts)
            try:
                raw = ch.unary_unary(full)(b"", timeout=REQUEST_TIMEOUT)
            except grpc.RpcError as e:
                return "status %s" % e.code().name
            finally:
                ch.close()
            a = grpcecho_pb.decode("EchoResponse", raw)["assertions"] or {}
            return backend_of_pod((a.get("context") or {}).get("pod", ""))

        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            for b in ex.map(one, range(total)):
                counts[b] = counts.get(b, 0) + 1
        last = weights_mismatch(counts, w["expected"], total, tolerance)
        if last is None:
            return
    raise Fail("gRPC weights: %s" % last)


def run_case(case, target, deadline_s, pods):
    if "weights" in case:
        run_weights(case, target, pods)
    elif "grpcWeights" in case:
        run_grpc_weights(case, target)
    elif "grpc" in case:
        run_grpc_case(case, target, deadline_s)
    elif "request" in case:
        run_http_case(case, target, deadline_s, pods)
    else:
        raise Fail("replay error: case kind not supported by this runner: "
                   "%s" % sorted(case))


def flatten(cases, prefix=""):
    """(subtest name, case) in order; `- subtest: NAME` groups nest."""
    out = []
    for c in cases or []:
        if "subtest" in c:
            out += flatten(c.get("cases"), prefix + c["subtest"] + "/")
        else:
            out.append((prefix.rstrip("/"), c))
    return out


# --------------------------------------------------------------------------
# One test


class Result(replay.Result):
    pass


def claimed_features(certs, workdir):
    """The GatewayClass's status.supportedFeatures (what the suite reads
    when no feature flags are given)."""
    d = os.path.join(workdir, "features")
    os.makedirs(d, exist_ok=True)
    replay.write_manifests(d, replay.prepare(replay.base_docs(certs)))
    status = replay.run_status(d)
    gwc = status.get(("GatewayClass", "", replay.GATEWAY_CLASS), {})
    out = set()
    for f in gwc.get("status", {}).get("supportedFeatures", []):
        out.add(f["name"] if isinstance(f, dict) else f)
    return out


def apply_step(docs, step, block):
    for ref in step.get("delete") or []:
        docs.remove(find(docs, ref["kind"], "%s/%s" % (
            ref.get("namespace", ""), ref["name"])))
    for doc in step.get("apply") or []:
        if isinstance(doc, str):
            doc = yaml.safe_load(doc.replace(
                "{GATEWAY_CLASS_NAME}", replay.GATEWAY_CLASS))
        key = replay.obj_key(doc)
        old = [d for d in docs if replay.obj_key(d) == key]
        new = replay.prepare([doc])
        if old:
            if doc.get("kind") == "Gateway" and not \
                    doc.get("spec", {}).get("addresses"):
                new[0]["spec"]["addresses"] = old[0]["spec"]["addresses"]
            docs[docs.index(old[0])] = new[0]
            new = new[1:]
        place_gateways(new, block)
        docs.extend(new)


def run_test(spec, ctx):
    name = spec["name"]
    groups = spec.get("groups", [])
    missing = sorted(set(spec.get("features", [])) - ctx.features)
    if missing:
        return Result(name, "NOT-APPLICABLE",
                      "needs " + ", ".join(missing), groups)
    workdir = os.path.join(ctx.workdir, name)
    os.makedirs(workdir, exist_ok=True)
    raw = replay.base_docs(ctx.certs)
    for m in test_manifests(spec):
        raw += replay.load_yaml_docs(os.path.join(replay.UPSTREAM, m))
    started = []
    ctl = Controller(workdir, ctx.block)
    where = ""
    try:
        pods, started = ctx.pods.ensure(raw)
        docs = replay.prepare(raw)
        place_gateways(docs, ctx.block)
        wire_endpoints(docs, pods)
        ctl.write(docs)
        ctl.start()
        gw_ref = spec["gateway"]
        ctl.wait_programmed(gw_ref)
        target = Target(docs, gw_ref)
        for where, case in flatten(spec.get("cases")):
            run_case(case, target, ctx.consistency, pods)
        for i, step in enumerate(spec.get("steps") or []):
            where = "step %d" % (i + 1)
            before = ctl.lives()
            apply_step(docs, step, ctx.block)
            pods, more = ctx.pods.ensure(docs)
            started += more
            wire_endpoints(docs, pods)
            ctl.write(docs)
            ctl.wait_live(before)
            for sub, case in flatten(step.get("cases")):
                where = "step %d%s" % (i + 1, " " + sub if sub else "")
                run_case(case, Target(docs, step.get("gateway", gw_ref)),
                         ctx.consistency, pods)
    except Fail as e:
        detail = ("subtest \"%s\": " % where if where else "") + str(e)
        if ctx.verbose:
            detail += "\n    nginx error.log: " + ctl.error_log()
        return Result(name, "FAIL", detail, groups)
    finally:
        ctl.stop()
        ctx.pods.release(started)
    return Result(name, "PASS", "", groups)


# --------------------------------------------------------------------------
# Inputs and reporting


def load_specs(pattern=None):
    specs = []
    for f in sorted(os.listdir(TRAFFIC_DIR)):
        if not f.endswith(".yaml"):
            continue
        with open(os.path.join(TRAFFIC_DIR, f)) as fh:
            spec = yaml.safe_load(fh)
        if spec["name"] + ".yaml" != f:
            raise SystemExit("%s: name %s does not match the file name"
                             % (f, spec["name"]))
        if pattern and not re.search(pattern, spec["name"]):
            continue
        specs.append(spec)
    return specs


def load_known_failures():
    known = {}
    if not os.path.exists(KNOWN_FAILURES):
        return known
    with open(KNOWN_FAILURES) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if line:
                name, _, reason = line.partition(" ")
                known[name] = reason.strip()
    return known


class Context:
    def __init__(self, args):
        self.workdir = tempfile.mkdtemp(prefix="ngx-traffic-")
        self.block, self.lock_fd = lock_block()
        self.certs = replay.Certs(self.workdir)
        self.pods = Pods(self.block, self.workdir)
        self.consistency = args.consistency
        self.verbose = args.v
        self.features = claimed_features(self.certs, self.workdir)

    def close(self, keep):
        self.pods.stop_all()
        os.close(self.lock_fd)
        if not keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


def preflight():
    replay.preflight()
    if os.geteuid() != 0:
        raise SystemExit("traffic.py needs root (Gateway ports 80/443)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-k", metavar="NAME",
                    help="only tests whose name matches this regex")
    ap.add_argument("-v", action="store_true",
                    help="keep the work directory (manifests, pod and "
                         "controller logs) and say where")
    ap.add_argument("--consistency", type=float, default=15.0,
                    metavar="SECONDS", help="MaxTimeToConsistency per "
                    "request (upstream default 30; default %(default)s)")
    ap.add_argument("--json", metavar="FILE",
                    help="also write the results as JSON")
    args = ap.parse_args()
    preflight()
    specs = load_specs(args.k)
    known = load_known_failures()
    ctx = Context(args)
    ok = True
    totals = {}
    results = []
    try:
        for spec in specs:
            r = run_test(spec, ctx)
            results.append(r)
            label, good = replay.verdict(r, known)
            ok = ok and good
            detail = "\n    " + r.detail if r.outcome == "FAIL" else ""
            print("%-52s %s%s" % (r.name, label, detail), flush=True)
            for g in r.groups:
                t = totals.setdefault(g, {"PASS": 0, "FAIL": 0,
                                          "NOT-APPLICABLE": 0})
                t[r.outcome] += 1
    finally:
        ctx.close(args.v)
    print()
    for g in replay.GROUP_ORDER + sorted(set(totals) -
                                         set(replay.GROUP_ORDER)):
        if g in totals:
            t = totals[g]
            print("%-22s %2d pass, %2d fail, %2d not applicable (of %d "
                  "replayed)" % (g, t["PASS"], t["FAIL"],
                                 t["NOT-APPLICABLE"], sum(t.values())))
    if args.json:
        with open(args.json, "w") as f:
            json.dump([{"name": r.name, "outcome": r.outcome,
                        "detail": r.detail} for r in results], f, indent=1)
    if args.v:
        print("work directory kept in " + ctx.workdir)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
