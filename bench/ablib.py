#!/usr/bin/python3
"""Pure helpers of the side-by-side (A/B) benchmarks (stdlib only).

bench/http_module_cost.py and bench/stream_cost.py measure a setup B
against a setup A in the same session: rounds of one wrk run each,
alternating (A B, B A, A B, ...), then medians and the ratio B/A. This
file holds what does not start processes, so bench/test_ablib.py can
test it quickly: parsing wrk's output, the schedule, medians and ratios,
the Markdown report and the replacement of a marked section of
docs/benchmarks.md. The processes are in bench/abrun.py.
"""

import re
import statistics

# bench/wrk_report.lua prints this line at the end of a wrk run.
WRK_LINE = "wrk-result"
WRK_FIELDS = ("requests", "duration_us", "bytes", "connect_errors",
              "read_errors", "write_errors", "status_errors", "timeouts",
              "latency_p50_us", "latency_p99_us", "latency_max_us")

MIB = 1024.0 * 1024.0


class ParseError(Exception):
    pass


# --- wrk --------------------------------------------------------------------

def parse_wrk(text):
    """The figures of one wrk run from its output.

    Reads the "wrk-result key=value ..." line that bench/wrk_report.lua
    prints (wrk's exact totals; its human summary rounds to 3 digits).
    Returns a dict of the WRK_FIELDS (ints) plus "rps" (requests per
    second), "mib_s" (MiB read per second), "p50_ms", "p99_ms" and
    "socket_errors" (connect + read + write + timeouts). Raises
    ParseError when the line is missing or incomplete.
    """
    line = None
    for candidate in text.splitlines():
        if candidate.startswith(WRK_LINE + " "):
            line = candidate
    if line is None:
        raise ParseError("no %r line in wrk's output (was it run with "
                         "-s bench/wrk_report.lua?)" % WRK_LINE)
    found = {}
    for item in line.split()[1:]:
        key, sep, value = item.partition("=")
        if not sep or not re.fullmatch(r"-?[0-9]+", value):
            raise ParseError("bad field %r in %r" % (item, line))
        found[key] = int(value)
    missing = [k for k in WRK_FIELDS if k not in found]
    if missing:
        raise ParseError("missing %s in %r" % (", ".join(missing), line))
    if found["duration_us"] <= 0:
        raise ParseError("duration_us must be positive in %r" % line)

    r = {k: found[k] for k in WRK_FIELDS}
    seconds = r["duration_us"] / 1e6
    r["rps"] = r["requests"] / seconds
    r["mib_s"] = r["bytes"] / MIB / seconds
    r["p50_ms"] = r["latency_p50_us"] / 1000.0
    r["p99_ms"] = r["latency_p99_us"] / 1000.0
    r["socket_errors"] = (r["connect_errors"] + r["read_errors"] +
                          r["write_errors"] + r["timeouts"])
    return r


def wrk_problem(r, max_error_share=0.001):
    """Why a parsed wrk run shows a setup that does not work, or None.

    No request at all, any non-2xx/3xx answer, or socket errors above
    max_error_share of the requests (a closing backend may cost a few
    reads at the end of a run; more means the setup is broken).
    """
    if r["requests"] == 0:
        return "no request completed"
    if r["status_errors"]:
        return "%d answers were not 2xx/3xx" % r["status_errors"]
    if r["socket_errors"] > max_error_share * r["requests"]:
        return ("%d socket errors in %d requests (connect %d, read %d, "
                "write %d, timeout %d)"
                % (r["socket_errors"], r["requests"], r["connect_errors"],
                   r["read_errors"], r["write_errors"], r["timeouts"]))
    return None


# --- schedule and statistics ------------------------------------------------

def schedule(rounds, names=("A", "B")):
    """The order of the runs: A B, B A, A B, ... (rounds x 2 entries).

    Swapping the order every round puts each setup first as often as
    second, so a drift in the machine (turbo, another job) hits both.
    """
    a, b = names
    order = []
    for k in range(rounds):
        order += [a, b] if k % 2 == 0 else [b, a]
    return order


def rounds_text(rounds, warmup):
    """How the runs were ordered, for the report."""
    text = "%d round%s (A B, B A, ...)" % (rounds, "" if rounds == 1
                                          else "s")
    if warmup > 0:
        text += " after a %d s warm-up run of each" % warmup
    return text


