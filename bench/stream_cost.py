#!/usr/bin/python3
"""The stream proxy: connections/s and MiB/s, B against A.

    /usr/bin/python3 bench/stream_cost.py           (after make)
    BENCH_STREAM_B=module /usr/bin/python3 bench/stream_cost.py

Two nginx instances proxy TCP to the same backends (two endpoints per
listener) with a stream{} each:

    A  a minimal hand-written stream{} (Debian's ngx_stream_module.so): one
       server and one upstream with the two endpoints per listener;
    B  by default (BENCH_STREAM_B=rendered, issue 5) the stream{} the
       controller renders: manifests of a Gateway with two TCP listeners,
       each with a TCPRoute to a Service of two endpoints, through
       `ngx-gateway render` (as bench/match_cost.py does for http{}), run
       as rendered (our modules, their zone and tags, proxy_half_close)
       except for one worker on a CPU of its own and no access logs, as in
       A; with BENCH_STREAM_B=module, A's stream{} plus our stream
       module's directives (the module's cost alone).

The backends (one more nginx on two addresses, so they are not the
bottleneck):

    BACKEND:PORT+1  http, serves a 1 MiB file (throughput);
    BACKEND:PORT+2  stream `return` of a whole HTTP response with
                    "Connection: close", then closes (connection rate).

wrk drives both through the proxies: "connections" sends each request on
a new TCP connection (client -> proxy -> backend, closed by the backend),
so requests/s is connections/s; "throughput" fetches the 1 MiB file over
kept-alive connections. Rounds alternate A B, B A, ...; medians and the
ratios B/A go to stdout and between <!-- bench-stream:start/end -->
(rendered) or <!-- bench-stream-module:start/end --> (module) in
docs/benchmarks.md. Target (issue 5): B/A >= 0.97 for both, reported,
never enforced.
"""

import os
import re
import sys
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ablib  # noqa: E402
import abrun  # noqa: E402
import match_cost  # noqa: E402
from abrun import Failure, env_int, note  # noqa: E402

DOCS = os.path.join(abrun.ROOT, "docs", "benchmarks.md")
# What B is: the rendered stream{} (issue 5) or the module's cost alone;
# each has its own section in docs/benchmarks.md.
MODES = {
    "rendered": ("<!-- bench-stream:start -->", "<!-- bench-stream:end -->",
                 "### The rendered stream{} against a minimal one (issue 5)",
                 "A: minimal hand-written stream{}; B: the stream{} "
                 "`ngx-gateway render` writes for a Gateway with two TCP "
                 "listeners and their TCPRoutes (one worker, no access "
                 "logs, as A)"),
    "module": ("<!-- bench-stream-module:start -->",
               "<!-- bench-stream-module:end -->",
               "### The stream module's cost",
               "A: minimal stream{}; B: the same plus our stream module, "
               "its zone and tags"),
}
TARGET = 0.97

BACKEND_ADDRS = ("127.0.0.61", "127.0.0.64")
GATEWAY_ADDRS = {"A": "127.0.0.62", "B": "127.0.0.63"}
FILE_SIZE = 1024 * 1024
FILE_PATH = "/1m"
CLOSE_RESPONSE = ("HTTP/1.1 200 OK\\r\\nContent-Length: 3\\r\\n"
                  "Connection: close\\r\\n\\r\\nok\\n")

# The listeners of the stream{} under test: name -> (port offset, upstream
# name, backend port offset).
LISTENERS = {
    "throughput": (10, "bench_files_80", 1),
    "connections": (11, "bench_close_80", 2),
}


def backend_conf(www, port, cpu):
    def listens(p):
        return "".join("        listen %s:%d backlog=4096;\n" % (a, p)
                       for a in BACKEND_ADDRS)

    def conf(root):
        return (abrun.main_context(root, cpu, [abrun.DEBIAN_STREAM]) +
                "http {\n" + abrun.http_common(root) +
                "    sendfile on;\n"
                "    server {\n" + listens(port + 1) +
                "        keepalive_requests 1000000;\n"
                "        root %s;\n"
                "    }\n"
                "}\n"
                "stream {\n"
                "    server {\n" + listens(port + 2) +
                "        return \"%s\";\n"
                "    }\n"
                "}\n") % (www, CLOSE_RESPONSE)
    return conf


def minimal_stream(addr, port):
    """A's stream{}: one server and one upstream per listener."""
    return stream_block(addr, port, tagged=False)


