"""
The chart's pod, run on this machine: the bootstrap init container's copy,
the nginx container's command and the controller container's arguments,
exactly as rendered (only the state directory, the module's and the admin
endpoint's addresses and the listener ports are moved), as one non-root
user, against the API server stand-in (test/kube) holding the games
walkthrough. Then: the walkthrough answers, status says so, and every
request the controller made is one the chart's RBAC allows.
"""

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest
import yaml

from conftest import (NAMESPACE, REPO, RELEASE, arg_value, container, find,
                      one, workload)

KUBE_CONFTEST = os.path.join(REPO, "test", "kube", "conftest.py")
GAMES = os.path.join(REPO, "examples", "games")
BUILD = os.path.join(REPO, "build")
STATE = "/var/lib/ngx-gateway"
LB_IP = "192.0.2.10"
NOBODY = 65534
DEADLINE = 60


def load_kube_conftest():
    spec = importlib.util.spec_from_file_location("kube_conftest",
                                                  KUBE_CONFTEST)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_above(base):
    """A free port p > base (listener port base -> offset p - base); the
    controller takes offsets up to 60000, and the kernel's ephemeral ports
    go beyond base + 60000."""
    while True:
        p = free_port()
        if base < p <= base + 60000:
            return p


def as_pod_user():
    """The pod runs as one non-root user; so do we when we are root."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)


def load(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d]


def condition(obj, ctype, conditions=None):
    conds = conditions if conditions is not None else \
        (obj.get("status") or {}).get("conditions") or []
    for c in conds:
        if c["type"] == ctype:
            return c
    return None


def http_get(port, path, host):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 headers={"Host": host})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")


# --- RBAC: what a request needs --------------------------------------------

def request_attributes(method, path, query):
    """(verb, apiGroup, resource, namespace, name) a request needs, as the
    API server's authorizer sees it; None for non-resource URLs
    (discovery), which every authenticated user may read."""
    parts = [p for p in path.split("/") if p]
    if parts[:1] == ["api"] and len(parts) >= 2:
        group, rest = "", parts[2:]
    elif parts[:1] == ["apis"] and len(parts) >= 3:
        group, rest = parts[1], parts[3:]
    else:
        return None
    if not rest:
        return None
    ns = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        ns, rest = rest[1], rest[2:]
    resource, name = rest[0], rest[1] if len(rest) > 1 else None
    if len(rest) > 2:
        resource += "/" + rest[2]
    if method == "GET":
        watch = "watch=true" in query or "watch=1" in query
        verb = "get" if name else ("watch" if watch else "list")
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if name else "deletecollection"}[method]
    return verb, group, resource, ns, name


def allowed(attrs, cluster_role, role, role_ns):
    verb, group, resource, ns, name = attrs
    rules = [(r, True) for r in cluster_role["rules"]]
    if role is not None and ns == role_ns:
        rules += [(r, False) for r in role["rules"]]
    for rule, _ in rules:
        if group in rule["apiGroups"] and resource in rule["resources"] \
                and verb in rule["verbs"]:
            names = rule.get("resourceNames")
            if not names or name in names:
                return True
    return False


# --- the pod ---------------------------------------------------------------

class Pod:
    """The rendered pod's processes on this machine."""

    def __init__(self, objs, apiserver, work):
        self.objs = objs
        self.work = work
        self.state = os.path.join(work, "state")
        os.mkdir(self.state)
        os.chmod(self.state, 0o777)          # an emptyDir is world-writable
        self.procs = []
        spec = workload(objs)["spec"]["template"]["spec"]
        self.spec = spec
        # the binaries, where the pod user can read them
        self.binary = os.path.join(work, "ngx-gateway")
        self.module = os.path.join(work, "ngx_http_gateway_module.so")
        shutil.copy(os.path.join(BUILD, "ngx-gateway"), self.binary)
        shutil.copy(os.path.join(BUILD, "ngx_http_gateway_module.so"),
                    self.module)
        self.stream_module = os.path.join(work,
                                          "ngx_stream_gateway_module.so")
        shutil.copy(os.path.join(BUILD, "ngx_stream_gateway_module.so"),
                    self.stream_module)
        self.kubeconfig = os.path.join(work, "kubeconfig")
        shutil.copy(apiserver.kubeconfig, self.kubeconfig)
        for f in (self.binary, self.module, self.stream_module,
                  self.kubeconfig):
            os.chmod(f, 0o755)
        self.listen_port = free_port_above(80)
        self.admin_port = free_port()

    def local(self, s):
        return s.replace(STATE, self.state)

    def start_logged(self, name, argv, env=None):
        log = open(os.path.join(self.work, name + ".log"), "wb")
        # as runc does for a container's stdio (fixStdioPermissions): owned
        # by the container's user, so that it can reopen /dev/stdout
        if os.geteuid() == 0:
            os.fchown(log.fileno(), NOBODY, NOBODY)
        p = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                             preexec_fn=as_pod_user, env=env)
        self.procs.append((name, p))
        return p

    def bootstrap(self):
        """The init container's command as rendered (`mkdir -p STATE/logs
        && cp /etc/ngx-gateway/bootstrap.conf STATE/nginx.conf`), with the
        ConfigMap's file and the state dir at local paths."""
        init = self.spec["initContainers"][0]
        assert init["command"][:2] == ["sh", "-c"], init["command"]
        cm = one(self.objs, "ConfigMap")
        src = os.path.join(self.work, "bootstrap.conf")
        with open(src, "w") as f:
            f.write(self.local(cm["data"]["bootstrap.conf"]))
        os.chmod(src, 0o644)
        script = self.local(init["command"][2]).replace(
            "/etc/ngx-gateway/bootstrap.conf", src)
        subprocess.run(["sh", "-c", script], check=True,
                       preexec_fn=as_pod_user)

    def start_nginx(self):
        cmd = [self.local(a) for a in container(self.spec, "nginx")["command"]]
        self.start_logged("nginx", cmd)

    def controller_argv(self):
        args = list(container(self.spec, "controller")["args"])
        for flag, value in (("--state-dir", self.state),
                            ("--module", self.module),
                            ("--stream-module", self.stream_module),
                            ("--admin-address",
                             "127.0.0.1:%d" % self.admin_port)):
            args[args.index(flag) + 1] = value
        return [self.binary, *args, "--kubeconfig", self.kubeconfig,
                "--port-offset", str(self.listen_port - 80)]

    def start_controller(self):
        env = dict(os.environ, POD_IP="127.0.0.1")
        env.pop("KUBECONFIG", None)
        self.start_logged("controller", self.controller_argv(), env)

    def logs(self):
        out = []
        for name, _ in self.procs:
            with open(os.path.join(self.work, name + ".log"), "rb") as f:
                out.append("--- %s\n%s" % (name, f.read().decode(
                    "utf-8", "replace")[-3000:]))
        return "\n".join(out)

    def stop(self):
        for _, p in reversed(self.procs):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for _, p in self.procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