def median(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return statistics.median(values)


def ratio(b, a):
    """b / a, or None when either is missing or a is zero."""
    if a is None or b is None or a == 0:
        return None
    return b / a


def round_ratios(a_values, b_values):
    """B/A of each round (the i-th run of A with the i-th run of B)."""
    return [ratio(b, a) for a, b in zip(a_values, b_values)]


def summarize(a_values, b_values):
    """Medians, their ratio B/A and the range of the per-round ratios."""
    per_round = [x for x in round_ratios(a_values, b_values)
                 if x is not None]
    a = median(a_values)
    b = median(b_values)
    return {"a": a, "b": b, "ratio": ratio(b, a),
            "round_median": median(per_round),
            "round_min": min(per_round) if per_round else None,
            "round_max": max(per_round) if per_round else None}


def verdict(value, minimum):
    """"met" / "not met" for a ratio that should be at least minimum."""
    if value is None:
        return "not evaluated"
    return "met" if value >= minimum else "not met"


# Below this CPU share (per cent of one CPU, median) the nginx under test
# was not the bottleneck, and B/A says little about its configuration.
SATURATED_CPU = 90.0


def judge(value, minimum, cpu_a, cpu_b, saturated=SATURATED_CPU):
    """verdict() when the nginx under test was the bottleneck in both
    setups (median CPU of A and of B >= saturated), else why not."""
    if value is None:
        return "not evaluated"
    busy = [c for c in (cpu_a, cpu_b) if c is not None]
    if len(busy) < 2 or min(busy) < saturated:
        return ("not evaluated: the nginx under test used %s of a CPU "
                "(below %.0f%%), so something else limited both setups"
                % ("n/a" if not busy else "%.0f%%" % min(busy), saturated))
    return verdict(value, minimum)


# --- report -----------------------------------------------------------------

def fmt(value, spec):
    return "n/a" if value is None else spec % value


def table(rows):
    """A Markdown table of summarized figures.

    rows: (label, summary, spec, goal) with summary from summarize(),
    spec the %-format of a value and goal None for a figure without a
    target, else (the lowest acceptable ratio B/A, the verdict).
    """
    out = ["| figure | A (median) | B (median) | B/A (medians) "
           "| B/A per round: median (range) | target |",
           "|---|---:|---:|---:|---:|---|"]
    for label, s, spec, goal in rows:
        if goal is not None:
            goal = ">= %.2f: %s" % goal
        else:
            goal = "-"
        spread = ("n/a" if s["round_min"] is None else
                  "%.3f (%.3f-%.3f)" % (s["round_median"], s["round_min"],
                                        s["round_max"]))
        out.append("| %s | %s | %s | %s | %s | %s |" % (
            label, fmt(s["a"], spec), fmt(s["b"], spec),
            fmt(s["ratio"], "%.3f"), spread, goal))
    return "\n".join(out)


def parse_psi_some(text):
    """The "some" total (microseconds) of a /proc/pressure/* file.

    The time during which at least one task was waiting for the resource;
    its growth over a run, divided by the run's length, is the share of
    that time in which something else wanted the CPU too.
    """
    for line in text.splitlines():
        if line.startswith("some "):
            for item in line.split()[1:]:
                key, _, value = item.partition("=")
                if key == "total" and value.isdigit():
                    return int(value)
    raise ParseError("no \"some ... total=N\" line in %r" % text)


def replace_section(doc, start_mark, end_mark, text, heading):
    """doc with the text between start_mark and end_mark replaced.

    When neither marker is in doc, a new section "heading" holding both
    is appended to the end of doc. Every line outside the markers is kept
    as it was. Raises ValueError when only one marker is there, or the
    end before the start: a hand-edited page is not guessed at.
    """
    start = doc.find(start_mark)
    end = doc.find(end_mark)
    if start < 0 and end < 0:
        doc = "%s\n\n%s\n\n%s\n%s\n" % (doc.rstrip("\n"), heading,
                                        start_mark, end_mark)
        start = doc.find(start_mark)
        end = doc.find(end_mark)
    if start < 0 or end < start + len(start_mark):
        raise ValueError("markers %s ... %s are incomplete or out of order"
                         % (start_mark, end_mark))
    if text and not text.endswith("\n"):
        text += "\n"
    return doc[:start + len(start_mark)] + "\n" + text + doc[end:]
