"""gateway_match (ngx_http_gateway_match_module) against a real nginx.

Each test starts its own nginx (test_module.Nginx: master + 2 workers, the
status socket for generations) whose server on 127.0.0.1 is a hand-written
dispatcher: locations with `gateway_match` candidates and named locations
that answer with their own name (`return 200 "name"`), so the body says
which candidate won.

    bash nginx-module/build.sh build
    /usr/bin/python3 -m pytest -q test/integration/test_module_match.py

The throughput figures (1,000 candidates against none) are printed, never
asserted: run with -s to see them.
"""

import http.client
import http.server
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from test_module import NGINX, POLL_DELAY, POLL_TRIES, Nginx
from test_module import workdir  # noqa: F401  (fixture)
from test_module_valgrind import EXIT_DEADLINE, SUPPRESSIONS

VALGRIND = shutil.which("valgrind")

# nginx's own, seen with a plain `location ~` and `return 200` config too:
# the first regex a process compiles creates a PCRE2 compile context with
# malloc() that nginx keeps in a static and never frees; a worker exits
# without freeing the connections and events it malloc()ed when it started
# (reported lost when no timer or posted event still points into them).
# The module allocates nothing with malloc() itself: its configuration is
# in the cycle's pool, its per-request memory in the request's.
PCRE2_CONTEXT = """\
{
   nginx-pcre2-compile-context
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   ...
   fun:pcre2_compile_context_create_8
   fun:ngx_regex_compile
}
{
   nginx-worker-connections
   Memcheck:Leak
   match-leak-kinds: definite,indirect
   fun:malloc
   fun:ngx_alloc
   ...
   fun:ngx_spawn_process
}
"""


def named(*names):
    """Named locations that answer with their name."""
    return "".join(f'        location @{n} {{ return 200 "{n}"; }}\n'
                   for n in names)


class Match(Nginx):
    """nginx whose server on 127.0.0.1 is the test's dispatcher."""

    def __init__(self, root):
        super().__init__(root)
        self.server = ""
        self.http = ""

    def render(self, generation, server=None, http=None, **kw):
        if server is not None:
            self.server = server
        if http is not None:
            self.http = http
        text = super().render(generation, http_extra=self.http, **kw)
        # keep the status server, replace the test server on 127.0.0.1
        head, _, _ = text.rpartition("    server {\n")
        return (head + "    server {\n"
                f"        listen 127.0.0.1:{self.port};\n"
                + self.server + "    }\n}\n")

    def go(self, path="/", method="GET", headers=()):
        """(status, body) of one request; headers may repeat a name."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            conn.putheader("Connection", "close")
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read().decode("utf-8", "replace")
            return resp.status, body if resp.status == 200 else ""
        finally:
            conn.close()

    def hit(self, *args, **kw):
        """The name of the named location that answered, or the status."""
        status, body = self.go(*args, **kw)
        return body if status == 200 else status


@pytest.fixture
def match(workdir):  # noqa: F811
    m = Match(workdir)
    yield m
    m.stop()


def start(m, server, http=""):
    m.render(1, server=server, http=http)
    m.start(1)
    return m


# --------------------------------------------------------------- fields

def test_method(match):
    start(match, """
        location / {
            gateway_match @get method=GET;
            gateway_match @post method=POST;
            gateway_match @patch method=PATCH;
        }
""" + named("get", "post", "patch"))
    assert match.hit("/") == "get"
    assert match.hit("/x", method="POST") == "post"
    assert match.hit("/", method="PATCH") == "patch"
    assert match.hit("/", method="DELETE") == 404
    assert match.hit("/", method="PUT") == 404


def test_header_exact_name_any_case_value_exact(match):
    start(match, """
        location / {
            gateway_match @canary "header:X-Env=Canary";
        }
