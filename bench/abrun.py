#!/usr/bin/python3
"""Processes of the side-by-side (A/B) benchmarks (stdlib only).

Starts and stops nginx instances (each a master with one worker, daemon
off, in its own directory under a work directory), runs wrk with
bench/wrk_report.lua, measures the CPU time of an nginx's workers during
a run, and runs the A/B rounds of one workload. Everything started here
is stopped by Session.close(), which the benchmark scripts call from a
finally block (SIGTERM and SIGINT become exceptions, so it also runs on
Ctrl-C). The pure parts (parsing, statistics, report) are in ablib.py.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import ablib  # noqa: E402
import benchlib  # noqa: E402

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
WRK = shutil.which("wrk") or "/usr/bin/wrk"
WRK_SCRIPT = os.path.join(HERE, "wrk_report.lua")
DEBIAN_STREAM = "/usr/lib/nginx/modules/ngx_stream_module.so"
HTTP_MODULE = os.path.join(ROOT, "build", "ngx_http_gateway_module.so")
STREAM_MODULE = os.path.join(ROOT, "build", "ngx_stream_gateway_module.so")

CLK_TCK = os.sysconf("SC_CLK_TCK")


class Failure(Exception):
    """Something does not work (as opposed to: is slow)."""


def note(msg):
    sys.stderr.write("  " + msg + "\n")
    sys.stderr.flush()


def env_int(name, default):
    value = os.environ.get(name, "")
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise Failure("%s=%r is not an integer" % (name, value)) from None


def _raise_exit(signum, frame):
    raise KeyboardInterrupt("signal %d" % signum)


def pin_plan():
    """(gateway CPU, load CPU) or (None, None) when not pinning.

    With two or more CPUs and BENCH_AB_PIN not "0", the nginx under test
    gets the first CPU to itself; wrk and the backends share the second.
    """
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2 or os.environ.get("BENCH_AB_PIN", "1") == "0":
        return None, None
    return cpus[0], cpus[1]


def affinity_line(cpu):
    """worker_cpu_affinity for one worker on CPU cpu ("" for none)."""
    if cpu is None:
        return ""
    return "worker_cpu_affinity %s;\n" % format(1 << cpu, "b")


def main_context(root, cpu, modules=()):
    """The main context of one of our nginx instances (one worker)."""
    return ("".join("load_module %s;\n" % m for m in modules) +
            "daemon off;\n"
            "master_process on;\n"
            "worker_processes 1;\n"
            + affinity_line(cpu) +
            "worker_rlimit_nofile 65536;\n"
            "pid %s/nginx.pid;\n"
            "error_log %s/error.log notice;\n"
            "events { worker_connections 16384; }\n" % (root, root))


def http_common(root):
    """First lines of an http{} block: no access log, temp paths in root."""
    return ("    access_log off;\n"
            "    client_body_temp_path %s/client_body;\n"
            "    proxy_temp_path %s/proxy;\n"
            "    fastcgi_temp_path %s/fastcgi;\n"
            "    uwsgi_temp_path %s/uwsgi;\n"
            "    scgi_temp_path %s/scgi;\n" % ((root,) * 5))


# --- nginx ------------------------------------------------------------------

class Nginx:
    """One nginx master (our child) with the configuration conf(root)."""

    def __init__(self, name, root, conf, listens):
        self.name = name
        self.root = root
        self.conf_path = os.path.join(root, "nginx.conf")
        self.listens = listens          # [(addr, port)] to wait for
        self.proc = None
        os.makedirs(root, exist_ok=True)
        with open(self.conf_path, "w") as f:
            f.write(conf(root))

    def error_tail(self, lines=20):
        path = os.path.join(self.root, "error.log")
        try:
            with open(path, errors="replace") as f:
                return "".join(f.readlines()[-lines:])
        except OSError:
            return ""

    def start(self, timeout=10.0):
        test = subprocess.run([NGINX, "-t", "-p", self.root, "-c",
                               self.conf_path, "-e",
                               os.path.join(self.root, "error.log")],
                              capture_output=True, text=True)
        if test.returncode != 0:
            raise Failure("%s: nginx -t failed:\n%s" % (self.name,
                                                        test.stderr))
        out = open(os.path.join(self.root, "nginx.out"), "wb")
        self.proc = subprocess.Popen(
            [NGINX, "-p", self.root, "-c", self.conf_path, "-e",
             os.path.join(self.root, "error.log")],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + timeout
        for addr, port in self.listens:
            while not connects(addr, port):
                if self.proc.poll() is not None:
                    raise Failure("%s exited (%d):\n%s" % (
                        self.name, self.proc.returncode, self.error_tail()))
                if time.monotonic() > deadline:
                    raise Failure("%s: nothing listens on %s:%d after %.0f s"
                                  % (self.name, addr, port, timeout))
                time.sleep(0.05)
        while not self.workers():
            if time.monotonic() > deadline:
                raise Failure("%s: no worker process" % self.name)
            time.sleep(0.05)
        note("%s: nginx master %d, worker(s) %s, %s" % (
            self.name, self.proc.pid,
            " ".join(str(p) for p in sorted(self.workers())),
            self.conf_path))

    def workers(self):
        if self.proc is None or self.proc.poll() is not None:
            return set()
        return benchlib.children(self.proc.pid)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                note("%s: master %d ignored SIGTERM, killing it"
                     % (self.name, self.proc.pid))
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def connects(addr, port):
    try:
        with socket.create_connection((addr, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_free(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((addr, port))
    except OSError as e:
        raise Failure("%s:%d is in use (%s): another benchmark?"
                      % (addr, port, e)) from None
    finally:
        s.close()


def http_get(addr, port, path, host="localhost"):
    """(status, body) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection(addr, port, timeout=5)
    try:
        conn.request("GET", path, headers={"Host": host})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as e:
        raise Failure("GET http://%s:%d%s: %s" % (addr, port, path, e))
    finally:
        conn.close()


