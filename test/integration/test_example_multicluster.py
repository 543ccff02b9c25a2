"""examples/multi-cluster-tcp: cluster A's Gateway forwards TCP to cluster
B's Gateway, which reaches the database.

The example's manifests run through one controller, on the test's block
of loopback addresses instead of the example's 127.0.0.31-33:

    127.0.X.1    cluster A's Gateway (example: 127.0.0.31)
    127.0.X.2    cluster B's Gateway (example: 127.0.0.32)
    127.0.X.11   the database, line_echo.py on port 3306 (127.0.0.33)

Without root the listeners move by PORT_OFFSET, so the EndpointSlice
that points cluster A at cluster B's Gateway gets the shifted port too.
"""

import shutil
import socket
from pathlib import Path

import pytest

from conftest import (DEADLINE, PORT_OFFSET, PYTHON, REPO, Backend,
                      Controller, Manifests, cond, find_item, listener,
                      wait_for)

EXAMPLE = REPO / "examples" / "multi-cluster-tcp"
LINE_ECHO = REPO / "examples" / "mixed-gateway" / "backends" / "line_echo.py"
PORT = 3306


class MultiCluster:
    def __init__(self, stack, controller, mdir):
        self.net = stack.net
        self.controller = controller
        self.cluster_b = Manifests(mdir / "cluster-b",
                                   Path(stack.tmp) / "scratch-b")
        self.port = PORT + PORT_OFFSET       # both Gateways' listeners


def copy_example(dest, net):
    """The example's manifests with the test's addresses (and ports)."""
    shutil.copytree(EXAMPLE, dest, ignore=shutil.ignore_patterns(
        "*.md", "*.sh"))
    where = {"127.0.0.31": net.gw, "127.0.0.32": net.gw2,
             "127.0.0.33": net.mario}
    for f in sorted(dest.rglob("*.yaml")):
        text = f.read_text()
        for old, new in where.items():
            text = text.replace(old, new)
        f.write_text(text)
    text = "".join(f.read_text() for f in dest.rglob("*.yaml"))
    for new in where.values():
        assert new in text, f"no {new} in the rewritten example"

    # cluster A's way to cluster B: B's Gateway address and listener port
    forward = Manifests(dest / "cluster-a", dest.parent / "scratch-a")
    docs = forward.docs("forward.yaml")
    (eps,) = [d for d in docs if d["kind"] == "EndpointSlice"]
    assert eps["endpoints"][0]["addresses"] == [net.gw2], eps
    assert eps["ports"][0]["port"] == PORT, eps
    eps["ports"][0]["port"] = PORT + PORT_OFFSET
    forward.write_docs("forward.yaml", docs)


@pytest.fixture
def mc(stack):
    net = stack.net
    mdir = Path(stack.tmp) / "multi-cluster-tcp"
    copy_example(mdir, net)
    stack.procs.add(Backend(
        [PYTHON, LINE_ECHO, "--listen", f"{net.mario}:{PORT}",
         "--name", "mysql-db"],
        Path(stack.tmp) / "mysql-db.log", net.mario, PORT)).start()
    c = Controller(mdir, stack.state_dir, Path(stack.tmp) / "controller.log",
                   net)
    stack.controller = stack.procs.add(c)
    c.start()
    return MultiCluster(stack, c, mdir)


def exchange_lines(addr, port, lines, timeout=5.0):
    """One connection: send each line, read its answer line."""
    answers = []
    with socket.create_connection((addr, port), timeout=timeout) as s:
        f = s.makefile("rwb")
        for line in lines:
            f.write(line + b"\n")
            f.flush()
            answers.append(f.readline())
    return answers


def closed_at_once(addr, port, timeout=5.0):
    """True when the connection is accepted and then closed without a
    byte of data; False when something answers or holds it open."""
    with socket.create_connection((addr, port), timeout=timeout) as s:
        try:
            s.sendall(b"SELECT 1;\n")
            return s.recv(100) == b""
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False