""" + named("canary"))
    assert match.hit(headers=[("X-Env", "Canary")]) == "canary"
    assert match.hit(headers=[("x-env", "Canary")]) == "canary"
    assert match.hit(headers=[("X-ENV", "Canary")]) == "canary"
    assert match.hit(headers=[("X-Env", "canary")]) == 404
    assert match.hit(headers=[("X-Env", "Canary2")]) == 404
    assert match.hit(headers=[("X-Envx", "Canary")]) == 404
    assert match.hit() == 404


def test_header_regex_matches_the_whole_value(match):
    start(match, r"""
        location / {
            gateway_match @versioned "header~X-Version=v[0-9]+(\.[0-9]+)?";
        }
""" + named("versioned"))
    assert match.hit(headers=[("X-Version", "v2")]) == "versioned"
    assert match.hit(headers=[("x-version", "v12.3")]) == "versioned"
    assert match.hit(headers=[("X-Version", "xv2")]) == 404
    assert match.hit(headers=[("X-Version", "v2x")]) == 404
    assert match.hit(headers=[("X-Version", "V2")]) == 404
    assert match.hit() == 404


def test_values_rendered_as_escaped_double_quoted_strings(match):
    # the controller's quoting: "...", with \ as \\ and " as \"; $ ; { } #
    # and spaces are plain characters in a quoted value
    start(match, r"""
        location / {
            gateway_match @quoted "header:X-Q=say \"hi\"; {$x} #1";
            gateway_match @escaped "query~v=\\d+\\.\\d+" "header~X-R=\\S+";
        }
""" + named("quoted", "escaped"))
    assert match.hit(headers=[("X-Q", 'say "hi"; {$x} #1')]) == "quoted"
    assert match.hit(headers=[("X-Q", "say hi")]) == 404
    assert match.hit("/?v=1.25", headers=[("X-R", "a")]) == "escaped"
    assert match.hit("/?v=1x25", headers=[("X-R", "a")]) == 404
    assert match.hit("/?v=1.25", headers=[("X-R", "a b")]) == 404


def test_repeated_header_values_are_joined(match):
    start(match, """
        location / {
            gateway_match @both "header:X-Multi=a, b";
            gateway_match @cookies "header:Cookie=x=1; y=2";
            gateway_match @one "header:X-Multi=a";
        }
""" + named("both", "cookies", "one"))
    assert match.hit(headers=[("X-Multi", "a"), ("x-multi", "b")]) == "both"
    assert match.hit(headers=[("X-Multi", "a, b")]) == "both"
    assert match.hit(headers=[("X-Multi", "a")]) == "one"
    assert match.hit(headers=[("Cookie", "x=1"), ("Cookie", "y=2")]) \
        == "cookies"


def test_query_exact_and_regex(match):
    start(match, """
        location / {
            gateway_match @whale "query:animal=whale";
            gateway_match @blue "query~color=bl(ue|ack)";
            gateway_match @flag "query:debug=";
        }
""" + named("whale", "blue", "flag"))
    assert match.hit("/?animal=whale") == "whale"
    assert match.hit("/a/b?x=1&animal=whale&y") == "whale"
    # names are case-sensitive, values too
    assert match.hit("/?ANIMAL=whale") == 404
    assert match.hit("/?animal=Whale") == 404
    # the first value of a repeated parameter counts
    assert match.hit("/?animal=whale&animal=dolphin") == "whale"
    assert match.hit("/?animal=dolphin&animal=whale") == 404
    # names and values are compared percent-decoded, "+" stays "+"
    assert match.hit("/?anim%61l=wh%61le") == "whale"
    assert match.hit("/?animal=wha+le") == 404
    # regular expressions match the whole value
    assert match.hit("/?color=blue") == "blue"
    assert match.hit("/?color=black") == "blue"
    assert match.hit("/?color=blues") == 404
    assert match.hit("/?color=navyblue") == 404
    # present without a value is an empty value
    assert match.hit("/?debug") == "flag"
    assert match.hit("/?debug=") == "flag"
    assert match.hit("/?debug=1") == 404
    assert match.hit("/") == 404


def test_path_fields(match):
    start(match, r"""
        location / {
            gateway_match @exact path=/exact;
            gateway_match @prefix prefix=/dir/;
            gateway_match @regex "path~/items/[0-9]+";
        }
