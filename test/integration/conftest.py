"""Shared fixtures for the standalone controller's integration tests.

Every test gets its own copy of examples/games (tmp_path/games), its own
state dir (/tmp/gwit-XXXXXXXX, short so the unix sockets under it stay
well below 108 bytes) and its own block of loopback addresses 127.0.X.*:

    127.0.X.1    the Gateway (--default-address)
    127.0.X.11   the mario backend  (port 8080, endpoints.yaml rewritten)
    127.0.X.12   the tetris backend (port 80,   endpoints.yaml rewritten)

so tests collide neither with each other nor with `make demo` on
127.0.0.1:80. A block is reserved with an flock on /tmp/gwit-netlocks/X
(so two suites at once on one host do not pick the same one) and only
taken when nothing listens on its addresses yet. As root (CI) the Gateway
listens on port 80; otherwise with --port-offset 8000. Every process a test starts is registered with `procs` and
stopped in teardown (SIGTERM, SIGKILL after a bounded wait); teardown then
asserts that each controller exited with status 0 and that no nginx (no
process at all) with its state dir remains.

Waits are polls with bounded deadlines (DEADLINE seconds): tests assert
behaviour, not speed. The one exception is the ReferenceGrant flip, which
test_games.py measures against the one-second requirement.
"""

import contextlib
import fcntl
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = REPO / "build" / "ngx-gateway"
MODULE = REPO / "build" / "ngx_http_gateway_module.so"
EXAMPLES = REPO / "examples" / "games"
SERVE = EXAMPLES / "backends" / "serve.py"
ECHO = REPO / "test" / "backends" / "echo.py"
PYTHON = "/usr/bin/python3"

CONTROLLER = "ngx-gateway.io/gateway-controller"
SEED_CONTROLLER = "gateway.nginx.org/nginx-gateway-controller"
HOST = "game.example.com"

DEADLINE = 5.0          # default poll deadline for behaviour
START_DEADLINE = 15.0   # controller + nginx start, backends binding
STOP_DEADLINE = 10.0    # SIGTERM -> exit, before SIGKILL

# Ports < 1024 need root (CI runs as root); otherwise shift the Gateway's
# listener with --port-offset and move tetris off port 80.
IS_ROOT = os.geteuid() == 0
PORT_OFFSET = 0 if IS_ROOT else 8000
GW_PORT = 80 + PORT_OFFSET
MARIO_PORT = 8080
TETRIS_PORT = 80 if IS_ROOT else 8080

LOGFMT_PAIR = re.compile(r'([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|\S*)')


# --------------------------------------------------------------- helpers

def wait_for(fn, timeout=DEADLINE, interval=0.02, what="condition"):
    """Call fn until it returns something truthy; return that value.

    Fails after `timeout` seconds with the last value fn returned (or the
    exception it raised), which is what the failure message should show.
    """
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            last = fn()
            if last:
                return last
        except (AssertionError, KeyError, IndexError, TypeError,
                ValueError, OSError, subprocess.SubprocessError) as e:
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout:g}s waiting for {what}; "
                f"last: {last!r}")
        time.sleep(interval)


def http_get(addr, port, path, host=HOST, timeout=5.0):
    """GET like `curl -H 'Host: ...' http://addr:port/path`.

    Returns (status, body); status is None when the connection failed.
    """
    conn = http.client.HTTPConnection(addr, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host,
                                           "User-Agent": "gwit"})
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    except OSError as e:
        return None, f"{type(e).__name__}: {e}"
    finally:
        conn.close()


def parse_logfmt(line):
    """{key: value} of one logfmt line; quoted values are unescaped."""
    out = {}
    for key, val in LOGFMT_PAIR.findall(line):
        if val.startswith('"') and val.endswith('"') and len(val) >= 2:
            val = re.sub(r'\\(.)', r'\1', val[1:-1])
        out[key] = val
    return out


