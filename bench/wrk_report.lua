-- wrk -s bench/wrk_report.lua ...: after the run, print wrk's exact
-- totals on one line for bench/ablib.py (parse_wrk). Only done() is
-- defined, so wrk still sends its one pre-built request (no Lua per
-- request).

done = function(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        "wrk-result requests=%d duration_us=%d bytes=%d"
        .. " connect_errors=%d read_errors=%d write_errors=%d"
        .. " status_errors=%d timeouts=%d"
        .. " latency_p50_us=%d latency_p99_us=%d latency_max_us=%d\n",
        summary.requests, summary.duration, summary.bytes,
        e.connect, e.read, e.write, e.status, e.timeout,
        latency:percentile(50), latency:percentile(99), latency.max))
end