@pytest.fixture
def kube(tmp_path):
    mod = load_kube_conftest()
    srv = mod.ApiServer(tmp_path)
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture
def work():
    d = tempfile.mkdtemp(prefix="ngx-gateway-pod-")
    os.chmod(d, 0o755)
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def backends(work):
    """mario and tetris pages on free ports: (mario_port, tetris_port)."""
    procs, ports = [], []
    for game in ("mario", "tetris"):
        port = free_port()
        procs.append(subprocess.Popen(
            ["/usr/bin/python3", os.path.join(GAMES, "backends", "serve.py"),
             "--listen", "127.0.0.1:%d" % port,
             "--root", os.path.join(GAMES, "backends", game)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        ports.append(port)
    try:
        yield ports
    finally:
        for p in procs:
            p.terminate()
            p.wait(10)


def games_objects(chart_objs, ports):
    """The walkthrough as a cluster would hold it: its namespaces, the
    chart's GatewayClass, the Gateway, the route, the ReferenceGrants, the
    Services and the EndpointSlices the cluster would make for the games'
    pods (here: the local backends)."""
    objs = [{"apiVersion": "v1", "kind": "Namespace",
             "metadata": {"name": NAMESPACE}}]
    objs += load(os.path.join(GAMES, "namespaces.yaml"))
    objs += find(chart_objs, "GatewayClass")
    objs += find(load(os.path.join(GAMES, "gateway.yaml")), "Gateway")
    for f in ("httproute.yaml", "mario-refer.yaml", "tetris-refer.yaml"):
        objs += load(os.path.join(GAMES, f))
    for game, port in zip(("mario", "tetris"), ports):
        objs += find(load(os.path.join(GAMES, game + "-deployment.yaml")),
                     "Service")
        objs.append({
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": game + "-pod", "namespace": game + "-ns",
                         "labels": {"kubernetes.io/service-name": game}},
            "addressType": "IPv4",
            "ports": [{"name": "", "port": port, "protocol": "TCP"}],
            "endpoints": [{"addresses": ["127.0.0.1"],
                           "conditions": {"ready": True}}]})
    # the chart's data plane Service, once its load balancer has an address
    svc = one(chart_objs, "Service", RELEASE + "-ngx-gateway")
    svc = dict(svc, status={"loadBalancer": {"ingress": [{"ip": LB_IP}]}})
    objs.append(svc)
    return objs


def wait_for(what, fn, pod):
    deadline = time.monotonic() + DEADLINE
    last = None
    while time.monotonic() < deadline:
        last = fn()
        if last:
            return last
        time.sleep(0.2)
    pytest.fail("%s: not within %d s\n%s" % (what, DEADLINE, pod.logs()))


def test_the_chart_pod_serves_the_walkthrough(render, kube, work, backends):
    for f in ("ngx-gateway", "ngx_http_gateway_module.so",
              "ngx_stream_gateway_module.so"):
        assert os.path.exists(os.path.join(BUILD, f)), \
            "build/%s is missing: run `make all` first" % f
    objs = render("--set", "nginxGateway.gatewayClassName=nginx-gateway")
    client = kube.client
    client.apply(games_objects(objs, backends))
    kube.control("requests", "DELETE")

    pod = Pod(objs, kube, work)
    try:
        pod.bootstrap()
        pod.start_nginx()
        pod.start_controller()

        def gateway_programmed():
            gw = client.get("Gateway", "game-gateway", "default")
            c = condition(gw, "Programmed")
            return gw if c and c["status"] == "True" else None

        gw = wait_for("Gateway Programmed=True", gateway_programmed, pod)
        # --publish-service: the address users reach the Gateway at
        assert gw["status"]["addresses"] == [{"type": "IPAddress",
                                              "value": LB_IP}]
        gc = client.get("GatewayClass", "nginx-gateway")
        assert condition(gc, "Accepted")["status"] == "True"
        route = client.get("HTTPRoute", "game-route", "default")
        parents = route["status"]["parents"]
        assert [p["controllerName"] for p in parents] \
            == [arg_value(pod.controller_argv(), "--controller-name")]
        for ctype in ("Accepted", "ResolvedRefs"):
            assert condition(None, ctype, parents[0]["conditions"])[
                "status"] == "True", parents

        # the walkthrough's two paths, through nginx as the pod runs it
        for game in ("mario", "tetris"):
            status, body = http_get(pod.listen_port, "/" + game,
                                    "game.example.com")
            assert status == 200, (game, status, pod.logs())
            assert game in body.lower()

        # `kubectl logs -c nginx`: one JSON line per request on nginx's
        # stdout, with the Gateway API names (written after the response)
        def access_line():
            with open(os.path.join(pod.work, "nginx.log"), "rb") as f:
                for line in f.read().decode("utf-8", "replace").splitlines():
                    if line.startswith("{") and '"uri":"/mario"' in line:
                        return json.loads(line)
            return None
        entry = wait_for("an access log line on nginx's stdout",
                         access_line, pod)
        assert entry["gateway"] == "default/game-gateway", entry
        assert entry["route"] == "default/game-route", entry
        assert entry["backend"] == "mario-ns/mario:80", entry

        # the probes the chart points at
        with urllib.request.urlopen("http://127.0.0.1:%d/readyz"
                                    % pod.admin_port, timeout=5) as r:
            assert r.status == 200
        with urllib.request.urlopen("http://127.0.0.1:%d/healthz"
                                    % pod.admin_port, timeout=5) as r:
            assert r.status == 200

        # the Lease named in the chart's Role, in the release namespace
        lease_name = arg_value(pod.controller_argv(), "--lease-name")
        lease = wait_for("Lease held", lambda: (client.get_or_none(
            "Lease", lease_name, NAMESPACE) or {}).get("spec", {}).get(
            "holderIdentity"), pod)
        assert lease

        # nginx runs as the pod's one user, with the controller's config
        with open(os.path.join(pod.state, "nginx.pid")) as f:
            pid = int(f.read())
        with open("/proc/%d/status" % pid) as f:
            uids = [ln.split()[1:] for ln in f if ln.startswith("Uid:")][0]
        assert set(uids) == {str(os.geteuid() if os.geteuid() else NOBODY)}
    finally:
        pod.stop()

    # every request since the setup (the controller's, and this test's
    # reads by name) is one the chart's RBAC allows
    cluster_role = one(objs, "ClusterRole")
    role = one(objs, "Role")
    used, refused = set(), []
    for r in kube.control("requests"):
        attrs = request_attributes(r["method"], r["path"], r.get("query", ""))
        if attrs is None:
            continue
        used.add(attrs[:3])
        if not allowed(attrs, cluster_role, role, NAMESPACE):
            refused.append((r["method"], r["path"], attrs))
    assert refused == [], json.dumps(refused, indent=1)
    # and the controller did use its grants: watch, status patch, Lease
    assert ("watch", "gateway.networking.k8s.io", "httproutes") in used
    assert ("patch", "gateway.networking.k8s.io", "gateways/status") \
        in used
    assert ("create", "coordination.k8s.io", "leases") in used
