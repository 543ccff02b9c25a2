"""
The controller in Kubernetes mode against the stand-in: helpers and
fixtures for test_controller*.py.

Reuses the standalone integration tests' machinery (test/integration/
conftest.py, loaded here as the module `gwit`): loopback address blocks
127.0.X.* reserved with flocks (so these tests run beside the integration
suite), the games backends, process registry and teardown checks (every
controller exits 0 on SIGTERM, no nginx of its state dir outlives it).

    def test_x(kube):                 # apiserver + net + backends
        kube.apply_games()
        c = kube.controller()         # `ngx-gateway run --kubeconfig ...`
        kube.wait_get("/mario", 200, MARIO)

Import the fixtures into a test module:

    from ctlfixture import kube, built, net, procs  # noqa: F401

Waits are polls with generous deadlines; `converge()` measures how long
the controller's view takes to equal the API server's and records it in
CONVERGENCE (printed at the end of the run by conftest.py).
"""

import copy
import http.client
import importlib.util
import json
import os
import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import pytest
import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

_spec = importlib.util.spec_from_file_location(
    "gwit", REPO / "test" / "integration" / "conftest.py")
gwit = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gwit)

BIN = gwit.BIN
PORT_OFFSET = gwit.PORT_OFFSET
GW_PORT = gwit.GW_PORT
HOST = gwit.HOST
CONTROLLER = gwit.CONTROLLER
EXAMPLES = gwit.EXAMPLES
wait_for = gwit.wait_for
http_get = gwit.http_get
tail = gwit.tail

MARIO = "<title>Super Mario</title>"
TETRIS = "<title>Tetris</title>"

DEADLINE = 10.0          # behaviour converges (generous)
START_DEADLINE = 20.0    # controller + nginx start, first sync
CONVERGE_DEADLINE = 5.0  # controller's view == API server's after a fault

# (test, what, seconds) for every converge(): printed by conftest.py
CONVERGENCE = []

# what the controller reads, as `kubectl get` names them
KINDS = ["namespaces", "services", "endpointslices", "secrets",
         "customresourcedefinitions", "gatewayclasses", "gateways",
         "httproutes", "referencegrants"]


# --------------------------------------------------------------- objects

def games_objects(net):
    """examples/games as the API server should hold it: every object but
    the Deployments (the stand-in serves no apps/v1), the EndpointSlices
    on net's backend addresses.  Namespaces first."""
    docs = []
    for f in sorted(EXAMPLES.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(f.read_text()) if d]
    docs = [d for d in docs if d["kind"] != "Deployment"]
    where = {"mario": (net.mario, gwit.MARIO_PORT),
             "tetris": (net.tetris, gwit.TETRIS_PORT)}
    for d in docs:
        if d["kind"] == "EndpointSlice":
            svc = d["metadata"]["labels"]["kubernetes.io/service-name"]
            d["endpoints"][0]["addresses"] = [where[svc][0]]
            d["ports"][0]["port"] = where[svc][1]
    order = {"Namespace": 0, "CustomResourceDefinition": 0}
    docs.sort(key=lambda d: order.get(d["kind"], 1))
    return docs


def find(docs, kind, name):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"] == name:
            return d
    raise KeyError(f"{kind} {name}")


def cond(conditions, ctype):
    for c in conditions or []:
        if c["type"] == ctype:
            return c
    raise KeyError(f"no {ctype} condition in {conditions}")


def our_parent(route, gateway="game-gateway", controller=CONTROLLER):
    """The route's status.parents entry of ours for gateway."""
    for p in (route.get("status") or {}).get("parents") or []:
        if (p.get("controllerName") == controller
                and p["parentRef"]["name"] == gateway):
            return p
    raise KeyError(f"no parent {gateway} of {controller} in "
                   f"{route.get('status')}")


# --------------------------------------------------------------- views

def _cond_key(c):
    return (c.get("type"), c.get("status"), c.get("reason"),
            c.get("observedGeneration"))


def _conds(conditions):
    return sorted(_cond_key(c) for c in conditions or [])