def find_item(status, kind, name, namespace=None):
    for item in status["items"]:
        md = item["metadata"]
        if (item["kind"] == kind and md["name"] == name
                and (namespace is None or md.get("namespace") == namespace)):
            return item
    raise KeyError(f"no {kind} {namespace or ''}/{name} in status: "
                   f"{[(i['kind'], i['metadata']['name']) for i in status['items']]}")


def cond(conditions, ctype):
    for c in conditions:
        if c["type"] == ctype:
            return c
    raise KeyError(f"no {ctype} condition in {conditions}")


def route_parent(status, name="game-route", namespace="default",
                 gateway="game-gateway"):
    route = find_item(status, "HTTPRoute", name, namespace)
    for p in route["status"]["parents"]:
        if p["parentRef"]["name"] == gateway:
            return route, p
    raise KeyError(f"HTTPRoute {name} has no parent {gateway}: "
                   f"{route['status']}")


def listener(status, name="http", gateway="game-gateway",
             namespace="default"):
    gw = find_item(status, "Gateway", gateway, namespace)
    for lst in gw["status"].get("listeners", []):
        if lst["name"] == name:
            return gw, lst
    raise KeyError(f"Gateway {gateway} has no listener {name}: "
                   f"{gw['status']}")


def run_cli(*args, timeout=30):
    """Run build/ngx-gateway ARGS; fail the test on a non-zero exit."""
    res = subprocess.run([str(BIN)] + [str(a) for a in args],
                         capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, (
        f"ngx-gateway {' '.join(map(str, args))} exited "
        f"{res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}")
    return res


def proc_state(pid):
    """'R', 'S', 'Z', ... for a pid, or None when it does not exist."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def pid_alive(pid):
    st = proc_state(pid)
    return st is not None and st not in ("Z", "X")


def processes_mentioning(text):
    """Live (non-zombie) pids whose command line contains text."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8",
                                                           "replace")
        except OSError:
            continue
        if text in cmd and pid_alive(int(entry)):
            found.append((int(entry), cmd.strip()))
    return found


def read_pid(path):
    try:
        return int(Path(path).read_text().strip())
    except (OSError, ValueError):
        return None


def tail(path, n=60):
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except OSError as e:
        return f"<{e}>"
    return "\n".join(lines[-n:])


# --------------------------------------------------------------- addresses

class Net:
    """A block of loopback addresses 127.0.X.* for one test."""

    def __init__(self, block):
        self.block = block
        self.gw = f"127.0.{block}.1"
        self.gw2 = f"127.0.{block}.2"
        self.mario = f"127.0.{block}.11"
        self.tetris = f"127.0.{block}.12"

    def binds(self):
        return [(self.gw, GW_PORT), (self.gw2, GW_PORT),
                (self.mario, MARIO_PORT), (self.tetris, TETRIS_PORT)]


LOCK_DIR = Path("/tmp/gwit-netlocks")
_used_blocks = set()


