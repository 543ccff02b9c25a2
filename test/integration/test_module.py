"""Integration tests for ngx_http_gateway_module against a real nginx.

Each test starts its own nginx (master + 2 workers, daemon off) in a
temporary directory, with the module from build/ngx_http_gateway_module.so.
It listens on a unix socket (the status socket the controller polls) and on
127.0.0.1 with a free port. Run with:

    bash nginx-module/build.sh build
    /usr/bin/python3 -m pytest -q test/integration/test_module.py

Waits are bounded numbers of tries, generous on purpose: how fast a reload
is confirmed is measured in bench/, not asserted here.
"""

import datetime
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE = REPO / "build" / "ngx_http_gateway_module.so"
NGINX = "/usr/sbin/nginx"
NGINX_VERSION = "1.22.1"

POLL_TRIES = 1000
POLL_DELAY = 0.01
STOP_TRIES = 500

STATUS_KEYS = {"generation", "loaded_at", "loaded_at_msec", "nginx_version",
               "pid", "worker_processes"}
# what the counters add (test_module_counters.py checks their values)
COUNTER_KEYS = {"connections", "requests", "zone", "servers", "routes",
                "upstreams"}
ISO8601 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
MAX_UINT64 = 2 ** 64 - 1


def require_module():
    if not MODULE.is_file():
        pytest.fail(f"{MODULE} is missing: run `make module` "
                    "(or `bash nginx-module/build.sh build`) first",
                    pytrace=False)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parent_pid(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # "pid (comm) state ppid ...": comm may contain spaces and parentheses.
    return int(stat.rsplit(")", 1)[1].split()[1])


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=10):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self.unix_path)


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)


class Nginx:
    """One nginx master (daemon off, so it is our child) in its own dir."""

    def __init__(self, root):
        self.root = Path(root)
        self.conf = self.root / "nginx.conf"
        self.error_log = self.root / "error.log"
        self.sock = self.root / "gateway-status.sock"
        self.port = free_port()
        self.proc = None

    def render(self, generation, http_extra="", server_extra=""):
        gen = ("" if generation is None
               else f"    gateway_generation {generation};\n")
        r = self.root
        return (
            f"load_module {MODULE};\n"
            "daemon off;\n"
            "master_process on;\n"
            "worker_processes 2;\n"
            f"pid {r}/nginx.pid;\n"
            f"error_log {self.error_log} notice;\n"
            "events { worker_connections 512; }\n"
            "http {\n"
            f"{gen}"
            "    access_log off;\n"
            f"    client_body_temp_path {r}/client_body;\n"
            f"    proxy_temp_path {r}/proxy;\n"
            f"    fastcgi_temp_path {r}/fastcgi;\n"
            f"    uwsgi_temp_path {r}/uwsgi;\n"
            f"    scgi_temp_path {r}/scgi;\n"
            f"{http_extra}"
            "    server {\n"
            f"        listen unix:{self.sock};\n"
            "        location / { gateway_status; }\n"
            "    }\n"
            "    server {\n"
            f"        listen 127.0.0.1:{self.port};\n"
            f"{server_extra}"
            "        location / { gateway_status; }\n"
            "    }\n"
            "}\n")

    def write_conf(self, text, path=None):
        path = Path(path or self.conf)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)

    def check(self, text):
        """nginx -t on a config text; returns (returncode, output)."""
        path = self.root / "check.conf"
        self.write_conf(text, path)
        res = subprocess.run(
            [NGINX, "-t", "-p", str(self.root), "-c", str(path),
             "-e", str(self.root / "check-error.log")],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            timeout=60)
        return res.returncode, res.stdout

    def start(self, generation):
        self.write_conf(self.render(generation))
        self.output = open(self.root / "nginx.out", "wb")
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(self.root), "-c", str(self.conf),
             "-e", str(self.error_log)],
            stdin=subprocess.DEVNULL, stdout=self.output,
            stderr=subprocess.STDOUT)
        return self.wait_generation(0 if generation is None else generation)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines=20):
        out = []
        for p in (self.error_log, self.root / "nginx.out"):
            if p.exists():
                out += p.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join(out)

    def request(self, method="GET", path="/", body=None, tcp=False):
        if tcp:
            conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                              timeout=10)
        else:
            conn = UnixHTTPConnection(str(self.sock))
        try:
            conn.request(method, path, body=body,
                         headers={"Connection": "close"})
            resp = conn.getresponse()
            data = resp.read()
            return Response(resp.status, resp.headers, data)
        finally:
            conn.close()

    def status(self, tcp=False):
        resp = self.request(tcp=tcp)
        assert resp.status == 200, resp.body
        return resp.json()

    def wait_generation(self, generation):
        """Poll the status socket (a new connection each time) until it
        reports generation; return that status document."""
        last = None
        for _ in range(POLL_TRIES):
            assert self.alive(), "nginx exited:\n" + self.log_tail()
            try:
                last = self.status()
                if last["generation"] == generation:
                    return last
            except (OSError, http.client.HTTPException) as e:
                last = repr(e)
            time.sleep(POLL_DELAY)
        pytest.fail(f"generation {generation} not reported after "
                    f"{POLL_TRIES} tries; last: {last}\n" + self.log_tail())

    def reload(self, generation, **kw):
        self.write_conf(self.render(generation, **kw))
        os.kill(self.proc.pid, signal.SIGHUP)

    def workers(self):
        master = self.proc.pid
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit() and parent_pid(int(entry)) == master:
                pids.append(int(entry))
        return sorted(pids)

    def wait_workers(self, count):
        for _ in range(POLL_TRIES):
            workers = self.workers()
            if len(workers) == count:
                return workers
            time.sleep(POLL_DELAY)
        pytest.fail(f"expected {count} workers, have {self.workers()}")

    def stop(self):
        if self.proc is None:
            return
        workers = self.workers() if self.alive() else []
        if self.alive():
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=STOP_TRIES * POLL_DELAY)
            except subprocess.TimeoutExpired:
                workers = self.workers()
                self.proc.kill()
                self.proc.wait()
        # Workers outlive a killed master; they are ours, end them by pid.
        for pid in workers:
            if parent_pid(pid) in (self.proc.pid, 1):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.output.close()
        self.proc = None

    def alerts(self):
        text = self.error_log.read_text(errors="replace")
        return [line for line in text.splitlines()
                if re.search(r"\[(alert|crit|emerg)\]", line)]


