"""gRPC clients of the traffic replay (conformance/utils/grpc): one
unary call checked eventually consistently, and the weighted split."""

import concurrent.futures
import time

from traffic_base import (CONSECUTIVE, REQUEST_TIMEOUT, Fail,
                          backend_of_pod, weights_mismatch)


def run_grpc_case(case, target, deadline_s):
    import grpc
    import grpcecho_pb
    g = case["grpc"]
    port = int(g.get("port") or target.port)
    opts = []
    if g.get("host"):
        opts.append(("grpc.default_authority", g["host"]))
    want_code = (case.get("response") or {}).get("code", 0)
    service = g.get("service") or grpcecho_pb.SERVICE
    full = "/%s/%s" % (service, g.get("method", "Echo"))
    metadata = [(k.lower(), str(v))
                for k, v in (g.get("metadata") or {}).items()]
    start = time.monotonic()
    successes = 0
    last = ""
    while True:
        why = None
        ch = grpc.insecure_channel("%s:%d" % (target.addr, port),
                                   options=opts)
        try:
            call = ch.unary_unary(full)
            raw = call(b"", metadata=metadata, timeout=REQUEST_TIMEOUT)
            code = 0
        except grpc.RpcError as e:
            raw = None
            code = e.code().value[0]
            detail = e.details()
        finally:
            ch.close()
        if code != want_code:
            why = "expected gRPC status %d, got %d%s" % (
                want_code, code, " (%s)" % detail if code else "")
        elif raw is not None:
            a = grpcecho_pb.decode("EchoResponse", raw).get(
                "assertions") or {}
            ctx = a.get("context") or {}
            if case.get("namespace", "") != ctx.get("namespace"):
                why = "expected namespace %r, got %r" % (
                    case.get("namespace", ""), ctx.get("namespace"))
            elif not ctx.get("pod", "").startswith(case.get("backend", "")):
                why = "expected pod %s-*, got %s" % (
                    case.get("backend"), ctx.get("pod"))
        if why is None:
            successes += 1
            if successes >= CONSECUTIVE:
                return
            continue
        successes = 0
        last = why
        if time.monotonic() - start >= deadline_s:
            raise Fail("gRPC %s (authority %s, metadata %s): %s" % (
                full, g.get("host", ""), g.get("metadata") or {}, last))
        time.sleep(1.0)


def run_grpc_weights(case, target):
    import grpc
    import grpcecho_pb
    w = case["grpcWeights"]
    g = w["grpc"]
    port = int(g.get("port") or target.port)
    opts = [("grpc.default_authority", g["host"])] if g.get("host") else []
    full = "/%s/%s" % (g.get("service") or grpcecho_pb.SERVICE,
                       g.get("method", "Echo"))
    total = int(w.get("requests", 500))
    tolerance = float(w.get("tolerance", 0.05))
    last = ""
    for _ in range(10):
        counts = {}

        def one(_i):
            ch = grpc.insecure_channel("%s:%d" % (target.addr, port),
                                       options=opts)
            try:
                raw = ch.unary_unary(full)(b"", timeout=REQUEST_TIMEOUT)
            except grpc.RpcError as e:
                return "status %s" % e.code().name
            finally:
                ch.close()
            a = grpcecho_pb.decode("EchoResponse", raw)["assertions"] or {}
            return backend_of_pod((a.get("context") or {}).get("pod", ""))

        with concurrent.futures.ThreadPoolExecutor(10) as ex:
            for b in ex.map(one, range(total)):
                counts[b] = counts.get(b, 0) + 1
        last = weights_mismatch(counts, w["expected"], total, tolerance)
        if last is None:
            return
    raise Fail("gRPC weights: %s" % last)