""" + named("exact", "prefix", "regex"))
    assert match.hit("/exact") == "exact"
    assert match.hit("/exact/") == 404
    assert match.hit("/exactly") == 404
    # element-wise prefix: /dir and /dir/ are the same prefix
    assert match.hit("/dir") == "prefix"
    assert match.hit("/dir/") == "prefix"
    assert match.hit("/dir/a/b?x=1") == "prefix"
    assert match.hit("/dirt") == 404
    # the decoded, normalized path nginx selects locations with
    assert match.hit("/d%69r/a") == "prefix"
    assert match.hit("/x/../dir/a") == "prefix"
    # anchored at both ends
    assert match.hit("/items/42") == "regex"
    assert match.hit("/items/42/") == 404
    assert match.hit("/v1/items/42") == 404


def test_fields_of_one_match_are_anded(match):
    start(match, """
        location / {
            gateway_match @all method=POST prefix=/api "header:X-A=1"
                          "query:b=2";
        }
""" + named("all"))
    hdr = [("X-A", "1")]
    assert match.hit("/api/x?b=2", "POST", hdr) == "all"
    assert match.hit("/api/x?b=2", "GET", hdr) == 404
    assert match.hit("/other?b=2", "POST", hdr) == 404
    assert match.hit("/api/x?b=3", "POST", hdr) == 404
    assert match.hit("/api/x", "POST", hdr) == 404
    assert match.hit("/api/x?b=2", "POST", [("X-A", "2")]) == 404
    assert match.hit("/api/x?b=2", "POST") == 404


def test_matches_of_one_rule_are_ored(match):
    # one rule with two matches: two candidates with the same target
    start(match, """
        location / {
            gateway_match @rule "header:X-Team=a";
            gateway_match @rule "query:team=b";
            gateway_match @other method=DELETE;
        }
""" + named("rule", "other"))
    assert match.hit(headers=[("X-Team", "a")]) == "rule"
    assert match.hit("/?team=b") == "rule"
    assert match.hit("/?team=b", "DELETE") == "rule"
    assert match.hit("/", "DELETE") == "other"
    assert match.hit("/?team=a") == 404


def test_first_candidate_in_written_order_wins(match):
    start(match, """
        location / {
            gateway_match @general;
            gateway_match @specific "header:X-Special=1";
        }
""" + named("general", "specific"))
    assert match.hit(headers=[("X-Special", "1")]) == "general"

    match.reload(2, server="""
        location / {
            gateway_match @specific "header:X-Special=1";
            gateway_match @general;
        }
""" + named("general", "specific"))
    match.wait_generation(2)
    match.wait_workers(2)
    assert match.hit(headers=[("X-Special", "1")]) == "specific"
    assert match.hit() == "general"


# The rendering the controller is meant to produce: nginx selects the
# location by path (one per distinct path match; a PathPrefix /p is
# `location = /p` plus `location /p/`), and every location lists each
# candidate whose path matches there, in Gateway API precedence order:
# exact path, longest prefix, method, most headers, most query params,
# oldest route, namespace/name, rule order.
PRECEDENCE = """
        location = /shop/cart {
            gateway_match @exact-cart;
            gateway_match @shop-post method=POST;
            gateway_match @shop-2h "header:X-A=1" "header:X-B=1";
            gateway_match @shop-1h "header:X-A=1";
            gateway_match @shop-1q "query:q=1";
            gateway_match @shop-old;
            gateway_match @root;
        }
        location = /shop { gateway_match @shop-post method=POST;
                           gateway_match @shop-2h "header:X-A=1"
                                                  "header:X-B=1";
                           gateway_match @shop-1h "header:X-A=1";
                           gateway_match @shop-1q "query:q=1";
                           gateway_match @shop-old;
                           gateway_match @root; }
        location /shop/ { gateway_match @shop-post method=POST;
                          gateway_match @shop-2h "header:X-A=1"
                                                 "header:X-B=1";
                          gateway_match @shop-1h "header:X-A=1";
                          gateway_match @shop-1q "query:q=1";
                          gateway_match @shop-old;
                          gateway_match @root; }
        location / { gateway_match @root; }
