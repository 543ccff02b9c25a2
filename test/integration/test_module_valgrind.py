"""ngx_http_gateway_module under valgrind (memcheck).

nginx (daemon off, master and one worker: valgrind follows the fork)
runs under valgrind --leak-check=full: requests of every kind the log
handler counts, a reload that drops and adds tags (the master builds the
new cycle and sweeps the zone, a new worker counts), more requests,
reports, then a graceful stop. Every process's valgrind log must report
no error and no definitely or indirectly lost block.

Not in single-process mode (master_process off): nginx does not support a
reload there (the new cycle's listening sockets are never added to the
event loop). valgrind is a build dependency (deploy/deps.sh): missing, the
test fails.
"""

import shutil
import signal
import subprocess

import pytest

from test_module import NGINX
from test_module import workdir  # noqa: F401  (fixture)
from test_module_counters import backend  # noqa: F401  (fixture)
from test_module_counters import Gateway, body, peers_of, server_of, \
    wait_report

VALGRIND = shutil.which("valgrind")
EXIT_DEADLINE = 120          # valgrind's leak check at exit is slow

# nginx's own: a worker copies its environment (env directives) into a
# malloc()ed array it keeps until it exits. Nothing of the module.
SUPPRESSIONS = """\
{
   nginx-worker-environment
   Memcheck:Leak
   match-leak-kinds: definite
   fun:malloc
   fun:ngx_alloc
   fun:ngx_set_environment
}
"""


class Valgrind(Gateway):
    """One nginx process under valgrind."""

    def render(self, generation, **kw):
        text = super().render(generation, **kw)
        return text.replace("worker_processes 2;", "worker_processes 1;")

    def start(self, generation):
        self.write_conf(self.render(generation))
        supp = self.root / "nginx.supp"
        supp.write_text(SUPPRESSIONS)
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
        """Graceful stop; returns (exit status, {log name: text})."""
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


@pytest.fixture
def valgrind(workdir, net, backend):  # noqa: F811
    if VALGRIND is None:
        pytest.fail("valgrind is missing: run `make deps`", pytrace=False)
    v = Valgrind(workdir, net)
    yield v
    if v.proc is not None:
        v.proc.kill()
        v.proc.wait()
        v.output.close()


def test_counting_and_reload_under_valgrind(valgrind, net):
    v = valgrind
    v.start(1)
    codes = ([v.get("/files/a") for _ in range(3)] + [v.get("/nope")]
             + [v.get("/dead")]
             + [v.get("/", host="b.example.com") for _ in range(2)])
    assert codes == [200, 200, 200, 404, 502, 200, 200]
    wait_report(v, lambda d: server_of(d, "a.example.com")["requests"] == 5,
                "5 requests")

    # drop b's tag and dead's, add a spare upstream with two peers
    v.reload(2, body=body(net, spare=True, tag_b=False, tag_dead=False))
    doc = v.wait_generation(2)
    assert [s["hostname"] for s in doc["servers"]] == ["a.example.com"]
    assert len(peers_of(doc, "default/spare:80")) == 2

    for _ in range(3):
        assert v.get("/files/b") == 200
    doc = wait_report(
        v, lambda d: server_of(d, "a.example.com")["requests"] == 8,
        "8 requests")
    assert peers_of(doc, "default/live:8080")[0]["requests"] == 6

    rc, logs = v.finish()
    # the master, the first worker, the one the reload started
    assert len(logs) >= 3, list(logs)
    for name, log in logs.items():
        assert f"Command: {NGINX} " in log, f"{name}:\n{log[:2000]}"
        assert "ERROR SUMMARY: 0 errors" in log, f"{name}:\n{log[-3000:]}"
        assert ("definitely lost: 0 bytes" in log
                or "no leaks are possible" in log), f"{name}:\n{log}"
    assert rc == 0
    print("\n".join(f"{name}: {line.split('== ', 1)[1]}"
                    for name, log in logs.items()
                    for line in log.splitlines()
                    if "ERROR SUMMARY" in line or "definitely lost" in line
                    or "in use at exit" in line))
    # the one request to the dead peer is the only error nginx logged
    errors = v.errors()
    assert len(errors) == 1 and "connect() failed" in errors[0], errors
