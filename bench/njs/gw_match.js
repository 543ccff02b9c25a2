/*
 * An HTTPRoute matcher in njs, for bench/match_cost.py (setup C).
 *
 * It does what NGINX Gateway Fabric's njs matcher does, so the benchmark
 * can set our C module against that design: every dispatch location sets
 * $match_key and hands the request to dispatch() (js_content); the match
 * lists of all locations are one object preloaded at configuration time
 * (js_preload_object gw_matches from matches.json); the first candidate
 * whose fields all match wins, and the request goes on with an internal
 * redirect to the URI of that candidate's internal location; no candidate
 * answers 404.
 *
 * gw_matches: { "<match_key>": [ candidate, ... ], ... }, the candidates in
 * the Gateway API precedence order, each
 *
 *     { "to": "/_gw_match/...",              internal location (URI)
 *       "method": "GET",                      optional
 *       "headers": [["name", "value"], ...],  optional, names lower case
 *       "args": [["name", "value"], ...] }    optional
 *
 * The comparisons are the cheapest ones that agree with our module for the
 * requests of the benchmark: a header's whole value, the first value of a
 * query parameter, both exact.
 */


function candidate_matches(r, c) {
    var i, value;

    if (c.method !== undefined && r.method !== c.method) {
        return false;
    }

    if (c.headers !== undefined) {
        for (i = 0; i < c.headers.length; i++) {
            if (r.headersIn[c.headers[i][0]] !== c.headers[i][1]) {
                return false;
            }
        }
    }

    if (c.args !== undefined) {
        for (i = 0; i < c.args.length; i++) {
            value = r.args[c.args[i][0]];

            if (Array.isArray(value)) {
                value = value[0];
            }

            if (value !== c.args[i][1]) {
                return false;
            }
        }
    }

    return true;
}


function dispatch(r) {
    var i, list;

    list = gw_matches[r.variables.match_key];

    if (list === undefined) {
        r.error("gw_match: no match list for key " + r.variables.match_key);
        r.return(500);
        return;
    }

    for (i = 0; i < list.length; i++) {
        if (candidate_matches(r, list[i])) {
            r.internalRedirect(list[i].to);
            return;
        }
    }

    r.return(404);
}


export default { dispatch };