def conditions_view(items, controller=CONTROLLER):
    """{(kind, ns, name, scope): sorted conditions} of a status List's
    items (or of objects read from the API server): the object's own
    conditions, each listener's, and each route parent of controller's.
    lastTransitionTime and messages (which may carry timings) are left
    out: they are not what agreement means."""
    view = {}
    for it in items:
        md = it.get("metadata") or {}
        key = (it.get("kind"), md.get("namespace") or "", md.get("name"))
        st = it.get("status") or {}
        if st.get("conditions"):
            view[key + ("object",)] = _conds(st["conditions"])
        for lst in st.get("listeners") or []:
            view[key + ("listener " + lst["name"],)] = \
                _conds(lst.get("conditions"))
        for p in st.get("parents") or []:
            if p.get("controllerName") != controller:
                continue
            ref = p["parentRef"]
            pkey = "parent %s/%s/%s" % (ref.get("namespace") or "",
                                        ref["name"],
                                        ref.get("sectionName") or "")
            view[key + (pkey,)] = _conds(p.get("conditions"))
    return view


def dump_api(client, dest, kinds=KINDS):
    """Every object the controller reads, from the API server into dest
    as YAML (one file per kind), with kind and apiVersion set as a
    `kubectl get -o yaml` of each item would."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for plural in kinds:
        try:
            k = client.kind(plural)
        except KeyError:
            continue            # not served (CRD missing)
        query = {}
        if plural == "secrets":
            query["fieldSelector"] = "type=kubernetes.io/tls"
        items = client.list(plural, **query)
        for it in items:
            it["kind"] = k.kind
            it["apiVersion"] = k.api_version
        with open(dest / f"{plural}.yaml", "w") as f:
            yaml.safe_dump_all(items, f, sort_keys=False)


def offline_view(client, tmp, net):
    """The conditions `ngx-gateway status -f DUMP -o json` computes for
    what the API server holds now."""
    d = Path(tmp) / "api-dump"
    dump_api(client, d)
    res = gwit.run_cli("status", "-f", d, "-o", "json",
                       "--default-address", net.gw,
                       "--port-offset", PORT_OFFSET)
    return conditions_view(json.loads(res.stdout)["items"])


def api_view(client, kinds=("gatewayclasses", "gateways", "httproutes")):
    """The conditions the API server holds (what `kubectl describe`
    shows) for the kinds we write status to."""
    items = []
    for plural in kinds:
        k = client.kind(plural)
        for it in client.list(plural):
            it["kind"] = k.kind
            items.append(it)
    return conditions_view(items)


def _written(view):
    """The part of a view the controller writes to the API server."""
    return {k: v for k, v in view.items()
            if k[0] in ("GatewayClass", "Gateway", "HTTPRoute")}


def diff_views(a, b):
    keys = sorted(set(a) | set(b), key=repr)
    return [(k, a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)]


# --------------------------------------------------------------- controller

class KubeController(gwit.Controller):
    """`ngx-gateway run --kubeconfig ...`: one replica, its state dir, its
    admin endpoint on a free port of 127.0.0.1."""

    kind = "controller"

    def __init__(self, kubeconfig, state_dir, log, net, extra=()):
        argv = [BIN, "run", "--kubeconfig", kubeconfig,
                "--state-dir", state_dir, "--default-address", net.gw,
                "--port-offset", PORT_OFFSET, "--worker-processes", 1,
                "--admin-address", "127.0.0.1:0", "--log-level", "debug",
                *extra]
        gwit.Proc.__init__(self, argv, log)
        self.state_dir = Path(state_dir)
        self.net = net
        self.nginx_pid = None
        self.sigkilled = False
        self._admin_port = None

    def wait_live(self, timeout=START_DEADLINE):
        wait_for(lambda: (not self.running()
                          or (self.log_has(msg="configuration live")
                              and (self.state_dir
                                   / "status.json").is_file())),
                 timeout=timeout, what="configuration live")
        assert self.running(), (f"controller exited "
                                f"{self.proc.returncode}:\n{self.text()}")
        self.nginx_pid = gwit.read_pid(self.state_dir / "nginx.pid")
        assert self.nginx_pid, f"no {self.state_dir}/nginx.pid"

    # admin -------------------------------------------------------------

    @property
    def admin_port(self):
        if self._admin_port is None:
            found = wait_for(
                lambda: self.log_find(msg="admin endpoint listening")
                or not self.running(),
                timeout=START_DEADLINE, what="admin endpoint listening")
            assert self.running(), self.text()
            self._admin_port = int(found[0]["port"])
        return self._admin_port

    def admin(self, path, method="GET", timeout=5):
        """(status, content type, body) of the admin endpoint."""
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port,
                                          timeout=timeout)
        try:
            conn.request(method, path)
            resp = conn.getresponse()
            return (resp.status, resp.getheader("Content-Type"),
                    resp.read().decode("utf-8", "replace"))
        finally:
            conn.close()

    def metric(self, name, **labels):
        """The value of one sample of /metrics (0 when absent)."""
        _, _, text = self.admin("/metrics")
        return metric_value(text, name, **labels)

    # status ------------------------------------------------------------

    def status_json(self):
        return json.loads((self.state_dir / "status.json").read_text())

    def view(self):
        return conditions_view(self.status_json()["items"])

    # the test kills it ---------------------------------------------------

    def sigkill(self):
        """SIGKILL, as a node failure would.  Its nginx (now orphaned)
        is stopped too, as the pod's other container would go with it."""
        self.nginx_pid = gwit.read_pid(self.state_dir / "nginx.pid")
        self.sigkilled = True
        self.proc.kill()
        self.proc.wait(gwit.STOP_DEADLINE)
        if self.nginx_pid and gwit.pid_alive(self.nginx_pid):
            os.kill(self.nginx_pid, signal.SIGTERM)
            wait_for(lambda: not gwit.pid_alive(self.nginx_pid),
                     timeout=gwit.STOP_DEADLINE, what="orphaned nginx exit")

    def stop(self, timeout=gwit.STOP_DEADLINE):
        if self.sigkilled:
            # killed on purpose: its exit status says nothing
            self.returncode = 0
            return 0
        return super().stop(timeout)


