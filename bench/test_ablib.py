#!/usr/bin/python3
"""Checks of the side-by-side benchmarks' helpers (no load is run).

  /usr/bin/python3 -m pytest -q bench

ablib.py: parsing wrk's output, the A/B schedule, medians and ratios,
the report table and the replacement of a marked section of the docs.
http_module_cost.py and stream_cost.py: A and B differ by our modules'
directives only, and nginx -t accepts both (needs `make`).
"""

import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import ablib  # noqa: E402
import abrun  # noqa: E402
import http_module_cost  # noqa: E402
import stream_cost  # noqa: E402

# wrk 4.1.0 with -s bench/wrk_report.lua --latency, as it printed it
WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.61:8081/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   420.57us  533.49us   8.49ms   95.30%
    Req/Sec    98.47k    26.51k  161.86k    63.33%
  Latency Distribution
     50%  375.00us
     75%  469.00us
     90%  526.00us
     99%    3.24ms
  293605 requests in 3.00s, 42.00MB read
Requests/sec:  97754.84
Transfer/sec:     13.98MB
wrk-result requests=293605 duration_us=3003483 bytes=44040750 \
connect_errors=0 read_errors=0 write_errors=0 status_errors=0 timeouts=0 \
latency_p50_us=375 latency_p99_us=3245 latency_max_us=8487
"""


def result_line(**over):
    fields = dict(requests=1000, duration_us=2000000, bytes=2 * 1048576,
                  connect_errors=0, read_errors=0, write_errors=0,
                  status_errors=0, timeouts=0, latency_p50_us=500,
                  latency_p99_us=1500, latency_max_us=9000)
    fields.update(over)
    return "wrk-result " + " ".join("%s=%s" % kv for kv in fields.items())


# --- parse_wrk --------------------------------------------------------------

def test_parse_wrk_reads_exact_totals():
    r = ablib.parse_wrk(WRK_OUTPUT)
    assert r["requests"] == 293605
    assert r["duration_us"] == 3003483
    assert r["bytes"] == 44040750
    assert r["rps"] == pytest.approx(293605 / 3.003483)
    # wrk's own rounded figures agree
    assert r["rps"] == pytest.approx(97754.84, rel=1e-4)
    assert r["mib_s"] == pytest.approx(13.98, abs=0.01)
    assert r["p50_ms"] == pytest.approx(0.375)
    assert r["p99_ms"] == pytest.approx(3.245)
    assert r["latency_max_us"] == 8487
    assert r["socket_errors"] == 0
    assert r["status_errors"] == 0


def test_parse_wrk_sums_socket_errors():
    r = ablib.parse_wrk(result_line(connect_errors=1, read_errors=2,
                                    write_errors=3, timeouts=4,
                                    status_errors=5))
    assert r["socket_errors"] == 10
    assert r["status_errors"] == 5
    assert r["rps"] == pytest.approx(500.0)
    assert r["mib_s"] == pytest.approx(1.0)


def test_parse_wrk_without_the_script_line_fails():
    human_only = WRK_OUTPUT.split("wrk-result")[0]
    with pytest.raises(ablib.ParseError, match="wrk_report.lua"):
        ablib.parse_wrk(human_only)


@pytest.mark.parametrize("line,message", [
    (result_line().replace(" timeouts=0", ""), "missing timeouts"),
    (result_line(requests="12x"), "bad field"),
    (result_line(bytes="1.5"), "bad field"),
    (result_line() + " stray", "bad field"),
    (result_line(duration_us=0), "duration_us must be positive"),
])
def test_parse_wrk_rejects_a_broken_line(line, message):
    with pytest.raises(ablib.ParseError, match=message):
        ablib.parse_wrk(line + "\n")


# --- wrk_problem ------------------------------------------------------------

def test_a_clean_run_has_no_problem():
    assert ablib.wrk_problem(ablib.parse_wrk(result_line())) is None


@pytest.mark.parametrize("over,message", [
    ({"requests": 0}, "no request completed"),
    ({"status_errors": 1}, "1 answers were not 2xx/3xx"),
    ({"read_errors": 2}, "2 socket errors in 1000 requests"),
])
def test_a_broken_setup_is_a_problem(over, message):
    r = ablib.parse_wrk(result_line(**over))
    assert message in ablib.wrk_problem(r)


def test_a_few_socket_errors_are_tolerated_up_to_the_share():
    r = ablib.parse_wrk(result_line(requests=10000, read_errors=10))
    assert ablib.wrk_problem(r, max_error_share=0.001) is None
    r = ablib.parse_wrk(result_line(requests=10000, read_errors=11))
    assert "11 socket errors" in ablib.wrk_problem(r,
                                                   max_error_share=0.001)


# --- schedule and statistics ------------------------------------------------

def test_schedule_alternates_and_swaps_the_order_each_round():
    assert ablib.schedule(1) == ["A", "B"]
    assert ablib.schedule(4) == ["A", "B", "B", "A", "A", "B", "B", "A"]
    assert ablib.schedule(3, ("base", "new")) == [
        "base", "new", "new", "base", "base", "new"]


@pytest.mark.parametrize("rounds", [2, 5, 6])
def test_schedule_runs_each_setup_once_per_round(rounds):
    order = ablib.schedule(rounds)
    for k in range(rounds):
        assert sorted(order[2 * k:2 * k + 2]) == ["A", "B"]
    firsts = [order[2 * k] for k in range(rounds)]
    assert abs(firsts.count("A") - firsts.count("B")) <= 1


def test_median_and_ratio():
    assert ablib.median([3.0, 1.0, 2.0]) == 2.0
    assert ablib.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert ablib.median([]) is None
    assert ablib.median([None, 5.0]) == 5.0
    assert ablib.ratio(97.0, 100.0) == pytest.approx(0.97)
    assert ablib.ratio(1.0, 0.0) is None
    assert ablib.ratio(None, 1.0) is None


def test_summarize_takes_the_ratio_of_medians_and_the_round_range():
    s = ablib.summarize([100.0, 120.0, 90.0], [99.0, 100.0, 81.0])
    assert s["a"] == 100.0
    assert s["b"] == 99.0
    assert s["ratio"] == pytest.approx(0.99)
    # rounds: 0.99, 0.8333, 0.9
    assert s["round_min"] == pytest.approx(100.0 / 120.0)
    assert s["round_max"] == pytest.approx(0.99)
    assert s["round_median"] == pytest.approx(0.9)


def test_verdict_is_met_from_the_target_up():
    assert ablib.verdict(0.97, 0.97) == "met"
    assert ablib.verdict(1.2, 0.97) == "met"
    assert ablib.verdict(0.9699, 0.97) == "not met"
    assert ablib.verdict(None, 0.97) == "not evaluated"


def test_judge_needs_a_saturated_nginx_under_test():
    assert ablib.judge(0.98, 0.97, 95.0, 99.0) == "met"
    assert ablib.judge(0.96, 0.97, 90.0, 99.0) == "not met"
    why = ablib.judge(0.98, 0.97, 95.0, 57.4)
    assert why.startswith("not evaluated: the nginx under test used 57% ")
    assert "below 90%" in why
    assert ablib.judge(0.98, 0.97, None, 99.0).startswith("not evaluated")
    assert ablib.judge(None, 0.97, 99.0, 99.0) == "not evaluated"


def test_rounds_text():
    assert ablib.rounds_text(5, 2) == (
        "5 rounds (A B, B A, ...) after a 2 s warm-up run of each")
    assert ablib.rounds_text(1, 0) == "1 round (A B, B A, ...)"


# --- report -----------------------------------------------------------------

def test_table_shows_medians_ratio_spread_and_target():
    s = ablib.summarize([100.0, 102.0], [97.0, 98.0])
    text = ablib.table([("requests/s", s, "%.0f", (0.97, "not met")),
                        ("p99 (ms)", ablib.summarize([1.0], [2.0]), "%.2f",
                         None)])
    lines = text.splitlines()
    assert lines[0].startswith("| figure | A (median) | B (median) | "
                               "B/A (medians) | B/A per round")
    # rounds 0.970 and 0.961: their median 0.965, the medians' 97.5/101
    assert lines[2] == ("| requests/s | 101 | 98 | 0.965 "
                        "| 0.965 (0.961-0.970) | >= 0.97: not met |")
    assert lines[3] == ("| p99 (ms) | 1.00 | 2.00 | 2.000 "
                        "| 2.000 (2.000-2.000) | - |")


def test_table_without_figures_says_so():
    s = ablib.summarize([], [])
    line = ablib.table([("x", s, "%.0f", (0.97, "not evaluated"))
                        ]).splitlines()[2]
    assert line == "| x | n/a | n/a | n/a | n/a | >= 0.97: not evaluated |"


PSI = """\
some avg10=60.23 avg60=46.53 avg300=24.19 total=439087220
full avg10=0.00 avg60=0.00 avg300=0.00 total=0
"""


def test_parse_psi_some_reads_the_some_total():
    assert ablib.parse_psi_some(PSI) == 439087220
    # a kernel without "full" for the CPU
    assert ablib.parse_psi_some(PSI.splitlines()[0]) == 439087220


@pytest.mark.parametrize("text", ["", "full avg10=0.00 total=5\n",
                                  "some avg10=1.00 total=x\n"])
def test_parse_psi_some_without_a_total_fails(text):
    with pytest.raises(ablib.ParseError):
        ablib.parse_psi_some(text)


def test_pressure_line_gives_both_shares_or_says_why_not():
    line = abrun.pressure_line(12.4, 55.6)
    assert "12% in 3 s before the rounds" in line
    assert "56% during the rounds" in line
    assert "not measured" in abrun.pressure_line(None, 10.0)


DOC = """\
# Benchmarks