""" + named("exact-cart", "shop-post", "shop-2h", "shop-1h", "shop-1q",
            "shop-old", "root")


def test_precedence_as_the_controller_renders_it(match):
    start(match, PRECEDENCE)
    a, b = ("X-A", "1"), ("X-B", "1")
    assert match.hit("/shop/cart", "POST", [a, b]) == "exact-cart"
    assert match.hit("/shop/item", "POST", [a, b]) == "shop-post"
    assert match.hit("/shop", "POST") == "shop-post"
    assert match.hit("/shop/item?q=1", headers=[a, b]) == "shop-2h"
    assert match.hit("/shop/item?q=1", headers=[b, a]) == "shop-2h"
    assert match.hit("/shop/item?q=1", headers=[a]) == "shop-1h"
    assert match.hit("/shop/item?q=1", headers=[b]) == "shop-1q"
    assert match.hit("/shop/item") == "shop-old"
    assert match.hit("/shopping") == "root"
    assert match.hit("/") == "root"


def test_no_match_is_404_or_the_configured_status(match):
    start(match, """
        gateway_match_status 503;
        location / {
            gateway_match @a method=POST;
        }
        location /api/ {
            gateway_match_status 421;
            gateway_match @a method=POST;
        }
        location /plain/ {
            gateway_match @a method=POST;
            gateway_match_status 404;
        }
""" + named("a"))
    assert match.go("/x")[0] == 503
    assert match.go("/api/x")[0] == 421
    assert match.go("/plain/x")[0] == 404
    assert match.hit("/api/x", "POST") == "a"

    match.reload(2, server="""
        location / {
            gateway_match @a method=POST;
        }
""" + named("a"))
    match.wait_generation(2)
    match.wait_workers(2)
    status, _ = match.go("/x")
    assert status == 404


class Echo(http.server.BaseHTTPRequestHandler):
    """Answers a POST with what it read."""

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_request_body_reaches_the_proxied_named_location(match):
    srv = http.server.HTTPServer(("127.0.0.1", 0), Echo)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        start(match, f"""
        location / {{
            gateway_match @backend method=POST;
        }}
        location @backend {{
            proxy_pass http://127.0.0.1:{srv.server_address[1]};
        }}
