#!/usr/bin/python3
"""The stream proxy's cost: connections/s and MiB/s, B against A.

    /usr/bin/python3 bench/stream_cost.py           (after make)

Two nginx instances proxy TCP to the same backends with a stream{} each:

    A  a minimal hand-written stream{} (Debian's ngx_stream_module.so);
    B  the configuration under test: for now the same stream{} plus our
       stream module (build/ngx_stream_gateway_module.so, with
       build/ngx_http_gateway_module.so, which reports its counters),
       gateway_stream_status_zone, gateway_stream_tag on the servers and
       gateway_stream_backend_tag on the upstreams.

Issue 5 compares the controller's rendered stream config with a minimal
one; until the controller renders stream{} (templates/stream.tmpl), B
is the module's cost. STREAM_UNDER_TEST names the function that writes
B's stream{}: to benchmark the controller's output, point it at a
function returning the rendered stream block with the same listen
addresses (LISTENERS) and upstream servers.

The backends (one more nginx, so they are not the bottleneck):

    BACKEND:PORT+1  http, serves a 1 MiB file (throughput);
    BACKEND:PORT+2  stream `return` of a whole HTTP response with
                    "Connection: close", then closes (connection rate).

wrk drives both through the proxies: "connections" sends each request on
a new TCP connection (client -> proxy -> backend, closed by the backend),
so requests/s is connections/s; "throughput" fetches the 1 MiB file over
kept-alive connections. Rounds alternate A B, B A, ...; medians and the
ratios B/A go to stdout and between <!-- bench-stream:start/end --> in
docs/benchmarks.md. Target (issue 5): B/A >= 0.97 for both, reported,
never enforced.
"""

import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ablib  # noqa: E402
import abrun  # noqa: E402
from abrun import Failure, env_int, note  # noqa: E402

DOCS = os.path.join(abrun.ROOT, "docs", "benchmarks.md")
START_MARK = "<!-- bench-stream:start -->"
END_MARK = "<!-- bench-stream:end -->"
HEADING = "### The stream proxy's cost (issue 5)"
TARGET = 0.97

BACKEND_ADDR = "127.0.0.61"
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
    def conf(root):
        return (abrun.main_context(root, cpu, [abrun.DEBIAN_STREAM]) +
                "http {\n" + abrun.http_common(root) +
                "    sendfile on;\n"
                "    server {\n"
                "        listen %s:%d backlog=4096;\n"
                "        keepalive_requests 1000000;\n"
                "        root %s;\n"
                "    }\n"
                "}\n"
                "stream {\n"
                "    server {\n"
                "        listen %s:%d backlog=4096;\n"
                "        return \"%s\";\n"
                "    }\n"
                "}\n" % (BACKEND_ADDR, port + 1, www, BACKEND_ADDR,
                         port + 2, CLOSE_RESPONSE))
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
        out.append("        server %s:%d;\n    }\n"
                   % (BACKEND_ADDR, port + backend))
        out.append("\n    server {\n"
                   "        listen %s:%d backlog=4096;\n"
                   % (addr, port + offset))
        if tagged:
            out.append("        gateway_stream_tag gateway=bench/gw "
                       "listener=%s route=bench/%s;\n" % (name, name))
        out.append("        proxy_pass %s;\n    }\n" % upstream)
    out.append("}\n")
    return "".join(out)


# What B runs: modules to load and the stream{} (see the docstring).
STREAM_UNDER_TEST = module_stream
MODULES_UNDER_TEST = [abrun.DEBIAN_STREAM, abrun.HTTP_MODULE,
                      abrun.STREAM_MODULE]


def gateway_conf(name, addr, port, cpu):
    if name == "A":
        modules = [abrun.DEBIAN_STREAM]
        stream = minimal_stream
        status = "return 404;"
    else:
        modules = MODULES_UNDER_TEST
        stream = STREAM_UNDER_TEST
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


def check_counted(b, results):
    """B's module must have counted what wrk did through it."""
    want = {
        "connections": sum(r["requests"]
                           for r in results["connections"]["B"]),
        "throughput": sum(r["bytes"] for r in results["throughput"]["B"]),
    }
    sock = os.path.join(b.root, "status.sock")
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
    names = ("BENCH_AB_ROUNDS", "BENCH_AB_SECONDS", "BENCH_AB_WARMUP",
             "BENCH_AB_CONNECTIONS", "BENCH_AB_STREAMS", "BENCH_AB_THREADS",
             "BENCH_AB_PIN", "BENCH_AB_PORT")
    prefix = "".join("%s=%s " % (n, os.environ[n]) for n in names
                     if os.environ.get(n))
    cmd = ("make bench-stream" if os.environ.get("MAKELEVEL")
           else "/usr/bin/python3 bench/stream_cost.py")
    return prefix + cmd


def report(results, workloads, rounds, warmup, pin, pressure_text):
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
        "- A: minimal stream{}; B: the same plus our stream module, "
        "its zone and tags (stand-in until the controller renders "
        "stream{})",
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
    abrun.require_tools(abrun.DEBIAN_STREAM, *MODULES_UNDER_TEST)
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
            [(BACKEND_ADDR, port + 1), (BACKEND_ADDR, port + 2)])
        setups = {}
        for name in ("A", "B"):
            addr = GATEWAY_ADDRS[name]
            listens = [(addr, port + LISTENERS[k][0]) for k in LISTENERS]
            ngx = session.nginx(name, gateway_conf(name, addr, port, gw_cpu),
                                listens)
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
        check_counted(setups["B"], results)
        text = report(results, workloads, rounds, warmup, pin,
                      pressure_text)
    finally:
        session.close(keep=bool(os.environ.get("BENCH_KEEP")))

    sys.stderr.flush()
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    if not os.environ.get("BENCH_NO_DOCS"):
        abrun.write_docs(DOCS, START_MARK, END_MARK, HEADING, text)
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
