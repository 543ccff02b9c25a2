#!/usr/bin/python3
"""What HTTPRoute matching costs: path-only, our module, an njs matcher.

    /usr/bin/python3 bench/match_cost.py      (after make; needs Debian's
                                               libnginx-mod-http-js)

Three nginx instances, one worker each, serve the same 100 HTTPRoutes
(bench/gen_routes.py: route i has hostname route-i.bench.example.com and
the rules PathPrefix /api/i/a, Exact /api/i/b, PathPrefix /static/i) in
front of the same backend:

    A  path-only: the routes as generated, through the configuration
       `ngx-gateway render` writes for them;
    B  the same routes with method + header + query parameter matches
       (add_matches()), through the rendered configuration: the paths'
       locations dispatch with our module's gateway_match to named
       locations;
    C  B's rendered configuration with the matching done the way NGINX
       Gateway Fabric does it (njs_conf()): each dispatch location sets
       $match_key and runs js_content of bench/njs/gw_match.js, whose
       match lists are one js_preload_object; the winner is reached by an
       internal redirect to an internal location. Everything else (our
       module's tags and counters, upstreams, split_clients, proxy
       headers) stays as rendered, so B and C differ by the matcher only.

The request (the same for all three) exercises the matches: GET
/api/K/a/items?version=2 with Host route-K.bench.example.com and
x-bench-env: canary. In B and C the path has two candidates: first the
one that also wants x-bench-user: alice (more headers, so higher in the
Gateway API precedence), which fails on it, then the one that wants
method GET, x-bench-env canary and version=2, which wins.

wrk runs against A, B and C in rounds whose order rotates through all six
permutations (schedule()); the medians of requests/s, p99 latency and
the CPU of the nginx under test, with the ratios B/A and B/C, go to
stdout and between <!-- bench-match:start/end --> of docs/benchmarks.md.
Targets (issue 4), reported, never enforced: matching costs at most 10%
of requests/s (B/A >= 0.90); our matching at least 1.25x the njs
matcher (B/C >= 1.25). It fails only when something does not work:
render, nginx -t, a wrong answer (each setup must route the request to
the backend, and B and C must answer 404 without the header), socket
errors. Environment: see docs/benchmarks.md.
"""

import http.client
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ablib  # noqa: E402
import abrun  # noqa: E402
import gen_routes  # noqa: E402
from abrun import Failure, env_int, note  # noqa: E402

DOCS = os.path.join(abrun.ROOT, "docs", "benchmarks.md")
START_MARK = "<!-- bench-match:start -->"
END_MARK = "<!-- bench-match:end -->"
HEADING = "### Matching: path-only, our module and an njs matcher (issue 4)"
TARGET_MATCH = 0.90     # B/A: matching costs at most 10 %
TARGET_NJS = 1.25       # B/C: ours at least 1.25x the njs matcher

BIN = os.path.join(abrun.ROOT, "build", "ngx-gateway")
NJS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"
NJS_SCRIPT = os.path.join(HERE, "njs", "gw_match.js")

BACKEND_ADDR = "127.0.0.71"
GATEWAY_ADDRS = {"A": "127.0.0.72", "B": "127.0.0.73", "C": "127.0.0.74"}
NAMES = ("A", "B", "C")
LABELS = {"A": "A path-only", "B": "B our module", "C": "C njs"}

# The match fields of setup B and the request that satisfies them.
ENV_HEADER = ("x-bench-env", "canary")
USER_HEADER = ("x-bench-user", "alice")
QUERY = ("version", "2")
METHOD = "GET"


# --- manifests --------------------------------------------------------------

RULE_PATH = re.compile(r"^    - path:\n"
                       r"        type: (\w+)\n"
                       r"        value: (\S+)\n", re.M)


def match_fields(headers, query):
    """The YAML of method, headers and queryParams of one match."""
    out = ["      method: %s\n" % METHOD, "      headers:\n"]
    for name, value in headers:
        out.append("      - name: %s\n        value: %s\n" % (name, value))
    if query:
        out.append("      queryParams:\n")
        for name, value in query:
            out.append("      - name: %s\n        value: \"%s\"\n"
                       % (name, value))
    return "".join(out)