""")
        conn = http.client.HTTPConnection("127.0.0.1", match.port,
                                          timeout=10)
        body = b"x" * 100000
        conn.request("POST", "/upload", body=body)
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.read() == body
        conn.close()
    finally:
        srv.shutdown()
        srv.server_close()


# --------------------------------------------------------------- config

INVALID = [
    ('gateway_match @a "path~/items/(";',
     'pcre2_compile() failed: missing closing parenthesis in "/items/("'),
    ('gateway_match @a "header~X-A=[a-";',
     'pcre2_compile() failed: missing terminating ] for character class '
     'in "[a-"'),
    ('gateway_match @a "query~q=*";',
     'pcre2_compile() failed: quantifier does not follow a repeatable item '
     'in "*"'),
    ('gateway_match @nowhere method=GET;',
     'no named location "@nowhere" in the server of "gateway_match" in '),
    ('gateway_match a method=GET;',
     'invalid target "a" in "gateway_match" directive, it must be a named '
     'location ("@name")'),
    ('gateway_match @a method=get;',
     'invalid method "get", it must be one of GET, HEAD, POST, PUT, DELETE, '
     'CONNECT, OPTIONS, TRACE, PATCH'),
    ('gateway_match @a method=GET method=POST;',
     'duplicate method match "method=POST"'),
    ('gateway_match @a path=/a prefix=/b;',
     'duplicate path match "prefix=/b", a candidate has at most one of '
     'path=, path~ and prefix='),
    ('gateway_match @a path=a;',
     'invalid path in "path=a", it must start with "/"'),
    ('gateway_match @a host=a;', 'invalid parameter "host=a"'),
    ('gateway_match @a header:X-A;',
     'invalid parameter "header:X-A", it must be "header:NAME=VALUE"'),
    ('gateway_match @a query~=x;',
     'invalid parameter "query~=x", it must be "query~NAME=VALUE"'),
    ('gateway_match @a "header:X A=1";',
     'invalid header name "X A" in "header:X A=1"'),
    ('gateway_match @a; proxy_pass http://127.0.0.1:1;',
     '"gateway_match" in location "/" conflicts with another content '
     'handler in '),
    ('gateway_match @a; gateway_match_status 302;',
     'invalid value "302" in "gateway_match_status" directive, it must be '
     'a status code from 400 to 599'),
    ('gateway_match_status 404; gateway_match_status 404;',
     '"gateway_match_status" directive is duplicate'),
    ('gateway_match_grpc_status 0 "m";',
     'invalid value "0" in "gateway_match_grpc_status" directive, it must '
     'be a gRPC status code from 1 to 16'),
    ('gateway_match_grpc_status 17 "m";',
     'invalid value "17" in "gateway_match_grpc_status" directive'),
    ('gateway_match_grpc_status 12 "100%";',
     'invalid message in "gateway_match_grpc_status" directive, it must be '
     "printable ASCII without '%'"),
    ('gateway_match_grpc_status 12 "a"; gateway_match_grpc_status 12 "b";',
     '"gateway_match_grpc_status" directive is duplicate'),
    ('proxy_pass http://127.0.0.1:1; gateway_match_none;',
     'conflicts with another content handler'),
]


@pytest.mark.parametrize("directives,message", INVALID,
                         ids=[d for d, _ in INVALID])
def test_invalid_candidates_fail_config_test(workdir, directives,  # noqa
                                             message):
    m = Match(workdir)
    rc, out = m.check(m.render(1, server=f"""
        location / {{ {directives} }}
""" + named("a")))
    assert rc != 0, out
    assert message in out, out
    assert "[emerg]" in out and "test failed" in out


def test_candidate_outside_a_location_is_rejected(workdir):  # noqa: F811
    m = Match(workdir)
    rc, out = m.check(m.render(1, server="""
        gateway_match @a;
        location / { }
""" + named("a")))
    assert rc != 0
    assert '"gateway_match" directive is not allowed here' in out


def test_named_location_of_another_server_is_not_found(workdir):  # noqa
    m = Match(workdir)
    other = ("    server {\n        listen 127.0.0.1:1;\n"
             + named("elsewhere") + "    }\n")
    rc, out = m.check(m.render(1, http=other, server="""
        location / { gateway_match @elsewhere; }
"""))
    assert rc != 0
    assert 'no named location "@elsewhere"' in out


def test_valid_candidates_pass_config_test(workdir):  # noqa: F811
    m = Match(workdir)
    rc, out = m.check(m.render(1, server=PRECEDENCE))
    assert rc == 0, out


def test_failed_reload_keeps_the_old_candidates(match):
    start(match, """
        location / { gateway_match @a "header~X-A=a+"; }
""" + named("a"))
    match.reload(2, server="""
        location / { gateway_match @a "header~X-A=a+("; }
