#!/usr/bin/python3
"""Generate Gateway API manifests for the benchmarks.

  gen_routes.py N OUTDIR [--services-per-route]
  gen_routes.py --extra I --routes N FILE [--services-per-route]

The first form writes N HTTPRoutes spread over max(1, N // 10) namespaces
(bench-0, bench-1, ...), route i in namespace bench-(i % namespaces):

  OUTDIR/00-infra.yaml      GatewayClass ngx-gateway-bench (controllerName
                            ngx-gateway.io/gateway-controller), Namespace
                            bench-infra, Gateway bench-infra/bench on
                            127.0.0.1:18080 (listener "http"), routes allowed
                            from namespaces labelled bench=true (Selector)
  OUTDIR/ns-bench-K.yaml    Namespace bench-K (label bench=true), its two
                            Services bench-v1/bench-v2 (port 80 -> 8080) and
                            their EndpointSlices (127.0.0.50:8080, ready),
                            and its HTTPRoutes

Route i (HTTPRoute route-i) has hostname route-i.bench.example.com and three
rules, each with one match (PathPrefix /api/i/a, Exact /api/i/b, PathPrefix
/static/i) and two backendRefs, bench-v1 weight 80 and bench-v2 weight 20.
With --services-per-route every route gets its own pair of Services
(route-i-v1, route-i-v2) and EndpointSlices instead: 2N Services rather than
2 per namespace.

The second form writes a single file holding route I (with its Services and
EndpointSlices under --services-per-route) for a set generated with N
routes: the benchmark drops it into OUTDIR to measure change-to-serving.

Output is deterministic: the same arguments give byte-identical files.
"""

import argparse
import os
import sys

GATEWAY_CLASS = "ngx-gateway-bench"
CONTROLLER = "ngx-gateway.io/gateway-controller"
INFRA_NS = "bench-infra"
GATEWAY = "bench"
LISTENER = "http"
GATEWAY_ADDR = "127.0.0.1"
GATEWAY_PORT = 18080
ENDPOINT_ADDR = "127.0.0.50"
ENDPOINT_PORT = 8080
DOMAIN = "bench.example.com"


def namespace_count(n):
    return max(1, n // 10)


def namespace_of(i, n):
    return "bench-%d" % (i % namespace_count(n))


def hostname_of(i):
    return "route-%d.%s" % (i, DOMAIN)


def infra_yaml():
    return """\
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: {gc}
spec:
  controllerName: {ctl}
---
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
    kubernetes.io/metadata.name: {ns}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: {gw}
  namespace: {ns}
spec:
  gatewayClassName: {gc}
  addresses:
  - type: IPAddress
    value: "{addr}"
  listeners:
  - name: {listener}
    protocol: HTTP
    port: {port}
    allowedRoutes:
      kinds:
      - kind: HTTPRoute
      namespaces:
        from: Selector
        selector:
          matchLabels:
            bench: "true"
""".format(gc=GATEWAY_CLASS, ctl=CONTROLLER, ns=INFRA_NS, gw=GATEWAY,
           addr=GATEWAY_ADDR, listener=LISTENER, port=GATEWAY_PORT)


def namespace_yaml(ns):
    return """\
---
apiVersion: v1
kind: Namespace
metadata:
  name: {ns}
  labels:
    bench: "true"
    kubernetes.io/metadata.name: {ns}
""".format(ns=ns)


def service_yaml(ns, name):
    return """\
---
apiVersion: v1
kind: Service
metadata:
  name: {name}
  namespace: {ns}
spec:
  type: ClusterIP
  ports:
  - name: http
    port: 80
    protocol: TCP
    targetPort: {tport}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: {name}-bench
  namespace: {ns}
  labels:
    kubernetes.io/service-name: {name}
addressType: IPv4
endpoints:
- addresses:
  - "{addr}"
  conditions:
    ready: true
ports:
- name: http
  port: {tport}
  protocol: TCP
""".format(ns=ns, name=name, tport=ENDPOINT_PORT, addr=ENDPOINT_ADDR)


def route_services(i, per_route):
    if per_route:
        return ("route-%d-v1" % i, "route-%d-v2" % i)
    return ("bench-v1", "bench-v2")


def route_yaml(i, ns, per_route):
    v1, v2 = route_services(i, per_route)
    backends = """\
    backendRefs:
    - name: {v1}
      port: 80
      weight: 80
    - name: {v2}
      port: 80
      weight: 20
""".format(v1=v1, v2=v2)
    rules = []
    for ptype, value in (("PathPrefix", "/api/%d/a" % i),
                         ("Exact", "/api/%d/b" % i),
                         ("PathPrefix", "/static/%d" % i)):
        rules.append("""\
  - matches:
    - path:
        type: {t}
        value: {v}
""".format(t=ptype, v=value) + backends)
    head = """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: route-{i}
  namespace: {ns}
spec:
  parentRefs:
  - group: gateway.networking.k8s.io
    kind: Gateway
    name: {gw}
    namespace: {gwns}
    sectionName: {listener}
  hostnames:
  - {host}
  rules:
""".format(i=i, ns=ns, gw=GATEWAY, gwns=INFRA_NS, listener=LISTENER,
           host=hostname_of(i))
    return head + "".join(rules)


def route_file(i, n, per_route):
    """Route i (of a set of n) plus what it needs that the set lacks."""
    ns = namespace_of(i, n)
    parts = []
    if per_route:
        for svc in route_services(i, True):
            parts.append(service_yaml(ns, svc))
    parts.append(route_yaml(i, ns, per_route))
    return "".join(parts)


def write_file(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def generate(n, outdir, per_route):
    os.makedirs(outdir, exist_ok=True)
    nns = namespace_count(n)
    by_ns = [[] for _ in range(nns)]
    for i in range(n):
        by_ns[i % nns].append(i)

    write_file(os.path.join(outdir, "00-infra.yaml"), infra_yaml())
    for k, routes in enumerate(by_ns):
        ns = "bench-%d" % k
        parts = [namespace_yaml(ns)]
        if not per_route:
            for svc in route_services(0, False):
                parts.append(service_yaml(ns, svc))
        for i in routes:
            if per_route:
                for svc in route_services(i, True):
                    parts.append(service_yaml(ns, svc))
            parts.append(route_yaml(i, ns, per_route))
        write_file(os.path.join(outdir, "ns-%s.yaml" % ns), "".join(parts))
    return nns


def main(argv=None):
    p = argparse.ArgumentParser(
        description="generate HTTPRoute manifests for the benchmarks")
    p.add_argument("n", nargs="?", type=int, help="number of HTTPRoutes")
    p.add_argument("out", help="output directory (or file with --extra)")
    p.add_argument("--services-per-route", action="store_true",
                   help="two Services per route instead of per namespace")
    p.add_argument("--extra", type=int, metavar="I",
                   help="write only route I into the file OUT")
    p.add_argument("--routes", type=int, metavar="N",
                   help="with --extra: size of the generated set")
    args = p.parse_args(argv)

    if args.extra is not None:
        if args.routes is None or args.routes < 1 or args.n is not None:
            p.error("--extra I needs --routes N and a single FILE argument")
        write_file(args.out, route_file(args.extra, args.routes,
                                        args.services_per_route))
        return 0

    if args.n is None or args.n < 1:
        p.error("N must be a positive integer")
    nns = generate(args.n, args.out, args.services_per_route)
    sys.stderr.write("gen_routes: %d HTTPRoutes in %d namespaces -> %s\n"
                     % (args.n, nns, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