def tcproute_conditions(st, namespace, name):
    r = find_item(st, "TCPRoute", name, namespace)
    (parent,) = r["status"]["parents"]
    assert parent["parentRef"]["name"] == "gateway", r
    return {t: (cond(parent["conditions"], t)["status"],
                cond(parent["conditions"], t)["reason"])
            for t in ("Accepted", "ResolvedRefs")}


def test_lines_reach_the_database_through_both_gateways(mc):
    lines = [b"SELECT 1;", b"SELECT name FROM users;", b"COMMIT;"]
    got = exchange_lines(mc.net.gw, mc.port, lines)
    assert got == [b"mysql-db: " + line + b"\n" for line in lines]


def test_status_both_gateways_and_routes(mc):
    st = mc.controller.status()
    for ns, addr in (("cluster-a", mc.net.gw), ("cluster-b", mc.net.gw2)):
        gw, lst = listener(st, "mysql", gateway="gateway", namespace=ns)
        c = cond(gw["status"]["conditions"], "Programmed")
        assert (c["status"], c["reason"]) == ("True", "Programmed"), gw
        assert gw["status"]["addresses"] == [
            {"type": "IPAddress", "value": addr}], gw
        assert lst["attachedRoutes"] == 1, lst
    assert tcproute_conditions(st, "cluster-a", "db-forward") == {
        "Accepted": ("True", "Accepted"),
        "ResolvedRefs": ("True", "ResolvedRefs")}
    assert tcproute_conditions(st, "cluster-b", "mysql") == {
        "Accepted": ("True", "Accepted"),
        "ResolvedRefs": ("True", "ResolvedRefs")}

    out = mc.controller.status("describe")
    assert "Parent Ref:       Gateway cluster-a/gateway" in out, out
    assert "Parent Ref:       Gateway cluster-b/gateway" in out, out


def test_removing_cluster_b_route_closes_cluster_a_connections(mc):
    assert exchange_lines(mc.net.gw, mc.port, [b"ping"]) == [
        b"mysql-db: ping\n"]

    mc.cluster_b.remove("route.yaml")
    wait_for(lambda: closed_at_once(mc.net.gw, mc.port),
             what="cluster A's connection closed")
    # cluster B's Gateway itself closes them: nothing is routed there
    # (waited for too: under load the reload may still be settling)
    wait_for(lambda: closed_at_once(mc.net.gw2, mc.port),
             what="cluster B's connection closed")

    # Why, in the status: cluster B's listener has no route. Cluster A's
    # route still looks fine, as it would in a real cluster A, whose
    # controller cannot see into cluster B.
    def b_without_routes():
        st = mc.controller.status()
        _, lst = listener(st, "mysql", gateway="gateway",
                          namespace="cluster-b")
        return st if lst["attachedRoutes"] == 0 else None
    st = wait_for(b_without_routes, what="cluster B's listener without "
                  "routes")
    with pytest.raises(KeyError):
        find_item(st, "TCPRoute", "mysql", "cluster-b")
    assert tcproute_conditions(st, "cluster-a", "db-forward") == {
        "Accepted": ("True", "Accepted"),
        "ResolvedRefs": ("True", "ResolvedRefs")}
    _, lst = listener(st, "mysql", gateway="gateway", namespace="cluster-a")
    assert lst["attachedRoutes"] == 1, lst
    out = mc.controller.status("describe")
    b = out[out.index("Namespace:    cluster-b\nKind:         Gateway"):]
    assert "Attached Routes:  0" in b.split("\n\n")[0], b

    # the route back: the database answers through cluster A again
    mc.cluster_b.restore("route.yaml")
    wait_for(lambda: exchange_lines(mc.net.gw, mc.port, [b"again"]) == [
        b"mysql-db: again\n"], timeout=DEADLINE,
        what="traffic through cluster A again")