def status_report(sock_path):
    """The module's JSON report from its unix socket."""
    conn = benchlib.UnixHTTPConnection(sock_path, timeout=5)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
    except (OSError, http.client.HTTPException) as e:
        raise Failure("status socket %s: %s" % (sock_path, e)) from None
    finally:
        conn.close()
    if resp.status != 200:
        raise Failure("status socket %s answered %d" % (sock_path,
                                                        resp.status))
    return json.loads(body)


# --- CPU time and wrk -------------------------------------------------------

def cpu_ticks(pids):
    """utime + stime of pids, in clock ticks."""
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def run_wrk(url, threads, connections, seconds, cpu=None, headers=()):
    """Run wrk once; (parsed figures, its output)."""
    argv = [WRK, "-t%d" % threads, "-c%d" % connections,
            "-d%ds" % seconds, "--latency", "-s", WRK_SCRIPT]
    for h in headers:
        argv += ["-H", h]
    argv.append(url)
    if cpu is not None:
        argv = ["taskset", "-c", str(cpu)] + argv
    p = subprocess.run(argv, capture_output=True, text=True,
                       timeout=seconds + 60)
    if p.returncode != 0:
        raise Failure("%s exited with %d:\n%s%s" % (
            " ".join(argv), p.returncode, p.stdout, p.stderr))
    try:
        return ablib.parse_wrk(p.stdout), p.stdout
    except ablib.ParseError as e:
        raise Failure("%s: %s\n%s" % (" ".join(argv), e, p.stdout))


class Workload:
    """One wrk invocation, run against each setup's URL."""

    def __init__(self, name, path, threads, connections, seconds,
                 headers=(), max_error_share=0.001):
        self.name = name
        self.path = path
        self.threads = threads
        self.connections = connections
        self.seconds = seconds
        self.headers = tuple(headers)
        self.max_error_share = max_error_share

    def describe(self):
        h = "".join(" -H '%s'" % x for x in self.headers)
        return ("wrk -t%d -c%d -d%ds%s %s" % (self.threads, self.connections,
                                              self.seconds, h, self.path))


def run_ab(workload, setups, rounds, warmup, load_cpu, watch):
    """Alternating runs of workload against setups {"A": .., "B": ..}.

    setups map a name to (nginx, base URL). Each setup first gets one
    untimed warm-up run of warmup seconds; then the rounds follow
    ablib.schedule(). watch is an nginx (the backend) whose worker CPU
    is logged too. Returns {name: [figures of each run]} where figures
    are parse_wrk()'s plus "cpu" (per cent of one CPU that the setup's
    workers used during the run).
    """
    for name, (ngx, url) in sorted(setups.items()):
        if warmup > 0:
            run_wrk(url + workload.path, workload.threads,
                    workload.connections, warmup, load_cpu, workload.headers)
    results = {name: [] for name in setups}
    for k, name in enumerate(ablib.schedule(rounds, sorted(setups))):
        ngx, url = setups[name]
        pids = ngx.workers()
        wpids = watch.workers() if watch is not None else set()
        t0 = time.monotonic()
        c0, w0 = cpu_ticks(pids), cpu_ticks(wpids)
        r, text = run_wrk(url + workload.path, workload.threads,
                          workload.connections, workload.seconds, load_cpu,
                          workload.headers)
        elapsed = time.monotonic() - t0
        r["cpu"] = 100.0 * (cpu_ticks(pids) - c0) / CLK_TCK / elapsed
        backend_cpu = 100.0 * (cpu_ticks(wpids) - w0) / CLK_TCK / elapsed
        problem = ablib.wrk_problem(r, workload.max_error_share)
        if problem is not None:
            raise Failure("%s against %s (%s): %s\n%s\n%s" % (
                workload.name, name, ngx.name, problem, text,
                ngx.error_tail()))
        if not ngx.alive():
            raise Failure("%s exited during the run:\n%s" % (
                ngx.name, ngx.error_tail()))
        note("%-12s %s run %2d: %9.0f req/s %8.1f MiB/s p99 %6.2f ms "
             "cpu %3.0f%% (backend %3.0f%%) errors %d" % (
                 workload.name, name, k // 2 + 1, r["rps"], r["mib_s"],
                 r["p99_ms"], r["cpu"], backend_cpu, r["socket_errors"]))
        results[name].append(r)
    return results