def add_matches(text):
    """gen_routes.py's YAML with the match fields of setup B.

    Every path match gets method GET, header x-bench-env: canary and
    query parameter version=2. The rule of PathPrefix /api/i/a also gets
    a second match: the same path with x-bench-env: canary and
    x-bench-user: alice (more headers: it comes first). Raises ValueError
    when the text has no path match to extend (gen_routes.py changed).
    """
    def extend(m):
        kind, value = m.group(1), m.group(2)
        out = m.group(0) + match_fields([ENV_HEADER], [QUERY])
        if kind == "PathPrefix" and re.fullmatch(r"/api/[0-9]+/a", value):
            out += ("    - path:\n        type: %s\n        value: %s\n"
                    % (kind, value) +
                    match_fields([ENV_HEADER, USER_HEADER], []))
        return out

    out, count = RULE_PATH.subn(extend, text)
    if count == 0 and re.search(r"^kind: HTTPRoute$", text, re.M):
        raise ValueError("no path match found in gen_routes.py's output")
    return out


def write_manifests(outdir, n, addr, port, backend_port, with_matches):
    """gen_routes.py's n routes for a Gateway on addr:port whose Services'
    endpoints are BACKEND_ADDR:backend_port; with_matches: setup B's."""
    saved = (gen_routes.GATEWAY_ADDR, gen_routes.GATEWAY_PORT,
             gen_routes.ENDPOINT_ADDR, gen_routes.ENDPOINT_PORT)
    try:
        gen_routes.GATEWAY_ADDR = addr
        gen_routes.GATEWAY_PORT = port
        gen_routes.ENDPOINT_ADDR = BACKEND_ADDR
        gen_routes.ENDPOINT_PORT = backend_port
        gen_routes.generate(n, outdir, False)
    finally:
        (gen_routes.GATEWAY_ADDR, gen_routes.GATEWAY_PORT,
         gen_routes.ENDPOINT_ADDR, gen_routes.ENDPOINT_PORT) = saved
    if not with_matches:
        return
    for name in sorted(os.listdir(outdir)):
        path = os.path.join(outdir, name)
        with open(path) as f:
            text = f.read()
        with open(path, "w") as f:
            f.write(add_matches(text))


# --- the rendered configuration ---------------------------------------------

FILE_MARK = "# file: "


def split_render(text):
    """{path: content} of `ngx-gateway render`'s output ("# file: PATH"
    lines start each file)."""
    files = {}
    path = None
    for line in text.splitlines(keepends=True):
        if line.startswith(FILE_MARK):
            path = line[len(FILE_MARK):].strip()
            files[path] = ""
        elif path is not None:
            files[path] += line
        elif line.strip():
            raise ValueError("render output before the first %r line: %r"
                             % (FILE_MARK, line))
    if not files:
        raise ValueError("no %r line in the render output" % FILE_MARK)
    return files


def render(manifests, state_dir):
    """The files `ngx-gateway render` writes for manifests, all under
    state_dir: {path: content}."""
    p = subprocess.run([BIN, "render", "-f", manifests, "--state-dir",
                        state_dir], capture_output=True, text=True,
                       timeout=120)
    if p.returncode != 0:
        raise Failure("ngx-gateway render -f %s failed (%d):\n%s"
                      % (manifests, p.returncode, p.stderr[-4000:]))
    try:
        files = split_render(p.stdout)
    except ValueError as e:
        raise Failure("ngx-gateway render: %s" % e) from None
    root = os.path.join(os.path.abspath(state_dir), "")
    for path in files:
        if not os.path.abspath(path).startswith(root):
            raise Failure("render wrote %s, outside %s" % (path, state_dir))
    return files


def main_conf(text, cpu, modules=(), access_log=False):
    """The rendered nginx.conf with one worker (on cpu), in the
    foreground; modules are loaded too; no access log unless asked."""
    worker = "worker_processes auto;\n"
    if text.count(worker) != 1:
        raise ValueError("expected one %r in the rendered nginx.conf"
                         % worker.strip())
    text = text.replace(worker, "worker_processes 1;\n" +
                        abrun.affinity_line(cpu) +
                        "worker_rlimit_nofile 65536;\n"
                        "daemon off;\n"
                        "master_process on;\n")
    if not access_log:
        text, n = re.subn(r"^( *)access_log [^\n]*;$", r"\1access_log off;",
                          text, flags=re.M)
        if n != 1:
            raise ValueError("expected one access_log in the rendered "
                             "nginx.conf, found %d" % n)
    return "".join("load_module %s;\n" % m for m in modules) + text


