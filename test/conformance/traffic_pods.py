"""The Pods of a traffic replay: each Deployment replica as an echo
process on its own loopback address, and the EndpointSlices pointing at
them (what the kubelet and the EndpointSlice controller do in a cluster).
"""

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import time

from traffic_base import Fail, PYTHON, START_DEADLINE, secret_data

BACKENDS = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), "backends")
ECHO = os.path.join(BACKENDS, "echo.py")
GRPC_ECHO = os.path.join(BACKENDS, "grpc_echo.py")
TCP_ECHO = os.path.join(BACKENDS, "tcp_echo.py")
UDP_ECHO = os.path.join(BACKENDS, "udp_echo.py")
DNS_WHOAMI = os.path.join(BACKENDS, "dns_whoami.py")
LOCK_DIR = "/tmp/gwit-netlocks"      # shared with test/integration
GW_HOSTS = range(1, 50)              # 127.0.B.1-49: Gateways
POD_HOSTS = range(50, 250)           # 127.0.B.50-249: Pods


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
        """A file under a Secret or ConfigMap volumeMount, written out for
        the echo (None when the volume or key does not exist)."""
        for vm in self.container.get("volumeMounts", []):
            mount = vm["mountPath"].rstrip("/") + "/"
            if not path.startswith(mount):
                continue
            rel = path[len(mount):]
            for vol in self.tmpl["spec"].get("volumes", []):
                if vol["name"] != vm["name"]:
                    continue
                if "secret" in vol:
                    src = vol["secret"]
                    data = self.secrets.get(("Secret", self.namespace,
                                             src["secretName"]))
                elif "configMap" in vol:
                    src = vol["configMap"]
                    data = self.secrets.get(("ConfigMap", self.namespace,
                                             src["name"]))
                else:
                    continue
                key = rel
                for item in src.get("items", []):
                    if item["path"] == rel:
                        key = item["key"]
                value = (data or {}).get(key)
                if value is None:
                    return None
                os.makedirs(self.files, exist_ok=True)
                out = os.path.join(self.files, rel.replace("/", "_"))
                with open(out, "w") as f:
                    f.write(value)
                return out
        return None

    def command(self):
        """The argv of the process standing in for the container: our
        echo servers for echo-basic's modes, dns_whoami.py for coredns;
        None for any other image (no process, the Pod has no answer)."""
        image = self.container.get("image", "")
        if "coredns" in image:
            return [PYTHON, DNS_WHOAMI, "--listen", "%s:53" % self.ip]
        if "echo-basic" not in image:
            return None
        ident = ["--namespace", self.namespace, "--pod", self.name]
        if self.env.get("GRPC_ECHO_SERVER"):
            return [PYTHON, GRPC_ECHO, "--conformance", "--listen",
                    "%s:%s" % (self.ip, self.env.get("GRPC_PORT", "3000"))
                    ] + ident
        if self.env.get("SERVICE_NAME"):
            ident += ["--service", self.env["SERVICE_NAME"]]
        if self.env.get("TCP_ECHO_SERVER"):
            return self.tcp_command() + ident
        if self.env.get("UDP_ECHO_SERVER"):
            return [PYTHON, UDP_ECHO, "--listen", "%s:%s" % (
                self.ip, self.env.get("UDP_PORT", "8080"))] + ident
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

    def tcp_command(self):
        """echo-basic's TCP mode: plain on TCP_PORT, TLS on TLS_PORT when
        TLS_SERVER_CERT / TLS_SERVER_PRIV_KEY name mounted files."""
        argv = [PYTHON, TCP_ECHO, "--listen", "%s:%s" % (
            self.ip, self.env.get("TCP_PORT", "3000"))]
        cert = self.env.get("TLS_SERVER_CERT")
        key = self.env.get("TLS_SERVER_PRIV_KEY")
        if cert and key:
            cert, key = self.mounted(cert), self.mounted(key)
            if cert and key:
                argv += ["--tls-listen", "%s:%s" % (
                    self.ip, self.env.get("TLS_PORT", "8443")),
                    "--tls-cert", cert, "--tls-key", key]
        return argv

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
        secrets = {(d["kind"], d["metadata"].get("namespace", "default"),
                    d["metadata"]["name"]): secret_data(d)
                   for d in docs if d.get("kind") in ("Secret", "ConfigMap")}
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
# EndpointSlices


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


def patch_endpoint_slices(docs, pods, patch):
    """What a test does with setupEndpointSlices: the selector-less
    Services' IPv4 EndpointSlices list the Pods of one Deployment
    (`patchEndpointSlices: {deployment: ns/name, services: [...]}`)."""
    if not patch:
        return
    ns, _, name = patch["deployment"].rpartition("/")
    mine = [p for p in pods if p.namespace == ns and p.deployment == name]
    if not mine:
        raise Fail("replay error: no Pods of Deployment %s"
                   % patch["deployment"])
    for d in docs:
        if d.get("kind") != "EndpointSlice" or \
                d.get("addressType", "IPv4") != "IPv4" or \
                d["metadata"].get("namespace") != ns:
            continue
        svc = d["metadata"].get("labels", {}).get(
            "kubernetes.io/service-name")
        if svc in patch["services"]:
            d["endpoints"] = [
                {"addresses": [p.ip],
                 "conditions": {"ready": True, "serving": True,
                                "terminating": False},
                 "targetRef": {"kind": "Pod", "namespace": p.namespace,
                               "name": p.name}}
                for p in mine]