def _bindable(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # like nginx and http.server: only a live listener makes it busy
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _lock_block(block):
    """An flock on LOCK_DIR/N reserves block N across processes.

    Two suites running at once (CI jobs on one host, a developer's loop)
    must not pick the same block between probing and binding. The lock
    files stay (a few bytes each): unlinking a lock file races.
    """
    LOCK_DIR.mkdir(mode=0o777, exist_ok=True)
    fd = os.open(LOCK_DIR / str(block), os.O_RDWR | os.O_CREAT, 0o666)
    try:
        # whoever made it, root or not, any later run may lock it (the
        # umask would leave 0644: root's files would lock others out)
        os.fchmod(fd, 0o666)
    except OSError:
        pass
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


@contextlib.contextmanager
def occupied(addr, port):
    """Another process's listening socket on addr:port for the block's
    duration: nginx cannot listen there, and the controller cannot know
    (`nginx -t` does not bind), so the reload fails in nginx's master."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
        s.listen(1)
        yield s
    finally:
        s.close()


def allocate_net():
    """A block of addresses nobody else uses: (net, lock fd).

    Preferably not used earlier in this session; not locked by another
    test process, and nothing listening on its addresses (a demo, a stray
    backend).
    Block 0 (127.0.0.*, the demo's) is never used.
    """
    first = (os.getpid() * 37) % 200
    # blocks this session has not used first (nothing of an earlier test
    # lingers there); once all were used, any block free again
    for reuse in (False, True):
        for i in range(200):
            block = 20 + (first + i) % 200
            if (block in _used_blocks) != reuse:
                continue
            fd = _lock_block(block)
            if fd is None:
                continue
            net = Net(block)
            if all(_bindable(a, p) for a, p in net.binds()):
                _used_blocks.add(block)
                return net, fd
            os.close(fd)
    pytest.fail("no free block of loopback addresses 127.0.20-219.*")


# --------------------------------------------------------------- processes

class Proc:
    """A child process with stdout+stderr in one log file."""

    kind = "process"

    def __init__(self, argv, log):
        self.argv = [str(a) for a in argv]
        self.log = Path(log)
        self.proc = None
        self.returncode = None
        self.killed = False

    def start(self):
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, cwd=REPO)
        return self

    @property
    def pid(self):
        return self.proc.pid

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def text(self):
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self, timeout=STOP_DEADLINE):
        """SIGTERM, wait up to timeout, then SIGKILL. Returns the status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.killed = True
                self.proc.kill()
                self.proc.wait(STOP_DEADLINE)
        self.returncode = self.proc.returncode
        return self.returncode


class Backend(Proc):
    """serve.py or echo.py, started and waited for ("listening on")."""

    kind = "backend"

    def __init__(self, argv, log, addr, port):
        super().__init__(argv, log)
        self.addr, self.port = addr, port

    def start(self):
        super().start()
        want = f"listening on {self.addr}:{self.port}"
        wait_for(lambda: want in self.text() or not self.running(),
                 timeout=START_DEADLINE, what=want)
        assert self.running(), (f"{self.argv} exited "
                                f"{self.proc.returncode}:\n{self.text()}")
        return self


class Controller(Proc):
    """`ngx-gateway run`, its state dir, its stderr log."""

    kind = "controller"

    def __init__(self, manifests, state_dir, log, net, extra=()):
        argv = [BIN, "run", "-f", manifests, "--state-dir", state_dir,
                "--default-address", net.gw, "--port-offset", PORT_OFFSET,
                "--worker-processes", 2, *extra]
        super().__init__(argv, log)
        self.state_dir = Path(state_dir)
        self.nginx_pid = None

    def start(self, wait=True):
        super().start()
        if wait:
            self.wait_live()
        return self

    def wait_live(self):
        """Until the first configuration is live (nginx answers)."""
        wait_for(lambda: (not self.running()
                          or (self.log_has(msg="configuration live")
                              and (self.state_dir / "status.json").is_file())),
                 timeout=START_DEADLINE, what="configuration live")
        assert self.running(), (f"controller exited "
                                f"{self.proc.returncode}:\n{self.text()}")
        self.nginx_pid = read_pid(self.state_dir / "nginx.pid")
        assert self.nginx_pid, f"no {self.state_dir}/nginx.pid"

    # log -------------------------------------------------------------

    def log_lines(self):
        """Every logfmt line of the controller as a dict (plus 'raw')."""
        out = []
        for line in self.text().splitlines():
            d = parse_logfmt(line)
            if "msg" in d:
                d["raw"] = line
                out.append(d)
        return out

    def log_find(self, **want):
        return [d for d in self.log_lines()
                if all(d.get(k) == str(v) for k, v in want.items())]

    def log_has(self, **want):
        return bool(self.log_find(**want))

    # status ----------------------------------------------------------

    def status(self, fmt="json"):
        res = run_cli("status", "--state-dir", self.state_dir, "-o", fmt)
        if fmt == "json":
            return json.loads(res.stdout)
        return res.stdout

    # stop ------------------------------------------------------------

    def stop(self, timeout=STOP_DEADLINE):
        if self.running():
            pid = read_pid(self.state_dir / "nginx.pid")
            if pid:
                self.nginx_pid = pid
        return super().stop(timeout)

    def leftovers(self):
        """nginx (or anything) still running for this state dir."""
        left = processes_mentioning(str(self.state_dir))
        if self.nginx_pid and pid_alive(self.nginx_pid) and not any(
                p == self.nginx_pid for p, _ in left):
            left.append((self.nginx_pid, "nginx master (from nginx.pid)"))
        return left


class Procs:
    """Registry of everything a test started; stops it all in teardown."""

    def __init__(self):
        self.items = []
        self.done = False

    def add(self, p):
        self.items.append(p)
        return p

    def teardown(self):
        """Stop everything (once); return what went wrong."""
        if self.done:
            return []
        self.done = True
        problems = []
        for p in reversed(self.items):
            try:
                rc = p.stop()
            except Exception as e:   # keep stopping the others
                problems.append(f"stopping {p.argv}: {e!r}")
                continue
            if not isinstance(p, Controller):
                continue
            before = len(problems)
            if p.killed:
                problems.append(f"controller did not exit within "
                                f"{STOP_DEADLINE:g}s of SIGTERM (killed)")
            elif rc != 0:
                problems.append(f"controller exited {rc} after SIGTERM")
            # the controller waits for nginx before exiting: nothing of
            # this state dir may outlive it
            left = p.leftovers()
            if left:
                try:
                    wait_for(lambda: not p.leftovers(), timeout=2.0,
                             what="nginx to go away")
                except AssertionError:
                    left = p.leftovers()
                    for pid, _ in left:
                        try:
                            os.kill(pid, signal.SIGKILL)
                        except OSError:
                            pass
                    problems.append(f"processes of {p.state_dir} left "
                                    f"after the controller exited: {left}")
            if len(problems) > before:
                print(f"--- controller log ({p.log}):\n{tail(p.log)}")
                print(f"--- nginx error.log:\n"
                      f"{tail(p.state_dir / 'logs' / 'error.log')}")
        return problems


# --------------------------------------------------------------- manifests

class Manifests:
    """A test's own copy of examples/games, edited atomically.

    Writes go to a file outside the watched directory first and are then
    renamed into place, so the controller never reads a half-written file.
    Removed files go to a stash (also outside) and can be put back.
    """

    def __init__(self, root, scratch):
        self.root = Path(root)
        self.scratch = Path(scratch)
        self.scratch.mkdir(parents=True, exist_ok=True)

    def path(self, name):
        return self.root / name

    def read(self, name):
        return self.path(name).read_text()

    def docs(self, name):
        return [d for d in yaml.safe_load_all(self.read(name)) if d]

    def write(self, name, text):
        tmp = self.scratch / (name + ".new")
        tmp.write_text(text)
        os.replace(tmp, self.path(name))

    def write_docs(self, name, docs):
        self.write(name, yaml.safe_dump_all(docs, sort_keys=False))

    def remove(self, name):
        """Like `kubectl delete -f name`: the file leaves the directory."""
        os.replace(self.path(name), self.scratch / name)

    def restore(self, name):
        os.replace(self.scratch / name, self.path(name))


def copy_games(dest, net, scratch):
    """examples/games (its manifests) with endpoints.yaml on net's addresses."""
    dest = Path(dest)
    dest.mkdir(parents=True)
    for f in sorted(EXAMPLES.glob("*.yaml")):
        shutil.copy(f, dest / f.name)
    m = Manifests(dest, scratch)
    slices = m.docs("endpoints.yaml")
    where = {"mario": (net.mario, MARIO_PORT),
             "tetris": (net.tetris, TETRIS_PORT)}
    for s in slices:
        svc = s["metadata"]["labels"]["kubernetes.io/service-name"]
        addr, port = where[svc]
        s["endpoints"][0]["addresses"] = [addr]
        s["ports"][0]["port"] = port
    assert sorted(s["metadata"]["labels"]["kubernetes.io/service-name"]
                  for s in slices) == ["mario", "tetris"]
    m.write_docs("endpoints.yaml", slices)
    return m


# --------------------------------------------------------------- the stack

class Stack:
    """One test's games setup: manifests, backends, controller."""

    def __init__(self, tmp_path, net, procs):
        self.tmp = Path(tmp_path)
        self.net = net
        self.procs = procs
        self.manifests = copy_games(self.tmp / "games", net,
                                    self.tmp / "scratch")
        self.state_dir = Path(tempfile.mkdtemp(prefix="gwit-", dir="/tmp"))
        self.controller = None

    # backends --------------------------------------------------------

    def serve(self, game):
        addr, port = ((self.net.mario, MARIO_PORT) if game == "mario"
                      else (self.net.tetris, TETRIS_PORT))
        argv = [PYTHON, SERVE, "--listen", f"{addr}:{port}",
                "--root", EXAMPLES / "backends" / game]
        return self.procs.add(
            Backend(argv, self.tmp / f"{game}.log", addr, port)).start()

    def echo(self, game, namespace, pod):
        addr, port = ((self.net.mario, MARIO_PORT) if game == "mario"
                      else (self.net.tetris, TETRIS_PORT))
        argv = [PYTHON, ECHO, "--listen", f"{addr}:{port}",
                "--namespace", namespace, "--pod", pod]
        return self.procs.add(
            Backend(argv, self.tmp / f"{game}-echo.log", addr, port)).start()

    # controller ------------------------------------------------------

    def start_controller(self, *extra, wait=True):
        c = Controller(self.manifests.root, self.state_dir,
                       self.tmp / "controller.log", self.net, extra)
        self.controller = self.procs.add(c)
        return c.start(wait=wait)

    # client ----------------------------------------------------------

    def get(self, path, host=HOST, addr=None):
        return http_get(addr or self.net.gw, GW_PORT, path, host)

    def wait_get(self, path, status, contains=None, host=HOST,
                 timeout=DEADLINE, addr=None):
        """Poll GET path until it answers status (and body has contains)."""
        last = [None]

        def probe():
            last[0] = self.get(path, host, addr)
            code, body = last[0]
            return code == status and (contains is None or contains in body)
        try:
            wait_for(probe, timeout=timeout,
                     what=f"GET {host}{path} -> {status}"
                          + (f" with {contains!r}" if contains else ""))
        except AssertionError as e:
            code, body = last[0] or (None, "")
            raise AssertionError(f"{e}\nlast answer: {code} "
                                 f"{body[:300]!r}") from None
        return last[0]

    def close(self):
        shutil.rmtree(self.state_dir, ignore_errors=True)


# --------------------------------------------------------------- fixtures

@pytest.fixture(scope="session")
def built():
    missing = [str(p) for p in (BIN, MODULE) if not p.is_file()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: run `make all` first",
                    pytrace=False)


@pytest.fixture
def net():
    n, fd = allocate_net()
    yield n
    os.close(fd)    # after everything using it (stack, procs) stopped


@pytest.fixture
def procs():
    p = Procs()
    yield p
    problems = p.teardown()
    assert not problems, "\n".join(problems)


@pytest.fixture
def stack(built, tmp_path, net, procs):
    s = Stack(tmp_path, net, procs)
    yield s
    # stop everything before the state dir goes (procs' own teardown,
    # which runs after this one, then has nothing left to do)
    problems = procs.teardown()
    s.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def games(stack):
    """The walkthrough running: both backends, controller, both games up."""
    stack.serve("mario")
    stack.serve("tetris")
    stack.start_controller()
    stack.wait_get("/mario", 200, "<title>Super Mario</title>")
    stack.wait_get("/tetris", 200, "<title>Tetris</title>")
    return stack


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """On a failure, show the controller's log and nginx's error.log."""
    outcome = yield
    rep = outcome.get_result()
    s = item.funcargs.get("stack") if hasattr(item, "funcargs") else None
    if rep.when != "call" or not rep.failed or not isinstance(s, Stack):
        return
    if s.controller is not None:
        rep.sections.append(("controller log", tail(s.controller.log)))
    rep.sections.append(("nginx error.log",
                         tail(s.state_dir / "logs" / "error.log")))
