"""nginx's access log: one JSON line per request, with the Gateway API
names of what served it (the module's $gateway... variables), so that
`kubectl logs -c nginx` (or STATE_DIR/logs/access.log standalone) tells
which Gateway, listener, route rule and backend a request went through.
"""

import json

from conftest import wait_for


def access_lines(stack):
    path = stack.controller.state_dir / "logs" / "access.log"
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines()
            if line.strip()]


def line_for(stack, uri):
    lines = [entry for entry in access_lines(stack) if entry["uri"] == uri]
    return lines[-1] if lines else None


def test_access_log_names_gateway_route_and_backend(games):
    code, _ = games.get("/mario/world/1-1")
    assert code == 200
    entry = wait_for(lambda: line_for(games, "/mario/world/1-1"),
                     what="the access log line of /mario/world/1-1")

    assert entry["status"] == 200
    assert entry["method"] == "GET"
    assert entry["host"] == "game.example.com"
    assert entry["gateway"] == "default/game-gateway"
    assert entry["listener"] == "http"
    assert entry["route"] == "default/game-route"
    assert entry["rule"] == "0"
    assert entry["backend"] == "mario-ns/mario:80"
    assert entry["upstream"], entry
    assert entry["upstream_status"] == "200", entry


def test_access_log_of_an_unrouted_request(games):
    code, _ = games.get("/nothing-here")
    assert code == 404
    entry = wait_for(lambda: line_for(games, "/nothing-here"),
                     what="the access log line of /nothing-here")

    # the listener answered, no route matched: no route, no backend
    assert entry["status"] == 404
    assert entry["gateway"] == "default/game-gateway"
    assert entry["route"] == "" and entry["backend"] == "", entry


def test_access_log_escapes_what_clients_send(games):
    code, _ = games.get('/mario?q="quoted"\\x', host="game.example.com")
    assert code == 200
    entry = wait_for(lambda: [e for e in access_lines(games)
                              if "quoted" in e["uri"]],
                     what="the access log line with a quoted query")[-1]
    # it parsed as JSON, and the quote came back as sent
    assert '"quoted"' in entry["uri"], entry
