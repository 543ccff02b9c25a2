#!/usr/bin/python3
"""Timing helpers for bench/run.sh (stdlib only).

Subcommands (each prints its result on stdout, progress on stderr):

  time-cmd [--runs 5] [--warmup 1] -- CMD...
      Run CMD (stdout discarded) RUNS times after WARMUP untimed runs;
      print the median wall time in ms. Exit 1 if CMD fails.

  port-free ADDR PORT
      Exit 0 if ADDR:PORT can be bound (nothing listens there), else 1.

  wait-http --port P --host H --path PATH [--timeout S] [--pid PID]
      Poll http://127.0.0.1:P PATH with Host H (a new connection each
      time) until it answers 200; print the elapsed ms. Exit 1 on timeout
      or when process PID exits first.

  change --dir DIR --routes N --port P [--repeat 5] [--timeout 60]
         [--interval 0.005] [--settle 0.5] [--pid PID]
         [--services-per-route]
      Change-to-serving. For k in 0..REPEAT-1: write HTTPRoute route-(N+k)
      (gen_routes.py --extra) next to DIR, check that its hostname does not
      serve yet, start the clock, rename the file into DIR, poll every
      INTERVAL until GET /api/(N+k)/a with that Host answers 200 with the
      echo backend's JSON. Print the median ms.

  floor --state-dir SD --port P --host H --path PATH [--repeat 5]
        [--timeout 60] [--interval 0.005] [--settle 0.5]
      Reload floor. Send SIGHUP to the nginx master (SD/nginx.pid or
      SD/logs/nginx.pid) and poll every INTERVAL until the module's status
      socket (SD/run/gateway-status.sock) reports a new "loaded_at_msec"
      (without the socket: until a new worker process appears) and a fresh
      connection for H PATH answers 200. Print the median ms; the marker
      used goes to stderr.

  report --results FILE --command CMD [--docs docs/benchmarks.md]
      Print the Markdown results (machine, command, table, targets) built
      from the tab-separated RESULTS file and, with --docs, replace the
      text between <!-- bench:start --> and <!-- bench:end --> with it.
"""

import argparse
import datetime
import http.client
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import gen_routes  # noqa: E402

START_MARK = "<!-- bench:start -->"
END_MARK = "<!-- bench:end -->"

TARGET_ROUTES = 10000
TARGET_RENDER_MS = 100.0
TARGET_RSS_MIB = 64.0
TARGET_RATIO = 1.1


def note(msg):
    sys.stderr.write("  " + msg + "\n")
    sys.stderr.flush()


class Failure(Exception):
    pass


# --- time-cmd ---------------------------------------------------------------