def module_stream(addr, port):
    """B's stream{} for now: A's plus our stream module's directives."""
    return stream_block(addr, port, tagged=True)


def stream_block(addr, port, tagged):
    out = ["stream {\n"]
    if tagged:
        out.append("    gateway_stream_status_zone 1m;\n")
    for name, (offset, upstream, backend) in sorted(LISTENERS.items()):
        out.append("\n    upstream %s {\n" % upstream)
        if tagged:
            out.append("        gateway_stream_backend_tag "
                       "backend=bench/%s:80;\n" % name)
        for a in BACKEND_ADDRS:
            out.append("        server %s:%d;\n" % (a, port + backend))
        out.append("    }\n")
        out.append("\n    server {\n"
                   "        listen %s:%d;\n"
                   % (addr, port + offset))
        if tagged:
            out.append("        gateway_stream_tag gateway=bench/gw "
                       "listener=%s route=bench/%s;\n" % (name, name))
        out.append("        proxy_pass %s;\n    }\n" % upstream)
    out.append("}\n")
    return "".join(out)


MODULES = [abrun.DEBIAN_STREAM, abrun.HTTP_MODULE, abrun.STREAM_MODULE]


def gateway_conf(name, addr, port, cpu):
    """A's configuration, or B's in mode module."""
    if name == "A":
        modules = [abrun.DEBIAN_STREAM]
        stream = minimal_stream
        status = "return 404;"
    else:
        modules = MODULES
        stream = module_stream
        status = "gateway_status;"

    def conf(root):
        # the same http{} in both: B's reports the stream counters
        return (abrun.main_context(root, cpu, modules) +
                "http {\n" + abrun.http_common(root) +
                "    server {\n"
                "        listen unix:%s/status.sock;\n"
                "        location / { %s }\n"
                "    }\n"
                "}\n" % (root, status) +
                stream(addr, port))
    return conf


# --- B rendered by the controller -------------------------------------------

def manifests(addr, port):
    """A Gateway on addr with the two listeners, each with a TCPRoute to
    a Service whose EndpointSlice has both backend addresses."""
    docs = [
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "GatewayClass",
         "metadata": {"name": "bench"},
         "spec": {"controllerName": "ngx-gateway.io/gateway-controller"}},
        {"apiVersion": "gateway.networking.k8s.io/v1", "kind": "Gateway",
         "metadata": {"name": "gw", "namespace": "bench"},
         "spec": {"gatewayClassName": "bench",
                  "addresses": [{"type": "IPAddress", "value": addr}],
                  "listeners": [
                      {"name": name, "port": port + offset,
                       "protocol": "TCP"}
                      for name, (offset, _, _) in sorted(LISTENERS.items())
                  ]}},
    ]
    for name, (_, _, backend) in sorted(LISTENERS.items()):
        docs += [
            {"apiVersion": "v1", "kind": "Service",
             "metadata": {"name": name, "namespace": "bench"},
             "spec": {"ports": [{"name": "p", "port": 80}]}},
            {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
             "metadata": {"name": name + "-1", "namespace": "bench",
                          "labels": {"kubernetes.io/service-name": name}},
             "addressType": "IPv4",
             "ports": [{"name": "p", "port": port + backend}],
             "endpoints": [{"addresses": list(BACKEND_ADDRS),
                            "conditions": {"ready": True}}]},
            {"apiVersion": "gateway.networking.k8s.io/v1alpha2",
             "kind": "TCPRoute",
             "metadata": {"name": name, "namespace": "bench"},
             "spec": {"parentRefs": [{"name": "gw", "sectionName": name}],
                      "rules": [{"backendRefs": [{"name": name,
                                                  "port": 80}]}]}},
        ]
    return docs