# --- setup C: the njs matcher -----------------------------------------------

LOCATION = re.compile(r"^( *)location (= )?(\S+) \{$")
NAMED = re.compile(r"^( *)location @(\S+) \{$")
PROXY_PASS = re.compile(r"^( *)(proxy_pass|grpc_pass) ([^;\s]+);$")
TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|([^\s"]+)')
INTERNAL_PREFIX = "/_gw_match/"


def directive_args(line):
    """The arguments of one directive line (nginx quoting undone)."""
    body = line.strip()
    if not body.endswith(";"):
        raise ValueError("not a one-line directive: %r" % line)
    args = []
    for m in TOKEN.finditer(body[:-1]):
        if m.group(1) is not None:
            args.append(re.sub(r"\\(.)", r"\1", m.group(1)))
        else:
            args.append(m.group(2))
    return args


def internal_uri(target):
    """The internal location's URI for the named location @target."""
    return INTERNAL_PREFIX + re.sub(r"[^A-Za-z0-9._-]", "_", target)


def candidate(args):
    """The njs candidate of one gateway_match's arguments."""
    if len(args) < 2 or args[0] != "gateway_match" or \
            not args[1].startswith("@"):
        raise ValueError("not a gateway_match: %r" % (args,))
    c = {"to": internal_uri(args[1][1:])}
    for field in args[2:]:
        if field.startswith("method="):
            c["method"] = field[len("method="):]
        elif field.startswith("header:") and "=" in field:
            name, _, value = field[len("header:"):].partition("=")
            c.setdefault("headers", []).append("%s:Exact:%s"
                                               % (name.lower(), value))
        elif field.startswith("query:") and "=" in field:
            name, _, value = field[len("query:"):].partition("=")
            c.setdefault("params", []).append("%s=Exact=%s" % (name, value))
        else:
            raise ValueError("the njs matcher has no equivalent of the "
                             "field %r" % field)
    return c


def njs_conf(http_conf, script, matches_path):
    """(http.conf of setup C, its match lists) from B's rendered one.

    Each dispatch location (only gateway_match lines) becomes
    `set $match_key mN; js_content gw_match.dispatch;` with its candidates
    under key mN; each named location @T becomes the internal location
    `= /_gw_match/T` whose proxy_pass carries $request_uri (after the
    internal redirect the request's URI is the internal one, as in NGINX
    Gateway Fabric). Raises ValueError on anything it does not know.
    """
    lines = http_conf.splitlines()
    out = ["# Setup C of bench/match_cost.py: HTTPRoute matches in njs.",
           "js_import gw_match from \"%s\";" % script,
           "js_preload_object gw_matches from \"%s\";" % matches_path,
           ""]
    matches = {}
    uris = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        m = LOCATION.match(line)
        if m and i + 1 < len(lines) and \
                lines[i + 1].strip().startswith("gateway_match "):
            key = "m%d" % len(matches)
            cands = []
            i += 1
            while lines[i].strip().startswith("gateway_match "):
                cands.append(candidate(directive_args(lines[i])))
                i += 1
            if lines[i] != m.group(1) + "}":
                raise ValueError("dispatch location %s: unexpected %r"
                                 % (m.group(3), lines[i]))
            matches[key] = cands
            ind = m.group(1) + "    "
            out += [line, ind + "set $match_key %s;" % key,
                    ind + "js_content gw_match.dispatch;", lines[i]]
            i += 1
            continue
        m = NAMED.match(line)
        if m:
            uri = internal_uri(m.group(2))
            if uris.setdefault(uri, m.group(2)) != m.group(2):
                raise ValueError("@%s and @%s share %s" % (
                    uris[uri], m.group(2), uri))
            out += ["%slocation = %s {" % (m.group(1), uri),
                    m.group(1) + "    internal;"]
            i += 1
            while lines[i] != m.group(1) + "}":
                p = PROXY_PASS.match(lines[i])
                if p:
                    out.append("%s%s %s$request_uri;" % p.groups())
                elif re.match(r"^\s*(rewrite|return|gateway_match)\b",
                              lines[i]):
                    raise ValueError("named location @%s: %r is not "
                                     "handled" % (m.group(2), lines[i]))
                else:
                    out.append(lines[i])
                i += 1
            continue
        if "gateway_match" in line:
            raise ValueError("gateway_match outside a dispatch location: %r"
                             % line)
        out.append(line)
        i += 1
    if not matches:
        raise ValueError("no dispatch location in the configuration")
    for cands in matches.values():
        for c in cands:
            if c["to"] not in uris:
                raise ValueError("no named location for %s" % c["to"])
    return "\n".join(out) + "\n", matches


# --- the setups -------------------------------------------------------------

def backend_conf(port, cpu):
    """The backend: answers 200 with the request's URI."""
    def conf(root):
        return (abrun.main_context(root, cpu) +
                "http {\n" + abrun.http_common(root) +
                "    server {\n"
                "        listen %s:%d backlog=4096;\n"
                "        keepalive_requests 1000000;\n"
                "        location / { return 200 \"$request_uri\\n\"; }\n"
                "    }\n"
                "}\n" % (BACKEND_ADDR, port))
    return conf


def prepare(work, name, n, port, cpu, access_log):
    """Render setup name's configuration into work/name; returns its
    nginx.conf text (the rest is written)."""
    root = os.path.join(work, name)
    manifests = os.path.join(work, "manifests-" + name)
    write_manifests(manifests, n, GATEWAY_ADDRS[name], port, port + 1,
                    name != "A")
    files = render(manifests, root)
    for sub in ("logs", "run", "tmp"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    main_path = os.path.join(root, "nginx.conf")
    http_path = os.path.join(root, "conf", "http.conf")
    if set(files) != {main_path, http_path}:
        raise Failure("render wrote %s, expected %s and %s" % (
            ", ".join(sorted(files)), main_path, http_path))
    http_conf = files[http_path]
    modules = []
    try:
        if name == "C":
            matches_path = os.path.join(root, "conf", "matches.json")
            http_conf, matches = njs_conf(http_conf, NJS_SCRIPT,
                                          matches_path)
            write_file(matches_path, json.dumps(matches, indent=1) + "\n")
            modules = [NJS_MODULE]
        main = main_conf(files[main_path], cpu, modules, access_log)
    except ValueError as e:
        raise Failure("setup %s: %s" % (name, e)) from None
    write_file(http_path, http_conf)
    return main


def write_file(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def request_path(route):
    return "/api/%d/a/items?%s=%s" % (route, QUERY[0], QUERY[1])


def get(addr, port, path, headers):
    """(status, body) of one GET on a fresh connection."""
    conn = http.client.HTTPConnection(addr, port, timeout=5)
    try:
        conn.request(METHOD, path, headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    except (OSError, http.client.HTTPException) as e:
        raise Failure("GET http://%s:%d%s: %s" % (addr, port, path, e))
    finally:
        conn.close()


def expectations(route):
    """(what, headers, {setup: status}) the setups must answer before the
    rounds: the benchmark's request reaches the backend in all three;
    without x-bench-env only A (no matching) does; with x-bench-user too
    the first candidate wins."""
    host = gen_routes.hostname_of(route)
    env = "%s: %s" % ENV_HEADER
    return [
        ("the benchmark's request", {"Host": host, ENV_HEADER[0]:
                                     ENV_HEADER[1]},
         {"A": 200, "B": 200, "C": 200}),
        ("no %s" % env, {"Host": host}, {"A": 200, "B": 404, "C": 404}),
        ("%s and %s: %s" % (env, USER_HEADER[0], USER_HEADER[1]),
         {"Host": host, ENV_HEADER[0]: ENV_HEADER[1],
          USER_HEADER[0]: USER_HEADER[1]},
         {"A": 200, "B": 200, "C": 200}),
    ]


def check_routing(name, addr, port, route):
    path = request_path(route)
    for what, headers, want in expectations(route):
        status, body = get(addr, port, path, headers)
        if status != want[name]:
            raise Failure("%s answered %d to %s (%s), not %d: %r"
                          % (name, status, path, what, want[name],
                             body[:200]))
        if status == 200 and body != (path + "\n").encode():
            raise Failure("%s: %s (%s) reached the backend as %r"
                          % (name, path, what, body[:200]))


# --- rounds -----------------------------------------------------------------

def schedule(rounds, names=NAMES):
    """The order of the runs of three setups: round k runs them in the
    k-th of the six orders below (then again from the first), so over six
    rounds each setup runs first, second and third twice, and each one
    before each other one three times."""
    a, b, c = names
    orders = [(a, b, c), (b, c, a), (c, a, b), (c, b, a), (b, a, c),
              (a, c, b)]
    order = []
    for k in range(rounds):
        order += orders[k % len(orders)]
    return order


def cpu_per_request(busy, requests):
    """Microseconds of CPU of the nginx under test per request (None
    without requests): its cost, whatever else limited the rate."""
    if requests <= 0:
        return None
    return busy * 1e6 / requests


def run_rounds(workload, setups, rounds, warmup, load_cpu, watch):
    """Runs of workload against setups {name: (nginx, base URL)} in
    schedule() order, after an untimed warm-up run of each; returns
    {name: [figures]} (abrun.run_ab's figures, with "cpu")."""
    if warmup > 0:
        for name in sorted(setups):
            abrun.run_wrk(setups[name][1] + workload.path, workload.threads,
                          workload.connections, warmup, load_cpu,
                          workload.headers)
    results = {name: [] for name in setups}
    for k, name in enumerate(schedule(rounds, sorted(setups))):
        ngx, url = setups[name]
        pids = ngx.workers()
        wpids = watch.workers()
        t0 = time.monotonic()
        c0, w0 = abrun.cpu_ticks(pids), abrun.cpu_ticks(wpids)
        r, text = abrun.run_wrk(url + workload.path, workload.threads,
                                workload.connections, workload.seconds,
                                load_cpu, workload.headers)
        elapsed = time.monotonic() - t0
        busy = (abrun.cpu_ticks(pids) - c0) / abrun.CLK_TCK
        r["cpu"] = 100.0 * busy / elapsed
        r["cpu_us"] = cpu_per_request(busy, r["requests"])
        backend_cpu = (100.0 * (abrun.cpu_ticks(wpids) - w0) /
                       abrun.CLK_TCK / elapsed)
        problem = ablib.wrk_problem(r, workload.max_error_share)
        if problem is not None:
            raise Failure("%s (%s): %s\n%s\n%s" % (
                name, ngx.name, problem, text, ngx.error_tail()))
        if not ngx.alive():
            raise Failure("%s exited during the run:\n%s" % (
                ngx.name, ngx.error_tail()))
        note("%s run %2d: %9.0f req/s p99 %6.2f ms cpu %3.0f%% "
             "(%s us/request; backend %3.0f%%) errors %d" % (
                 name, k // len(setups) + 1, r["rps"], r["p99_ms"],
                 r["cpu"], ablib.fmt(r["cpu_us"], "%.1f"), backend_cpu,
                 r["socket_errors"]))
        results[name].append(r)
    return results


# --- report -----------------------------------------------------------------

def spread(s):
    if s["round_min"] is None:
        return "n/a"
    return "%.3f (%.3f-%.3f)" % (s["round_median"], s["round_min"],
                                 s["round_max"])


def table(results):
    """The Markdown table: medians of A, B, C and the ratios B/A, B/C
    (of the medians, and per round: median and range)."""
    rows = [("requests/s", "rps", "%.0f"),
            ("p99 latency (ms)", "p99_ms", "%.2f"),
            ("CPU of the nginx under test (% of one)", "cpu", "%.0f"),
            ("CPU of the nginx under test per request (us)", "cpu_us",
             "%.1f")]
    out = ["| figure | %s | %s | %s | B/A | B/A per round: median (range)"
           " | B/C | B/C per round: median (range) |" % tuple(
               LABELS[n] for n in NAMES),
           "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for label, key, spec in rows:
        v = {n: [r[key] for r in results[n]] for n in NAMES}
        ba = ablib.summarize(v["A"], v["B"])
        bc = ablib.summarize(v["C"], v["B"])
        out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            label, ablib.fmt(ba["a"], spec), ablib.fmt(ba["b"], spec),
            ablib.fmt(bc["a"], spec), ablib.fmt(ba["ratio"], "%.3f"),
            spread(ba), ablib.fmt(bc["ratio"], "%.3f"), spread(bc)))
    return "\n".join(out)


def saturation_line(cpu):
    """Whether the nginx under test was the bottleneck in every setup."""
    busy = ", ".join("%s %s" % (n, ablib.fmt(cpu[n], "%.0f%%"))
                     for n in NAMES)
    known = [cpu[n] for n in NAMES if cpu[n] is not None]
    ok = len(known) == len(NAMES) and min(known) >= ablib.SATURATED_CPU
    return ("Server side CPU-saturated: %s (median CPU of the nginx under "
            "test, one worker: %s; saturated from %.0f%%)"
            % ("yes" if ok else "NO", busy, ablib.SATURATED_CPU))


def command_line():
    names = ("BENCH_AB_ROUNDS", "BENCH_AB_SECONDS", "BENCH_AB_WARMUP",
             "BENCH_AB_CONNECTIONS", "BENCH_AB_THREADS", "BENCH_AB_PIN",
             "BENCH_AB_PORT", "BENCH_MATCH_ROUTES",
             "BENCH_MATCH_ACCESS_LOG")
    prefix = "".join("%s=%s " % (n, os.environ[n]) for n in names
                     if os.environ.get(n))
    cmd = ("make bench-match" if os.environ.get("MAKELEVEL")
           else "/usr/bin/python3 bench/match_cost.py")
    return prefix + cmd


def report(results, workload, n, route, rounds, warmup, pin, access_log,
           pressure_text):
    med = {n_: {k: ablib.median([r[k] for r in results[n_]])
                for k in ("rps", "cpu", "cpu_us")} for n_ in NAMES}
    cpu = {x: med[x]["cpu"] for x in NAMES}
    ba = ablib.ratio(med["B"]["rps"], med["A"]["rps"])
    bc = ablib.ratio(med["B"]["rps"], med["C"]["rps"])
    ca = ablib.ratio(med["C"]["rps"], med["A"]["rps"])
    # what the CPU per request predicts for a saturated nginx
    cost_ba = ablib.ratio(med["A"]["cpu_us"], med["B"]["cpu_us"])
    cost_bc = ablib.ratio(med["C"]["cpu_us"], med["B"]["cpu_us"])
    judged_ba = ablib.judge(ba, TARGET_MATCH, cpu["A"], cpu["B"])
    judged_bc = ablib.judge(bc, TARGET_NJS, cpu["C"], cpu["B"])
    gw_cpu, load_cpu = pin
    pinning = ("nginx under test on CPU %d, wrk and the backend on CPU %d"
               % (gw_cpu, load_cpu) if gw_cpu is not None else "no pinning")
    lines = [
        "Run on %s UTC, revision `%s`." % (
            time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            abrun.benchlib.git_revision()),
        "",
        "- Machine: %s, njs %s" % (abrun.machine_line(), njs_version()),
        "- Command: `%s`" % command_line(),
        "- Routes: %d HTTPRoutes (gen_routes.py), rendered by "
        "`ngx-gateway render`; access log %s" % (
            n, "on (as rendered)" if access_log else "off"),
        "- Request: `GET %s`, `Host: %s`, `%s: %s` (route %d)" % (
            request_path(route), gen_routes.hostname_of(route),
            ENV_HEADER[0], ENV_HEADER[1], route),
        "- Load: `%s`, %d rounds (each runs A, B and C; the order rotates "
        "through all six)%s; one worker per nginx, %s" % (
            workload.describe(), rounds,
            " after a %d s warm-up run of each" % warmup if warmup > 0
            else "", pinning),
        "- %s" % saturation_line(cpu),
        "- %s" % pressure_text,
        "",
        table(results),
        "",
        "Targets (issue 4), reported, not enforced: matching costs at most "
        "10%% of requests/s (B/A >= %.2f): %s; our matching at least "
        "%.2fx the njs matcher (B/C >= %.2f): %s. The njs matcher keeps "
        "%s of path-only requests/s (C/A)." % (
            TARGET_MATCH, judged_ba, TARGET_NJS, TARGET_NJS, judged_bc,
            ablib.fmt(ca, "%.3f")),
        "",
        "From the CPU per request instead (less sensitive to other work on "
        "the machine; the requests/s a saturated nginx would reach): B/A "
        "%s, B/C %s." % (ablib.fmt(cost_ba, "%.3f"),
                         ablib.fmt(cost_bc, "%.3f")),
    ]
    return "\n".join(lines) + "\n"


def njs_version():
    p = subprocess.run(["dpkg-query", "-W", "-f", "${Version}",
                        "libnginx-mod-http-js"], capture_output=True,
                       text=True)
    return p.stdout.strip() if p.returncode == 0 else "unknown"


def start(session, n, port, pin, access_log):
    """The backend and the setups A, B and C with n routes, each checked
    with check_routing(); (backend nginx, {name: (nginx, base URL)})."""
    gw_cpu, load_cpu = pin
    backend = session.nginx("backend", backend_conf(port + 1, load_cpu),
                            [(BACKEND_ADDR, port + 1)])
    setups = {}
    for name in NAMES:
        addr = GATEWAY_ADDRS[name]
        main_text = prepare(session.work, name, n, port, gw_cpu, access_log)
        ngx = session.nginx(name, lambda root, t=main_text: t,
                            [(addr, port)])
        check_routing(name, addr, port, n // 2)
        setups[name] = (ngx, "http://%s:%d" % (addr, port))
    return backend, setups


# --- main -------------------------------------------------------------------

def main():
    rounds = env_int("BENCH_AB_ROUNDS", 6)
    seconds = env_int("BENCH_AB_SECONDS", 6)
    warmup = env_int("BENCH_AB_WARMUP", 2)
    port = env_int("BENCH_AB_PORT", 18180)
    n = env_int("BENCH_MATCH_ROUTES", 100)
    access_log = os.environ.get("BENCH_MATCH_ACCESS_LOG", "") == "1"
    if n < 1:
        raise Failure("BENCH_MATCH_ROUTES must be at least 1")
    route = n // 2
    workload = abrun.Workload(
        "match", request_path(route), env_int("BENCH_AB_THREADS", 1),
        env_int("BENCH_AB_CONNECTIONS", 50), seconds,
        headers=("Host: %s" % gen_routes.hostname_of(route),
                 "%s: %s" % ENV_HEADER))
    if not os.access(BIN, os.X_OK):
        raise Failure("%s is missing: make" % BIN)
    if not os.path.isfile(NJS_MODULE):
        raise Failure("%s is missing: apt-get install libnginx-mod-http-js"
                      % NJS_MODULE)
    abrun.require_tools(abrun.HTTP_MODULE)
    gw_cpu, load_cpu = pin = abrun.pin_plan()

    session = abrun.Session("ngx-gateway-bench-match.")
    try:
        backend, setups = start(session, n, port, (gw_cpu, load_cpu),
                                access_log)
        note("%d rounds of `%s` against %s" % (
            rounds, workload.describe(),
            ", ".join("%s (%s)" % (x, setups[x][1]) for x in NAMES)))
        idle = abrun.idle_pressure()
        pressure = abrun.Pressure()
        pressure.start()
        results = run_rounds(workload, setups, rounds, warmup, load_cpu,
                             backend)
        pressure_text = abrun.pressure_line(idle, pressure.share())
        text = report(results, workload, n, route, rounds, warmup, pin,
                      access_log, pressure_text)
    finally:
        session.close(keep=bool(os.environ.get("BENCH_KEEP")))

    sys.stderr.flush()
    sys.stdout.write("\n" + text)
    sys.stdout.flush()
    if not os.environ.get("BENCH_NO_DOCS"):
        abrun.write_docs(DOCS, START_MARK, END_MARK, HEADING, text)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        sys.stderr.write("bench: FAILED: %s\n" % e)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.stderr.write("bench: interrupted\n")
        sys.exit(130)