@pytest.fixture
def workdir():
    require_module()
    root = tempfile.mkdtemp(prefix="ngxgw-", dir="/tmp")
    # Workers may run as another user (nobody) when the tests run as root.
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def nginx(workdir):
    n = Nginx(workdir)
    try:
        n.start(generation=1)
        yield n
    finally:
        n.stop()


def test_module_is_built():
    # Reported as a failure here (and as setup errors in the others), never
    # as a skip: a missing module is a broken build, not an optional test.
    require_module()


def utc_seconds(iso):
    dt = datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp())


def check_status_document(doc, nginx, generation):
    assert set(doc) == STATUS_KEYS | COUNTER_KEYS
    assert doc["generation"] == generation
    assert doc["nginx_version"] == NGINX_VERSION
    assert doc["worker_processes"] == 2
    assert doc["pid"] in nginx.workers()
    assert ISO8601.match(doc["loaded_at"]), doc["loaded_at"]
    assert utc_seconds(doc["loaded_at"]) == doc["loaded_at_msec"] // 1000
    assert isinstance(doc["loaded_at_msec"], int)
    assert doc["loaded_at_msec"] <= time.time() * 1000 + 1000


def test_status_json_on_unix_socket_and_tcp(nginx):
    started_ms = time.time() * 1000
    for tcp in (False, True):
        resp = nginx.request(tcp=tcp)
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/json"
        assert int(resp.headers["Content-Length"]) == len(resp.body)
        assert resp.body.endswith(b"}\n")
        check_status_document(resp.json(), nginx, 1)
        # Parsed before the master started the workers we talk to.
        assert resp.json()["loaded_at_msec"] <= started_ms


def test_head_has_headers_only(nginx):
    resp = nginx.request("HEAD")
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/json"
    assert int(resp.headers["Content-Length"]) > 0
    assert resp.body == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_other_methods_are_not_allowed(nginx, method):
    resp = nginx.request(method, body=b'{"generation":99}')
    assert resp.status == 405
    assert resp.headers["Allow"] == "GET, HEAD"
    assert nginx.status()["generation"] == 1