def rendered_conf(work, addr, port, cpu):
    """B's nginx.conf from `ngx-gateway render`, its included files
    written below work/B (the state directory of the render)."""
    root = os.path.join(work, "B")
    mdir = os.path.join(work, "manifests")
    match_cost.write_file(os.path.join(mdir, "bench.yaml"),
                          yaml.safe_dump_all(manifests(addr, port),
                                             sort_keys=False))
    files = match_cost.render(mdir, root)
    main_path = os.path.join(root, "nginx.conf")
    stream_path = os.path.join(root, "conf", "stream.conf")
    if main_path not in files or stream_path not in files:
        raise Failure("render wrote %s, expected %s and %s"
                      % (", ".join(sorted(files)), main_path, stream_path))
    for sub in ("logs", "run", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)

    # no access log, as A: the stream one too
    stream, n = re.subn(r"^access_log [^\n]*;$", "access_log off;",
                        files[stream_path], flags=re.M)
    if n != 1:
        raise Failure("expected one access_log in the rendered stream.conf,"
                      " found %d" % n)
    for path, text in files.items():
        if path not in (main_path, stream_path):
            match_cost.write_file(path, text)
    match_cost.write_file(stream_path, stream)
    try:
        main = match_cost.main_conf(files[main_path], cpu)
    except ValueError as e:
        raise Failure("setup B: %s" % e) from None
    return lambda root: main, os.path.join(root, "run",
                                           "gateway-status.sock")


def check_counted(b, results, sock):
    """B's module must have counted what wrk did through it."""
    want = {
        "connections": sum(r["requests"]
                           for r in results["connections"]["B"]),
        "throughput": sum(r["bytes"] for r in results["throughput"]["B"]),
    }
    deadline = time.monotonic() + 10
    while True:
        doc = abrun.status_report(sock)
        got = {}
        for s in doc.get("streams", []):
            if s.get("listener") == "connections":
                got["connections"] = s.get("sessions", 0)
            elif s.get("listener") == "throughput":
                got["throughput"] = s.get("bytes_out", 0)
        short = [k for k in want if got.get(k, 0) < want[k]]
        if not short:
            note("B's module counted %d sessions (wrk: %d connections) "
                 "and %d bytes out (wrk read %d)"
                 % (got["connections"], want["connections"],
                    got["throughput"], want["throughput"]))
            return
        if time.monotonic() > deadline:
            raise Failure("B's module counted less than wrk did (%s < %s):"
                          " is it active?\n%s" % (got, want,
                                                  doc.get("streams")))
        time.sleep(0.2)


def command_line():
    names = ("BENCH_STREAM_B", "BENCH_AB_ROUNDS", "BENCH_AB_SECONDS", "BENCH_AB_WARMUP",
             "BENCH_AB_CONNECTIONS", "BENCH_AB_STREAMS", "BENCH_AB_THREADS",
             "BENCH_AB_PIN", "BENCH_AB_PORT")
    prefix = "".join("%s=%s " % (n, os.environ[n]) for n in names
                     if os.environ.get(n))
    cmd = ("make bench-stream" if os.environ.get("MAKELEVEL")
           else "/usr/bin/python3 bench/stream_cost.py")
    return prefix + cmd


def report(results, workloads, rounds, warmup, pin, pressure_text, mode):
    conn, thr = results["connections"], results["throughput"]
    gw_cpu, load_cpu = pin
    pinning = ("nginx under test on CPU %d, wrk and the backends on CPU %d"
               % (gw_cpu, load_cpu) if gw_cpu is not None else "no pinning")
    cps = abrun.summaries(conn, "rps")
    mib = abrun.summaries(thr, "mib_s")
    conn_cpu = abrun.summaries(conn, "cpu")
    thr_cpu = abrun.summaries(thr, "cpu")
    conn_judged = ablib.judge(cps["ratio"], TARGET, conn_cpu["a"],
                              conn_cpu["b"])
    thr_judged = ablib.judge(mib["ratio"], TARGET, thr_cpu["a"],
                             thr_cpu["b"])
    lines = [
        "Run on %s UTC, revision `%s`." % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            abrun.benchlib.git_revision()),
        "",
        "- Machine: %s" % abrun.machine_line(),
        "- Command: `%s`" % command_line(),
        "- %s" % MODES[mode][3],
        "- Load: connections `%s`, throughput `%s`; each %s; one worker "
        "per nginx, %s" % (workloads["connections"].describe(),
                           workloads["throughput"].describe(),
                           ablib.rounds_text(rounds, warmup), pinning),
        "- %s" % pressure_text,
        "",
        ablib.table([
            ("connections/s (new connection per request)", cps, "%.0f",
             (TARGET, conn_judged)),
            ("p99 latency, connections (ms)",
             abrun.summaries(conn, "p99_ms"), "%.2f", None),
            ("CPU of the nginx under test, connections (% of one)",
             conn_cpu, "%.0f", None),
            ("throughput (MiB/s, 1 MiB responses, kept-alive)", mib,
             "%.0f", (TARGET, thr_judged)),
            ("CPU of the nginx under test, throughput (% of one)",
             thr_cpu, "%.0f", None),
        ]),
        "",
        "Target (issue 5), reported, not enforced: B/A >= %.2f for "
        "connections/s: %s; for throughput: %s." % (
            TARGET, conn_judged, thr_judged),
    ]
    return "\n".join(lines) + "\n"