""" + named("a"))
    for _ in range(POLL_TRIES):
        if "pcre2_compile() failed" in match.error_log.read_text():
            break
        time.sleep(POLL_DELAY)
    assert any("pcre2_compile() failed" in line for line in match.alerts())
    assert match.alive()
    assert match.status()["generation"] == 1
    assert match.hit(headers=[("X-A", "aaa")]) == "a"


# --------------------------------------------------------------- scale

def pipelined_rps(port, request, count, batch=100):
    """Requests per second of `count` pipelined keep-alive requests.

    One connection, `batch` requests per write; the client does little
    more than count status lines, so nginx's work dominates.
    """
    payload = request * batch
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    done, statuses = 0, {}
    buf = b""
    started = time.monotonic()
    try:
        while done < count:
            sock.sendall(payload)
            want = done + batch
            while done < want:
                data = sock.recv(1 << 16)
                assert data, "connection closed"
                buf += data
                while True:
                    head_end = buf.find(b"\r\n\r\n")
                    if head_end < 0:
                        break
                    head = buf[:head_end].decode("latin-1")
                    length = 0
                    for line in head.split("\r\n")[1:]:
                        k, _, v = line.partition(":")
                        if k.lower() == "content-length":
                            length = int(v)
                    end = head_end + 4 + length
                    if len(buf) < end:
                        break
                    code = head.split(" ", 2)[1]
                    statuses[code] = statuses.get(code, 0) + 1
                    buf = buf[end:]
                    done += 1
    finally:
        sock.close()
    return done / (time.monotonic() - started), statuses


def thousand(n=1000):
    """A location of n candidates, X-Id: i -> @r<i>; and a plain one."""
    lines = "".join(f'            gateway_match @r{i} "header:X-Id={i}";\n'
                    for i in range(n))
    names = "".join(f'        location @r{i} {{ return 200 "r{i}"; }}\n'
                    for i in range(n))
    return ("        keepalive_requests 1000000;\n"
            "        location / {\n" + lines + "        }\n"
            '        location = /plain { return 200 "plain"; }\n'
            "        location /names/ {\n"
            + "".join(f'            gateway_match @r{i} "header:X-H{i}=1";\n'
                      for i in range(n))
            + "        }\n" + names)


def test_thousand_candidates(match):
    start(match, thousand())
    assert match.hit(headers=[("X-Id", "0")]) == "r0"
    assert match.hit(headers=[("X-Id", "517")]) == "r517"
    assert match.hit(headers=[("X-Id", "999")]) == "r999"
    assert match.hit(headers=[("X-Id", "1000")]) == 404
    assert match.hit() == 404
    # 1,000 distinct header names: past the values kept on the stack
    assert match.hit("/names/", headers=[("X-H0", "1")]) == "r0"
    assert match.hit("/names/", headers=[("x-h999", "1")]) == "r999"
    assert match.hit("/names/", headers=[("X-H999", "2")]) == 404

    figures = {}
    for label, path, hdr in [
            ("plain location, no gateway_match", "/plain", ""),
            ("first of 1,000 candidates", "/", "X-Id: 0\r\n"),
            ("last of 1,000 candidates", "/", "X-Id: 999\r\n"),
            ("none of 1,000 candidates (404)", "/", "X-Id: x\r\n"),
            ("last of 1,000 distinct names", "/names/", "X-H999: 1\r\n")]:
        req = (f"GET {path} HTTP/1.1\r\nHost: t\r\n{hdr}\r\n").encode()
        pipelined_rps(match.port, req, 1000)        # warm up
        rps, statuses = pipelined_rps(match.port, req, 20000)
        assert set(statuses) <= {"200", "404"}, statuses
        figures[label] = rps
    print("\nrequests/s, one connection, pipelined (not asserted):")
    for label, rps in figures.items():
        print(f"  {label:40s} {rps:10.0f}")
    assert match.alerts() == []


def test_reloads_under_load_keep_matching(match):
    start(match, """
        location / { gateway_match @a "header:X-Gen=1"; }