## Results

<!-- bench:start -->
old render results
<!-- bench:end -->

### http module cost: results

<!-- bench-http-module:start -->
old module results
<!-- bench-http-module:end -->

Text after the section.
"""
START = "<!-- bench-http-module:start -->"
END = "<!-- bench-http-module:end -->"


def test_replace_section_replaces_only_between_its_markers():
    doc = ablib.replace_section(DOC, START, END, "new\nresults", "# h")
    assert doc == DOC.replace("old module results\n", "new\nresults\n")
    assert "old render results" in doc
    # again: the same page
    assert ablib.replace_section(doc, START, END, "new\nresults",
                                 "# h") == doc


def test_replace_section_appends_a_missing_section():
    doc = ablib.replace_section(DOC, "<!-- s:start -->", "<!-- s:end -->",
                                "figures\n", "### Stream")
    assert doc.startswith(DOC.rstrip("\n"))
    assert doc.endswith("\n\n### Stream\n\n<!-- s:start -->\nfigures\n"
                        "<!-- s:end -->\n")


@pytest.mark.parametrize("doc", [
    DOC.replace(END, ""),
    DOC.replace(START, ""),
    DOC.replace(START, "@@").replace(END, START).replace("@@", END),
])
def test_replace_section_refuses_broken_markers(doc):
    with pytest.raises(ValueError, match="out of order"):
        ablib.replace_section(doc, START, END, "x", "# h")


# --- the configurations under test ------------------------------------------

def extra_lines(a, b):
    """Lines of b that a does not have (stripped), in order."""
    have = [line.strip() for line in a.splitlines()]
    extra = []
    for line in b.splitlines():
        line = line.strip()
        if line in have:
            have.remove(line)
        else:
            extra.append(line)
    return extra


def directive(line):
    return line.split()[0] if line else line


def test_http_setups_differ_by_the_module_only(tmp_path):
    root = str(tmp_path)
    a = http_module_cost.gateway_conf(False, "127.0.0.62", 18180, 18181,
                                      0)(root)
    b = http_module_cost.gateway_conf(True, "127.0.0.63", 18180, 18181,
                                      0)(root)
    a = a.replace("127.0.0.62", "127.0.0.63")
    added = extra_lines(a, b)
    assert sorted(set(directive(x) for x in added)) == [
        "gateway_backend_tag", "gateway_generation", "gateway_route_tag",
        "gateway_server_tag", "gateway_status_zone", "load_module",
        "location"]
    assert "location / { gateway_status; }" in added
    assert extra_lines(b, a) == ["location / { return 404; }"]
    assert "worker_processes 1;" in a and "worker_cpu_affinity 1;" in a


def test_stream_setups_differ_by_the_module_only(tmp_path):
    root = str(tmp_path)
    a = stream_cost.gateway_conf("A", "127.0.0.62", 18180, 0)(root)
    b = stream_cost.gateway_conf("B", "127.0.0.63", 18180, 0)(root)
    a = a.replace("127.0.0.62", "127.0.0.63")
    added = extra_lines(a, b)
    assert sorted(set(directive(x) for x in added)) == [
        "gateway_stream_backend_tag", "gateway_stream_status_zone",
        "gateway_stream_tag", "load_module", "location"]
    assert [x for x in added if x.startswith("load_module")] == [
        "load_module %s;" % abrun.HTTP_MODULE,
        "load_module %s;" % abrun.STREAM_MODULE]
    assert extra_lines(b, a) == ["location / { return 404; }"]
    for name, (offset, _, _) in stream_cost.LISTENERS.items():
        assert "listen 127.0.0.63:%d;" % (18180 + offset) in a


def test_affinity_line_names_one_cpu():
    assert abrun.affinity_line(None) == ""
    assert abrun.affinity_line(0) == "worker_cpu_affinity 1;\n"
    assert abrun.affinity_line(1) == "worker_cpu_affinity 10;\n"
    assert abrun.affinity_line(3) == "worker_cpu_affinity 1000;\n"


def nginx_t(conf_text, root):
    path = os.path.join(root, "nginx.conf")
    with open(path, "w") as f:
        f.write(conf_text)
    return subprocess.run([abrun.NGINX, "-t", "-p", root, "-c", path,
                           "-e", os.path.join(root, "error.log")],
                          capture_output=True, text=True, timeout=60)


def require_modules():
    for m in (abrun.HTTP_MODULE, abrun.STREAM_MODULE, abrun.DEBIAN_STREAM):
        if not os.path.isfile(m):
            pytest.fail("%s is missing: run `make` first" % m,
                        pytrace=False)


# nginx -t opens the listening sockets: ports nothing else uses
CHECK_PORT = 18480


@pytest.mark.parametrize("setup", ["A", "B"])
def test_nginx_accepts_the_http_setups(tmp_path, setup):
    require_modules()
    conf = http_module_cost.gateway_conf(setup == "B", "127.0.0.64",
                                         CHECK_PORT, CHECK_PORT + 1, None)
    p = nginx_t(conf(str(tmp_path)), str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "test is successful" in p.stderr


@pytest.mark.parametrize("setup", ["A", "B"])
def test_nginx_accepts_the_stream_setups(tmp_path, setup):
    require_modules()
    conf = stream_cost.gateway_conf(setup, "127.0.0.64", CHECK_PORT, None)
    p = nginx_t(conf(str(tmp_path)), str(tmp_path))
    assert p.returncode == 0, p.stderr
    assert "test is successful" in p.stderr


def test_nginx_accepts_the_backends(tmp_path):
    require_modules()
    www = tmp_path / "www"
    www.mkdir()
    for conf in (http_module_cost.backend_conf(CHECK_PORT + 1, None),
                 stream_cost.backend_conf(str(www), CHECK_PORT, None)):
        p = nginx_t(conf(str(tmp_path)), str(tmp_path))
        assert p.returncode == 0, p.stderr
