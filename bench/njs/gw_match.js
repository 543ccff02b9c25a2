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
 *       "headers": ["name:Exact:value", ...], optional
 *       "params": ["name=Exact=value", ...] } optional
 *
 * The per-request work is NGINX Gateway Fabric's, written anew: the
 * candidates stay in their encoded string form and are split on every
 * request, a header's value is split on commas (nginx joins repeated
 * headers), RegularExpression compiles its pattern per request, and the
 * query string is re-serialised onto the internal redirect (NGF does so
 * because a rewrite would otherwise lose it).
 */

import qs from 'querystring';


function header_matches(r, spec) {
    var first, second, name, type, want, have, values;

    first = spec.indexOf(':');
    second = spec.indexOf(':', first + 1);

    if (first <= 0 || second < 0) {
        throw new Error('bad header match ' + spec);
    }

    name = spec.slice(0, first);
    type = spec.slice(first + 1, second);
    want = spec.slice(second + 1);
    have = r.headersIn[name];

    if (!have) {
        return false;
    }

    values = have.split(',');

    if (type === 'Exact') {
        return values.includes(want);
    }

    if (type === 'RegularExpression') {
        return values.some(function (v) { return new RegExp(want).test(v); });
    }

    throw new Error('bad header match type ' + type);
}


function param_matches(r, spec) {
    var first, second, name, type, want, have;

    first = spec.indexOf('=');
    second = spec.indexOf('=', first + 1);

    if (first <= 0 || second < 0) {
        throw new Error('bad query match ' + spec);
    }

    name = spec.slice(0, first);
    type = spec.slice(first + 1, second);
    want = spec.slice(second + 1);
    have = r.args[name];

    if (have === undefined) {
        return false;
    }

    if (Array.isArray(have)) {
        have = have[0];
    }

    if (type === 'Exact') {
        return have === want;
    }

    if (type === 'RegularExpression') {
        return new RegExp(want).test(have);
    }

    throw new Error('bad query match type ' + type);
}


function candidate_matches(r, c) {
    var i;

    if (c.method !== undefined && r.method !== c.method) {
        return false;
    }

    if (c.headers !== undefined) {
        for (i = 0; i < c.headers.length; i++) {
            if (!header_matches(r, c.headers[i])) {
                return false;
            }
        }
    }

    if (c.params !== undefined) {
        for (i = 0; i < c.params.length; i++) {
            if (!param_matches(r, c.params[i])) {
                return false;
            }
        }
    }

    return true;
}


function dispatch(r) {
    var i, list, args;

    list = gw_matches[r.variables.match_key];

    if (!Array.isArray(list) || list.length === 0) {
        r.error("gw_match: no match list for key " + r.variables.match_key);
        r.return(500);
        return;
    }

    try {
        for (i = 0; i < list.length; i++) {
            if (candidate_matches(r, list[i])) {
                args = qs.stringify(r.args);
                r.internalRedirect(list[i].to + (args ? '?' + args : ''));
                return;
            }
        }

    } catch (e) {
        r.error("gw_match: " + e.message);
        r.return(500);
        return;
    }

    r.return(404);
}


export default { dispatch };