""" + named("a"))
    for gen in range(2, 12):
        match.reload(gen, server=f"""
        location / {{ gateway_match @a "header:X-Gen={gen % 2}";
                     gateway_match @b "query~g={gen}"; }}
""" + named("a", "b"))
        match.wait_generation(gen)
        assert match.alive()
    match.wait_workers(2)
    assert match.hit(headers=[("X-Gen", "1")]) == "a"
    assert match.hit("/?g=11") == "b"
    assert match.hit("/?g=10") == 404
    assert match.alerts() == []


# --------------------------------------------------------------- valgrind

class ValgrindMatch(Match):
    """One nginx (master + 1 worker) under valgrind memcheck."""

    def render(self, generation, **kw):
        text = super().render(generation, **kw)
        return text.replace("worker_processes 2;", "worker_processes 1;")

    def start(self, generation):
        self.write_conf(self.render(generation))
        supp = self.root / "nginx.supp"
        supp.write_text(SUPPRESSIONS + PCRE2_CONTEXT)
        self.output = open(self.root / "nginx.out", "wb")
        self.proc = subprocess.Popen(
            [VALGRIND, "--leak-check=full", "--show-leak-kinds=definite",
             f"--suppressions={supp}",
             "--errors-for-leak-kinds=definite,indirect",
             "--error-exitcode=99",
             f"--log-file={self.root}/valgrind.%p.log",
             NGINX, "-p", str(self.root), "-c", str(self.conf),
             "-e", str(self.error_log)],
            stdin=subprocess.DEVNULL, stdout=self.output,
            stderr=subprocess.STDOUT)
        return self.wait_generation(generation)

    def finish(self):
        self.proc.send_signal(signal.SIGQUIT)
        try:
            rc = self.proc.wait(timeout=EXIT_DEADLINE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            self.output.close()
            self.proc = None
        return rc, {p.name: p.read_text(errors="replace")
                    for p in sorted(self.root.glob("valgrind.*.log"))}


def test_matching_and_reload_under_valgrind(workdir):  # noqa: F811
    if VALGRIND is None:
        pytest.fail("valgrind is missing: run `make deps`", pytrace=False)
    v = ValgrindMatch(workdir)
    try:
        v.render(1, server=PRECEDENCE.replace(
            "location / { gateway_match @root; }",
            'location / { gateway_match @q "query~q=a+" "query:r=%"; '
            'gateway_match @h "header~X-A=v[0-9]"; '
            'gateway_match @root; }') + named("q", "h"))
        v.start(1)
        a, b = ("X-A", "1"), ("X-B", "1")
        assert v.hit("/shop/cart", "POST", [a, b]) == "exact-cart"
        assert v.hit("/shop/item?q=1", headers=[a, b]) == "shop-2h"
        assert v.hit("/shop/item?q=1", headers=[b]) == "shop-1q"
        assert v.hit("/x?q=aa&r=%25") == "q"
        assert v.hit("/x?q=aa&r=%") == "q"
        assert v.hit("/x", headers=[("X-A", "v1"), ("X-A", "v2")]) == "root"
        assert v.hit("/x", headers=[("X-A", "v1")]) == "h"

        v.reload(2, server=thousand(50))
        v.wait_generation(2)
        for _ in range(100):
            if len(v.workers()) == 1:
                break
            time.sleep(0.1)
        assert v.hit(headers=[("X-Id", "49")]) == "r49"
        assert v.hit("/names/", headers=[("X-H40", "1")]) == "r40"
        assert v.hit("/names/") == 404

        rc, logs = v.finish()
    finally:
        if v.proc is not None:
            v.proc.kill()
            v.proc.wait()
            v.output.close()
    assert len(logs) >= 3, list(logs)
    for name, log in logs.items():
        assert "ERROR SUMMARY: 0 errors" in log, f"{name}:\n{log[-3000:]}"
        assert ("definitely lost: 0 bytes" in log
                or "no leaks are possible" in log), f"{name}:\n{log}"
    assert rc == 0