def cmd_time(args):
    cmd = args.cmd
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise Failure("time-cmd: no command")
    times = []
    for i in range(args.warmup + args.runs):
        t0 = time.perf_counter()
        p = subprocess.run(cmd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        dt = (time.perf_counter() - t0) * 1000.0
        if p.returncode != 0:
            sys.stderr.write(p.stderr.decode(errors="replace")[-4000:])
            raise Failure("%s exited with %d" % (" ".join(cmd),
                                                 p.returncode))
        if i >= args.warmup:
            times.append(dt)
    note("runs (ms): " + " ".join("%.1f" % t for t in times))
    print("%.1f" % statistics.median(times))


# --- port-free --------------------------------------------------------------

def cmd_port_free(args):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((args.addr, args.port))
    except OSError as e:
        note("%s:%d is busy: %s" % (args.addr, args.port, e))
        return 1
    finally:
        s.close()
    return 0


# --- HTTP probing -----------------------------------------------------------

def http_get(port, host, path, timeout=2.0):
    """(status, body) over a fresh connection; (None, error) on failure."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": host,
                                           "Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as e:
        return None, str(e)
    finally:
        conn.close()


def served(port, host, path):
    """True when the gateway answers 200 with the echo backend's JSON."""
    status, body = http_get(port, host, path)
    if status != 200:
        return False, status
    try:
        doc = json.loads(body)
    except ValueError:
        return False, "200 without echo JSON"
    if doc.get("path") != path:
        return False, "200 for path %r" % doc.get("path")
    return True, status


def alive(pid):
    if not pid:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def poll_until(check, t0, timeout, interval, pid=0, what=""):
    """Call check() every interval until it returns (True, _); ms elapsed."""
    last = None
    while True:
        ok, last = check()
        now = time.perf_counter()
        if ok:
            return (now - t0) * 1000.0
        if now - t0 > timeout:
            raise Failure("%s: not serving after %.0f s (last: %s)"
                          % (what, timeout, last))
        if not alive(pid):
            raise Failure("%s: process %d exited" % (what, pid))
        time.sleep(interval)


def cmd_wait_http(args):
    t0 = time.perf_counter()
    ms = poll_until(lambda: served(args.port, args.host, args.path), t0,
                    args.timeout, args.interval, args.pid,
                    "http://%s%s" % (args.host, args.path))
    print("%.1f" % ms)


# --- change-to-serving ------------------------------------------------------

def cmd_change(args):
    parent = os.path.dirname(os.path.abspath(args.dir))
    results = []
    for k in range(args.repeat):
        i = args.routes + k
        host = gen_routes.hostname_of(i)
        path = "/api/%d/a" % i
        src = os.path.join(parent, ".bench-extra-%d.yaml" % i)
        dst = os.path.join(args.dir, "zz-extra-route-%d.yaml" % i)
        with open(src, "w") as f:
            f.write(gen_routes.route_file(i, args.routes,
                                          args.services_per_route))
            f.flush()
            os.fsync(f.fileno())
        ok, status = served(args.port, host, path)
        if ok:
            raise Failure("%s already serves before the change" % host)
        t0 = time.perf_counter()
        os.rename(src, dst)
        ms = poll_until(lambda: served(args.port, host, path), t0,
                        args.timeout, args.interval, args.pid,
                        "new route %s" % host)
        note("change %d: %s served after %.1f ms" % (k + 1, host, ms))
        results.append(ms)
        time.sleep(args.settle)
    print("%.1f" % statistics.median(results))


# --- reload floor -----------------------------------------------------------

class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout=2.0):
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(self.timeout)
        s.connect(self.unix_path)
        self.sock = s


def find_key(doc, key):
    if isinstance(doc, dict):
        if key in doc:
            return doc[key]
        items = doc.values()
    elif isinstance(doc, list):
        items = doc
    else:
        return None
    for v in items:
        found = find_key(v, key)
        if found is not None:
            return found
    return None