def summaries(results, key):
    return ablib.summarize([r[key] for r in results["A"]],
                           [r[key] for r in results["B"]])


class Pressure:
    """CPU pressure (PSI) between start() and share(), when the kernel
    has /proc/pressure/cpu: the share of the time in which some task was
    ready to run but waited for a CPU. Near 0 the machine was ours;
    more means other work competed with the benchmark."""

    PATH = "/proc/pressure/cpu"

    def __init__(self):
        self.t0 = self.total0 = None

    def read(self):
        try:
            with open(self.PATH) as f:
                return ablib.parse_psi_some(f.read())
        except (OSError, ablib.ParseError):
            return None

    def start(self):
        self.t0 = time.monotonic()
        self.total0 = self.read()

    def share(self):
        """Per cent of the wall time, or None without PSI."""
        total = self.read()
        if total is None or self.total0 is None:
            return None
        elapsed = time.monotonic() - self.t0
        return 100.0 * (total - self.total0) / 1e6 / elapsed


def pressure_line(idle, during):
    """The report's line on CPU pressure (per cent values or None)."""
    if idle is None or during is None:
        return "CPU pressure: not measured (no %s)" % Pressure.PATH
    return ("CPU pressure (%s, \"some\": the share of the time in which a "
            "task waited for a CPU): %.0f%% in 3 s before the rounds, with "
            "our nginx idle (other work on the machine); %.0f%% during the "
            "rounds (wrk and the backend share a CPU, so part of it is "
            "ours)" % (Pressure.PATH, idle, during))


def idle_pressure(seconds=3.0):
    p = Pressure()
    p.start()
    time.sleep(seconds)
    return p.share()


# --- session ----------------------------------------------------------------

class Session:
    """The work directory and every nginx started in it."""

    def __init__(self, prefix):
        self.work = tempfile.mkdtemp(prefix=prefix)
        # nginx workers run as another user when we are root
        os.chmod(self.work, 0o755)
        self.nginxes = []
        signal.signal(signal.SIGTERM, _raise_exit)

    def nginx(self, name, conf, listens):
        for addr, port in listens:
            require_free(addr, port)
        n = Nginx(name, os.path.join(self.work, name), conf, listens)
        self.nginxes.append(n)
        n.start()
        return n

    def close(self, keep=False):
        for n in reversed(self.nginxes):
            n.stop()
        if keep:
            note("work directory kept: %s" % self.work)
        else:
            shutil.rmtree(self.work, ignore_errors=True)


def require_tools(*modules):
    missing = [p for p in (NGINX, WRK) if not os.access(p, os.X_OK)]
    missing += [m for m in modules if not os.path.isfile(m)]
    if missing:
        raise Failure("missing: %s (wrk: apt-get install wrk; modules: "
                      "make)" % ", ".join(missing))


def machine_line():
    return ("%d CPUs (`nproc`), %s; Linux %s; %s; %s"
            % (len(os.sched_getaffinity(0)), benchlib.cpu_model(),
               os.uname().release, benchlib.nginx_version(),
               wrk_version()))


def wrk_version():
    p = subprocess.run([WRK, "--version"], capture_output=True, text=True)
    first = (p.stdout or p.stderr).splitlines()
    return first[0].split(" Copyright")[0] if first else "wrk"


def write_docs(path, start_mark, end_mark, heading, text):
    with open(path) as f:
        doc = f.read()
    doc = ablib.replace_section(doc, start_mark, end_mark, text, heading)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, path)
    note("updated %s" % path)