def test_reload_reports_new_generation(nginx):
    before = nginx.status()
    old_workers = set(nginx.workers())
    # loaded_at has one-second resolution; make sure the second changes.
    time.sleep(1.1)

    nginx.reload(2)
    after = nginx.wait_generation(2)

    check_status_document(after, nginx, 2)
    assert after["pid"] not in old_workers
    assert after["loaded_at"] != before["loaded_at"]
    assert after["loaded_at_msec"] > before["loaded_at_msec"]

    # Until the old workers have exited, they may still accept connections
    # (the master lets new workers start for 100 ms before it tells the old
    # ones to quit). Once they are gone, only the new generation answers.
    new_workers = nginx.wait_workers(2)
    assert old_workers.isdisjoint(new_workers)
    for tcp in [False, True] * 20:
        assert nginx.status(tcp=tcp)["generation"] == 2
    assert nginx.alerts() == []


def test_absent_directive_reports_zero_and_max_is_exact(nginx):
    nginx.reload(None)
    check_status_document(nginx.wait_generation(0), nginx, 0)

    nginx.reload(MAX_UINT64)
    check_status_document(nginx.wait_generation(MAX_UINT64), nginx,
                          MAX_UINT64)

    nginx.reload("007")
    assert nginx.wait_generation(7)["generation"] == 7


def test_twenty_reloads_under_load(nginx):
    stop = threading.Event()
    results = {"ok": 0, "errors": [], "generations": set()}

    def load():
        while not stop.is_set():
            try:
                resp = nginx.request(tcp=True)
                if resp.status != 200:
                    results["errors"].append(f"status {resp.status}")
                    continue
                results["generations"].add(resp.json()["generation"])
                results["ok"] += 1
            except Exception as e:  # noqa: BLE001 - every failure counts
                results["errors"].append(repr(e))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        loaded = [nginx.status()["loaded_at_msec"]]
        for generation in range(2, 22):
            nginx.reload(generation)
            loaded.append(nginx.wait_generation(generation)["loaded_at_msec"])
            assert nginx.alive()
    finally:
        stop.set()
        thread.join(timeout=30)

    assert not thread.is_alive()
    assert nginx.alive()
    assert results["errors"] == []
    assert results["ok"] > 20
    assert results["generations"] <= set(range(1, 22))
    assert loaded == sorted(loaded) and len(set(loaded)) == len(loaded)
    nginx.wait_workers(2)
    assert nginx.status(tcp=True)["generation"] == 21
    assert nginx.alerts() == []


def test_failed_reload_keeps_serving_old_generation(nginx):
    nginx.write_conf(nginx.render(1).replace(
        "gateway_generation 1;", "gateway_generation 2x;"))
    os.kill(nginx.proc.pid, signal.SIGHUP)

    for _ in range(POLL_TRIES):
        if "gateway_generation" in nginx.error_log.read_text():
            break
        time.sleep(POLL_DELAY)
    assert any('"gateway_generation"' in line for line in nginx.alerts())
    assert nginx.alive()
    assert nginx.status()["generation"] == 1

    nginx.reload(3)
    nginx.wait_generation(3)


@pytest.mark.parametrize("value", [
    "abc", "-1", "+1", "1.5", "0x10", "12abc", '""',
    "18446744073709551616", "99999999999999999999999",
])
def test_invalid_generation_fails_config_test(workdir, value):
    n = Nginx(workdir)
    rc, out = n.check(n.render(1).replace(
        "gateway_generation 1;", f"gateway_generation {value};"))
    assert rc != 0, out
    shown = value.strip('"')
    assert (f'[emerg] invalid value "{shown}" in "gateway_generation" '
            "directive, it must be an unsigned 64-bit decimal number") in out
    assert "test failed" in out


def test_valid_config_passes_config_test(workdir):
    n = Nginx(workdir)
    rc, out = n.check(n.render(MAX_UINT64))
    assert rc == 0, out


def test_duplicate_generation_is_rejected(workdir):
    n = Nginx(workdir)
    rc, out = n.check(n.render(1, http_extra="    gateway_generation 2;\n"))
    assert rc != 0
    assert '"gateway_generation" directive is duplicate' in out


def test_generation_outside_http_main_is_rejected(workdir):
    n = Nginx(workdir)
    rc, out = n.check(n.render(1, server_extra="gateway_generation 2;\n"))
    assert rc != 0
    assert '"gateway_generation" directive is not allowed here' in out


def test_status_takes_no_arguments(workdir):
    n = Nginx(workdir)
    rc, out = n.check(n.render(1).replace("gateway_status;",
                                          "gateway_status on;", 1))
    assert rc != 0
    assert 'invalid number of arguments in "gateway_status"' in out