def loaded_at(sock_path):
    conn = UnixHTTPConnection(sock_path)
    try:
        conn.request("GET", "/", headers={"Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            return None
        return find_key(json.loads(body), "loaded_at_msec")
    except (OSError, ValueError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def master_pid(sd):
    for rel in ("nginx.pid", "logs/nginx.pid", "run/nginx.pid"):
        try:
            with open(os.path.join(sd, rel)) as f:
                pid = int(f.read().strip())
        except (OSError, ValueError):
            continue
        if alive(pid):
            return pid
    raise Failure("no running nginx master found from %s/nginx.pid" % sd)


def children(pid):
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return set(int(x) for x in f.read().split())
    except OSError:
        pass
    kids = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.add(int(name))
    return kids


def cmd_floor(args):
    sock = os.path.join(args.state_dir, "run", "gateway-status.sock")
    results = []
    method = None
    for k in range(args.repeat):
        pid = master_pid(args.state_dir)
        before = loaded_at(sock) if os.path.exists(sock) else None
        if before is not None:
            method = "status socket loaded_at_msec"

            def marker(before=before):
                now = loaded_at(sock)
                return now is not None and now != before
        else:
            method = "new nginx worker process"
            old = children(pid)

            def marker(old=old, pid=pid):
                return bool(children(pid) - old)

        ok, status = served(args.port, args.host, args.path)
        if not ok:
            raise Failure("floor: %s%s does not serve before the HUP (%s)"
                          % (args.host, args.path, status))

        def check():
            if not marker():
                return False, "config not live yet"
            return served(args.port, args.host, args.path)

        t0 = time.perf_counter()
        os.kill(pid, signal.SIGHUP)
        ms = poll_until(check, t0, args.timeout, args.interval, pid,
                        "reload floor")
        note("floor %d: HUP to serving %.1f ms (%s)" % (k + 1, ms, method))
        results.append(ms)
        time.sleep(args.settle)
    print("%.1f" % statistics.median(results))


# --- report -----------------------------------------------------------------

def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def nginx_version():
    for exe in ("nginx", "/usr/sbin/nginx"):
        try:
            p = subprocess.run([exe, "-v"], capture_output=True, text=True)
        except OSError:
            continue
        return p.stderr.strip().replace("nginx version: ", "")
    return "unknown"


def git_revision():
    try:
        p = subprocess.run(["git", "-C", HERE, "describe", "--always",
                            "--dirty"], capture_output=True, text=True)
        return p.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def fnum(v, fmt):
    if v in ("", "-", None):
        return "n/a"
    return fmt % float(v)


def read_results(path):
    rows = []
    with open(path) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            p = line.rstrip("\n").split("\t")
            p += [""] * (6 - len(p))
            rows.append({"n": int(p[0]), "render_ms": p[1],
                         "render_kib": p[2], "run_kib": p[3],
                         "change_ms": p[4], "floor_ms": p[5]})
    return rows


def ratio(row):
    try:
        return float(row["change_ms"]) / float(row["floor_ms"])
    except (ValueError, ZeroDivisionError):
        return None


def mib(kib):
    return "" if kib in ("", "-") else "%.1f" % (float(kib) / 1024.0)


def build_report(rows, command):
    now = datetime.datetime.now(datetime.timezone.utc)
    out = []
    out.append("Run on %s UTC, revision `%s`." %
               (now.strftime("%Y-%m-%d %H:%M"), git_revision()))
    out.append("")
    out.append("- Machine: %d CPUs (`nproc`), %s; Linux %s; %s"
               % (len(os.sched_getaffinity(0)), cpu_model(),
                  platform.release(), nginx_version()))
    out.append("- Command: `%s`" % command)
    out.append("")
    out.append("| HTTPRoutes | render (ms, median) | render peak RSS "
               "(MiB) | run peak RSS (MiB) | change-to-serving (ms, median)"
               " | reload floor (ms, median) | ratio |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        rt = ratio(r)
        out.append("| %d | %s | %s | %s | %s | %s | %s |" % (
            r["n"], fnum(r["render_ms"], "%.1f"),
            fnum(mib(r["render_kib"]), "%.1f"),
            fnum(mib(r["run_kib"]), "%.1f"),
            fnum(r["change_ms"], "%.1f"), fnum(r["floor_ms"], "%.1f"),
            "n/a" if rt is None else "%.2f" % rt))
    out.append("")

    target = [r for r in rows if r["n"] == TARGET_ROUTES]
    out.append("Targets at %d HTTPRoutes (reported, not enforced):"
               % TARGET_ROUTES)
    out.append("")
    if not target:
        out.append("- not evaluated: this run did not include %d routes"
                   % TARGET_ROUTES)
        return "\n".join(out) + "\n"
    t = target[0]

    def num(v, scale=1.0):
        try:
            return float(v) / scale
        except ValueError:
            return None

    def line(label, value, limit, unit, fmt):
        if value is None:
            return "- %s: n/a (target < %g%s)" % (label, limit, unit)
        return "- %s: %s%s (target < %g%s): %s" % (
            label, fmt % value, unit, limit, unit,
            "met" if value < limit else "not met")

    out.append(line("render", num(t["render_ms"]), TARGET_RENDER_MS,
                    " ms", "%.1f"))
    out.append(line("render peak RSS", num(t["render_kib"], 1024.0),
                    TARGET_RSS_MIB, " MiB", "%.1f"))
    out.append(line("run peak RSS", num(t["run_kib"], 1024.0),
                    TARGET_RSS_MIB, " MiB", "%.1f"))
    rt = ratio(t)
    if rt is None:
        out.append("- change-to-serving / floor: n/a (target <= %gx)"
                   % TARGET_RATIO)
    else:
        out.append("- change-to-serving / floor: %.2fx (target <= %gx): %s"
                   % (rt, TARGET_RATIO,
                      "met" if rt <= TARGET_RATIO else "not met"))
    return "\n".join(out) + "\n"


def cmd_report(args):
    rows = read_results(args.results)
    text = build_report(rows, args.command)
    sys.stdout.write(text)
    if not args.docs:
        return 0
    try:
        with open(args.docs) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = "# Benchmarks\n\n## Results\n\n%s\n%s\n" % (START_MARK,
                                                          END_MARK)
    start = doc.find(START_MARK)
    end = doc.find(END_MARK)
    if start < 0 or end < start:
        doc = doc.rstrip("\n") + "\n\n## Results\n\n%s\n%s\n" % (START_MARK,
                                                                END_MARK)
        start = doc.find(START_MARK)
        end = doc.find(END_MARK)
    doc = (doc[:start + len(START_MARK)] + "\n" + text +
           doc[end:])
    tmp = args.docs + ".tmp"
    with open(tmp, "w") as f:
        f.write(doc)
    os.replace(tmp, args.docs)
    note("updated %s" % args.docs)
    return 0


def main(argv=None):
    p = argparse.ArgumentParser(description="bench/run.sh helpers")
    sub = p.add_subparsers(dest="cmd_name", required=True)

    s = sub.add_parser("time-cmd")
    s.add_argument("--runs", type=int, default=5)
    s.add_argument("--warmup", type=int, default=1)
    s.add_argument("cmd", nargs=argparse.REMAINDER)
    s.set_defaults(func=cmd_time)

    s = sub.add_parser("port-free")
    s.add_argument("addr")
    s.add_argument("port", type=int)
    s.set_defaults(func=cmd_port_free)

    def poll_opts(s):
        s.add_argument("--port", type=int, required=True)
        s.add_argument("--timeout", type=float, default=60.0)
        s.add_argument("--interval", type=float, default=0.005)
        s.add_argument("--pid", type=int, default=0)

    s = sub.add_parser("wait-http")
    poll_opts(s)
    s.add_argument("--host", required=True)
    s.add_argument("--path", required=True)
    s.set_defaults(func=cmd_wait_http)

    s = sub.add_parser("change")
    poll_opts(s)
    s.add_argument("--dir", required=True)
    s.add_argument("--routes", type=int, required=True)
    s.add_argument("--repeat", type=int, default=5)
    s.add_argument("--settle", type=float, default=0.5)
    s.add_argument("--services-per-route", action="store_true")
    s.set_defaults(func=cmd_change)

    s = sub.add_parser("floor")
    poll_opts(s)
    s.add_argument("--state-dir", required=True)
    s.add_argument("--host", required=True)
    s.add_argument("--path", required=True)
    s.add_argument("--repeat", type=int, default=5)
    s.add_argument("--settle", type=float, default=0.5)
    s.set_defaults(func=cmd_floor)

    s = sub.add_parser("report")
    s.add_argument("--results", required=True)
    s.add_argument("--command", required=True)
    s.add_argument("--docs")
    s.set_defaults(func=cmd_report)

    args = p.parse_args(argv)
    try:
        return args.func(args) or 0
    except Failure as e:
        sys.stderr.write("benchlib: FAILED: %s\n" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