def main():
    rounds = env_int("BENCH_AB_ROUNDS", 7)
    seconds = env_int("BENCH_AB_SECONDS", 4)
    warmup = env_int("BENCH_AB_WARMUP", 2)
    threads = env_int("BENCH_AB_THREADS", 1)
    port = env_int("BENCH_AB_PORT", 18180)
    workloads = {
        "connections": abrun.Workload(
            "connections", "/", threads,
            env_int("BENCH_AB_CONNECTIONS", 50), seconds),
        "throughput": abrun.Workload(
            "throughput", FILE_PATH, threads,
            env_int("BENCH_AB_STREAMS", 8), seconds),
    }
    mode = os.environ.get("BENCH_STREAM_B") or "rendered"
    if mode not in MODES:
        raise Failure("BENCH_STREAM_B=%s: expected %s"
                      % (mode, " or ".join(sorted(MODES))))
    abrun.require_tools(*MODULES)
    gw_cpu, load_cpu = pin = abrun.pin_plan()

    session = abrun.Session("ngx-gateway-bench-stream.")
    try:
        www = os.path.join(session.work, "www")
        os.makedirs(www)
        with open(os.path.join(www, FILE_PATH.lstrip("/")), "wb") as f:
            f.write(os.urandom(FILE_SIZE))
        os.chmod(www, 0o755)
        backend = session.nginx(
            "backend", backend_conf(www, port, load_cpu),
            [(a, port + k) for a in BACKEND_ADDRS for k in (1, 2)])
        setups = {}
        for name in ("A", "B"):
            addr = GATEWAY_ADDRS[name]
            listens = [(addr, port + LISTENERS[k][0]) for k in LISTENERS]
            if name == "B" and mode == "rendered":
                conf, status_sock = rendered_conf(session.work, addr, port,
                                                  gw_cpu)
            else:
                conf = gateway_conf(name, addr, port, gw_cpu)
                status_sock = os.path.join(session.work, name, "status.sock")
            ngx = session.nginx(name, conf, listens)
            setups[name] = ngx
            check_serves(name, addr, port)
        results = {}
        idle = abrun.idle_pressure()
        pressure = abrun.Pressure()
        pressure.start()
        for key in ("connections", "throughput"):
            offset = LISTENERS[key][0]
            urls = {n: (ngx, "http://%s:%d" % (GATEWAY_ADDRS[n],
                                               port + offset))
                    for n, ngx in setups.items()}
            note("%d rounds of `%s` against A and B"
                 % (rounds, workloads[key].describe()))
            results[key] = abrun.run_ab(workloads[key], urls, rounds,
                                        warmup, load_cpu, backend)
        pressure_text = abrun.pressure_line(idle, pressure.share())
        check_counted(setups["B"], results, status_sock)
        text = report(results, workloads, rounds, warmup, pin,
                      pressure_text, mode)
    finally:
        session.close(keep=bool(os.environ.get("BENCH_KEEP")))

    sys.stderr.flush()
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    if not os.environ.get("BENCH_NO_DOCS"):
        start, end, heading = MODES[mode][:3]
        abrun.write_docs(DOCS, start, end, heading, text)
    return 0


def check_serves(name, addr, port):
    """Both listeners of a setup answer through the proxy."""
    status, body = abrun.http_get(addr, port + LISTENERS["throughput"][0],
                                  FILE_PATH)
    if status != 200 or len(body) != FILE_SIZE:
        raise Failure("%s: GET %s answered %s with %d bytes, not 200 with "
                      "%d" % (name, FILE_PATH, status, len(body), FILE_SIZE))
    status, body = abrun.http_get(addr, port + LISTENERS["connections"][0],
                                  "/")
    if status != 200 or body != b"ok\n":
        raise Failure("%s: GET / through the connections listener "
                      "answered %s %r" % (name, status, body))


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        sys.stderr.write("bench: FAILED: %s\n" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("bench: interrupted\n")
        sys.exit(130)