def metric_value(text, name, **labels):
    """Sum of the samples of name whose labels include labels."""
    total = 0.0
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        m = re.match(r'^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)', line)
        if not m or m.group(1) != name:
            continue
        have = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"',
                               m.group(2) or ""))
        if all(have.get(k) == str(v) for k, v in labels.items()):
            total += float(m.group(3))
    return total


# --------------------------------------------------------------- the stack

class KubeStack:
    """One test's setup: the stand-in, an address block, the games
    backends, and the controllers it starts (each with its own state
    dir)."""

    def __init__(self, tmp_path, net, procs, apiserver):
        self.tmp = Path(tmp_path)
        self.net = net
        self.procs = procs
        self.api = apiserver
        self.client = apiserver.client
        self.controllers = []
        self.state_dirs = []
        self.games = games_objects(net)

    def serve_games(self):
        """The mario and tetris backends on net's addresses."""
        for game, addr, port in (
                ("mario", self.net.mario, gwit.MARIO_PORT),
                ("tetris", self.net.tetris, gwit.TETRIS_PORT)):
            argv = [gwit.PYTHON, gwit.SERVE, "--listen", f"{addr}:{port}",
                    "--root", EXAMPLES / "backends" / game]
            self.procs.add(gwit.Backend(argv, self.tmp / f"{game}.log",
                                        addr, port)).start()

    def apply_games(self, skip=()):
        """`kubectl apply` of the walkthrough (namespaces first)."""
        docs = [d for d in self.games if d["kind"] not in skip]
        return self.client.apply(copy.deepcopy(docs))

    def controller(self, *extra, net=None, kubeconfig=None, wait=True,
                   name=None):
        """Starts a replica (waits for its first live configuration)."""
        n = len(self.controllers)
        name = name or f"controller{n}"
        state = Path(tempfile.mkdtemp(prefix="gwkt-", dir="/tmp"))
        self.state_dirs.append(state)
        c = KubeController(kubeconfig or self.api.kubeconfig, state,
                           self.tmp / f"{name}.log", net or self.net, extra)
        self.controllers.append(c)
        self.procs.add(c)
        return c.start(wait=wait)

    # traffic -------------------------------------------------------------

    def get(self, path, host=HOST, addr=None):
        return http_get(addr or self.net.gw, GW_PORT, path, host)

    def wait_get(self, path, status, contains=None, host=HOST,
                 timeout=DEADLINE, addr=None):
        return gwit.Stack.wait_get(self, path, status, contains, host,
                                   timeout, addr)

    # the API server's view ---------------------------------------------

    def route(self, name="game-route", namespace="default"):
        return self.client.get("HTTPRoute", name, namespace)

    def converge(self, c, what, request=None, timeout=CONVERGE_DEADLINE,
                 api=False):
        """Polls until controller c's status.json equals what the offline
        `ngx-gateway status -f` computes from the API server's objects
        (with api=True, c leads: and the status the API server holds
        equals c's); returns the seconds it took and records them in
        CONVERGENCE."""
        start = time.monotonic()
        last = [None]

        def same():
            want = offline_view(self.client, self.tmp, self.net)
            have = c.view()
            last[0] = diff_views(want, have)
            if not last[0] and api:
                last[0] = diff_views(_written(have), api_view(self.client))
            return not last[0] and want
        try:
            wait_for(same, timeout=timeout, interval=0.05,
                     what=f"controller's view == API server's ({what})")
        except AssertionError as e:
            raise AssertionError(f"{e}\ndifferences: {last[0]}") from None
        took = time.monotonic() - start
        test = request.node.name if request is not None else "?"
        CONVERGENCE.append((test, what, took))
        return took

    def wait_api_status(self, c, timeout=DEADLINE, what="status written"):
        """Until the status the API server holds equals c's (c leads)."""
        last = [None]

        def same():
            last[0] = diff_views(_written(c.view()), api_view(self.client))
            return not last[0]
        try:
            wait_for(same, timeout=timeout, interval=0.05, what=what)
        except AssertionError as e:
            raise AssertionError(f"{e}\ndifferences (controller, API "
                                 f"server): {last[0]}") from None

    def close(self):
        for d in self.state_dirs:
            shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def built():
    missing = [str(p) for p in (gwit.BIN, gwit.MODULE) if not p.is_file()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make all` first",
                    pytrace=False)


@pytest.fixture
def net():
    n, fd = gwit.allocate_net()
    yield n
    os.close(fd)


@pytest.fixture
def procs():
    p = gwit.Procs()
    yield p
    problems = p.teardown()
    assert not problems, "\n".join(problems)


@pytest.fixture
def kube(built, tmp_path, net, procs, apiserver):
    s = KubeStack(tmp_path, net, procs, apiserver)
    yield s
    problems = procs.teardown()
    s.close()
    assert not problems, "\n".join(problems)


def failure_sections(item):
    """Logs worth reading when a test failed (conftest.py's hook)."""
    s = item.funcargs.get("kube") if hasattr(item, "funcargs") else None
    if not isinstance(s, KubeStack):
        return []
    out = []
    for c in s.controllers:
        out.append((f"{c.log.name}", tail(c.log, 80)))
        out.append((f"{c.log.name}: nginx error.log",
                    tail(c.state_dir / "logs" / "error.log", 20)))
    out.append(("apiserver log", tail(s.api.log, 30)))
    return out



@pytest.fixture
def net2():
    """A second address block (a second replica's Gateway address).
    List it before `kube` so it is released after the replicas stop."""
    n, fd = gwit.allocate_net()
    yield n
    os.close(fd)


def write_kubeconfig(path, server, token=None, cacert=None):
    """A kubeconfig like the fixture's, with these credentials."""
    cluster = {"server": server}
    if cacert:
        cluster["certificate-authority"] = str(cacert)
    user = {"token": token} if token else {}
    cfg = {"apiVersion": "v1", "kind": "Config",
           "clusters": [{"name": "c", "cluster": cluster}],
           "users": [{"name": "u", "user": user}],
           "contexts": [{"name": "x", "context": {
               "cluster": "c", "user": "u", "namespace": "default"}}],
           "current-context": "x"}
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, default_flow_style=False)
    return path
