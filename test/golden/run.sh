#!/usr/bin/env bash
# Golden tests: manifests in, nginx configuration and status out.
#
#   bash test/golden/run.sh build/ngx-gateway            run every case
#   bash test/golden/run.sh build/ngx-gateway CASE...    run some cases
#   UPDATE=1 bash test/golden/run.sh build/ngx-gateway   rewrite expected files
#
# Each case is a directory test/golden/<case>/ with
#   manifests/*.yaml       the input (render -f / status -f)
#   expected.conf          `render` output
#   expected-status.json   `status -o json` output, lastTransitionTime
#                          dropped, keys sorted, indent 2
# and for each case the configuration is also checked by the real nginx
# (`nginx -t`) with our module loaded: rendered again with the state
# directory in a temporary prefix and the module we built, the two files
# of the output (`# file: PATH` headers) written there, and the
# certificate files of the manifests' kubernetes.io/tls Secrets below
# secrets/, named as the controller names them (write_secrets).
#
# The expected configuration is rendered with --state-dir /var/lib/ngx-gateway
# and names the modules /usr/lib/nginx/modules/ngx_http_gateway_module.so
# and .../ngx_stream_gateway_module.so.  The CLI insists that --module and
# --stream-module exist (and resolves them), so the render uses the modules
# we built and their resolved paths are replaced by those fixed ones.  A
# case with TCP, UDP or TLS listeners has a third file, conf/stream.conf,
# in the same expected.conf.
#
# Environment: UPDATE=1, MODULE (default: ngx_http_gateway_module.so next
# to the binary), STREAM_MODULE (default: ngx_stream_gateway_module.so
# next to the binary), NGINX (default /usr/sbin/nginx), KEEP=1 keeps the
# temporary directory.
#
# Ends with `golden: N passed, M failed`; exits non-zero on any failure.

set -u

here=$(cd "$(dirname "$0")" && pwd)

if [ $# -lt 1 ]; then
    echo "usage: $0 path/to/ngx-gateway [CASE...]" >&2
    exit 2
fi

bin=$(realpath -e "$1" 2>/dev/null) || {
    echo "golden: no such binary: $1" >&2
    echo "golden: 0 passed, 1 failed"
    exit 1
}
shift

module=${MODULE:-$(dirname "$bin")/ngx_http_gateway_module.so}
stream_module=${STREAM_MODULE:-$(dirname "$bin")/ngx_stream_gateway_module.so}
nginx=${NGINX:-/usr/sbin/nginx}
python=/usr/bin/python3
[ -x "$python" ] || python=python3
update=${UPDATE:-0}

state_dir=/var/lib/ngx-gateway
module_fixed=/usr/lib/nginx/modules/ngx_http_gateway_module.so
stream_module_fixed=/usr/lib/nginx/modules/ngx_stream_gateway_module.so

module_real=$(realpath -e "$module" 2>/dev/null) || {
    echo "golden: no nginx module at $module (build it: make module)" >&2
    echo "golden: 0 passed, 1 failed"
    exit 1
}

stream_module_real=$(realpath -e "$stream_module" 2>/dev/null) || {
    echo "golden: no nginx stream module at $stream_module" \
         "(build it: make module)" >&2
    echo "golden: 0 passed, 1 failed"
    exit 1
}

if [ ! -x "$nginx" ]; then
    echo "golden: no nginx at $nginx" >&2
    echo "golden: 0 passed, 1 failed"
    exit 1
fi

# nginx -t binds the listen sockets: without root, move the ports up.
syntax_opts=()
if [ "$(id -u)" -ne 0 ]; then
    syntax_opts=(--port-offset 20000)
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ngx-gateway-golden.XXXXXX")
if [ "${KEEP:-0}" = 1 ]; then
    echo "golden: keeping $tmp"
else
    trap 'rm -rf "$tmp"' EXIT
fi

# stdin: status List JSON; stdout: without lastTransitionTime, sorted keys.
normalise_status() {
    "$python" -c '
import json, sys

def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if k != "lastTransitionTime"}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v

json.dump(strip(json.load(sys.stdin)), sys.stdout, indent=2, sort_keys=True)
sys.stdout.write("\n")
'
}

# stdin: render output; replaces the resolved module paths by the fixed ones.
fix_module_path() {
    "$python" -c '
import sys
text = sys.stdin.read()
for real, fixed in zip(sys.argv[1::2], sys.argv[2::2]):
    text = text.replace("\"%s\"" % real, "\"%s\"" % fixed)
sys.stdout.write(text)
' "$module_real" "$module_fixed" "$stream_module_real" "$stream_module_fixed"
}

# Splits render output at its `# file: PATH` headers into those files.
split_render() {
    "$python" -c '
import sys
out = None
for line in sys.stdin:
    if line.startswith("# file: "):
        if out:
            out.close()
        out = open(line[len("# file: "):].rstrip("\n"), "w")
        continue
    if out is None:
        sys.exit("render output does not start with a # file: header")
    out.write(line)
if out is None:
    sys.exit("render output has no # file: header")
out.close()
'
}

# write_secrets MANIFESTS DIR: the certificate file of every
# kubernetes.io/tls Secret, as the runtime writes it: the chain, a line
# break if it lacks one, the key; named by the first 128 bits of its
# SHA-256 in hex (controller/dataplane/tls.c).  Also the CA bundle file
# of every ConfigMap with a ca.crt, as a BackendTLSPolicy or a frontend
# client certificate validation naming that one ConfigMap makes it (a
# line break added if it lacks one); bundles joined from several
# ConfigMaps are not written.
write_secrets() {
    "$python" -c '
import base64, glob, hashlib, os, sys, yaml

out = sys.argv[2]
os.makedirs(out, mode=0o700, exist_ok=True)
for path in sorted(glob.glob(os.path.join(sys.argv[1], "**", "*.y*ml"),
                             recursive=True)):
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc and doc.get("kind") == "ConfigMap":
                ca = ((doc.get("data") or {}).get("ca.crt") or "").encode()
                if ca:
                    ca += b"" if ca.endswith(b"\n") else b"\n"
                    name = hashlib.sha256(ca).hexdigest()[:32] + ".pem"
                    with open(os.path.join(out, name), "wb") as g:
                        g.write(ca)
                continue
            if not doc or doc.get("kind") != "Secret" \
                    or doc.get("type") != "kubernetes.io/tls":
                continue
            data = {k: base64.b64decode(v)
                    for k, v in (doc.get("data") or {}).items()}
            for k, v in (doc.get("stringData") or {}).items():
                data[k] = v.encode()
            crt, key = data.get("tls.crt", b""), data.get("tls.key", b"")
            if not crt or not key:
                continue
            pem = crt + (b"" if crt.endswith(b"\n") else b"\n") + key
            name = hashlib.sha256(pem).hexdigest()[:32] + ".pem"
            with open(os.path.join(out, name), "wb") as f:
                f.write(pem)
' "$1" "$2"
}

# compare NAME EXPECTED ACTUAL: diff, or rewrite EXPECTED when UPDATE=1.
compare() {
    local name=$1 expected=$2 actual=$3

    if [ "$update" = 1 ]; then
        if ! cmp -s "$expected" "$actual"; then
            cp "$actual" "$expected"
            echo "  updated $expected"
        fi
        return 0
    fi

    if [ ! -f "$expected" ]; then
        echo "  $name: missing $expected (UPDATE=1 writes it)"
        return 1
    fi

    if ! diff -u --label "$expected" --label "$name (actual)" \
            "$expected" "$actual"; then
        return 1
    fi

    return 0
}

run_case() {
    local case=$1 dir=$here/$1 work=$tmp/$1 ok=1 prefix

    mkdir -p "$work"

    # 1. the configuration
    if ! "$bin" render -f "$dir/manifests" --state-dir "$state_dir" \
            --module "$module_real" --stream-module "$stream_module_real" \
            >"$work/render.raw" 2>"$work/render.err"
    then
        echo "  render failed:"
        sed 's/^/    /' "$work/render.err"
        ok=0
    else
        fix_module_path <"$work/render.raw" >"$work/render.conf"
        compare "$case: render" "$dir/expected.conf" \
            "$work/render.conf" || ok=0
    fi

    # 2. the status
    if ! "$bin" status -f "$dir/manifests" -o json >"$work/status.raw" \
            2>"$work/status.err"
    then
        echo "  status failed:"
        sed 's/^/    /' "$work/status.err"
        ok=0
    elif ! normalise_status <"$work/status.raw" >"$work/status.json" \
            2>"$work/status.err"
    then
        echo "  status is not JSON:"
        sed 's/^/    /' "$work/status.err"
        ok=0
    else
        compare "$case: status" "$dir/expected-status.json" \
            "$work/status.json" || ok=0
    fi

    # 3. nginx accepts the configuration, with the module loaded
    prefix=$work/nginx
    mkdir -p "$prefix/conf" "$prefix/logs" "$prefix/run" "$prefix/tmp"
    prefix=$(realpath "$prefix")

    if ! "$bin" render -f "$dir/manifests" --state-dir "$prefix" \
            --module "$module_real" --stream-module "$stream_module_real" \
            "${syntax_opts[@]}" \
            >"$work/nginx.raw" 2>"$work/nginx-render.err"
    then
        echo "  render for nginx -t failed:"
        sed 's/^/    /' "$work/nginx-render.err"
        ok=0
    elif ! (cd "$prefix" && split_render <"$work/nginx.raw") \
            2>"$work/split.err"
    then
        echo "  cannot split the render output:"
        sed 's/^/    /' "$work/split.err"
        ok=0
    elif [ ! -f "$prefix/nginx.conf" ]; then
        echo "  render output has no $prefix/nginx.conf"
        ok=0
    elif ! write_secrets "$dir/manifests" "$prefix/secrets" \
            2>"$work/secrets.err"
    then
        echo "  cannot write the certificate files:"
        sed 's/^/    /' "$work/secrets.err"
        ok=0
    elif ! "$nginx" -t -q -p "$prefix/" -c "$prefix/nginx.conf" \
            -e "$prefix/logs/error.log" \
            >"$work/nginx-t.out" 2>&1
    then
        echo "  nginx -t rejects the configuration:"
        sed 's/^/    /' "$work/nginx-t.out"
        ok=0
    fi

    [ "$ok" = 1 ]
}

cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
    for d in "$here"/*/; do
        [ -d "$d/manifests" ] && cases+=("$(basename "$d")")
    done
fi

passed=0
failed=0

for c in "${cases[@]}"; do
    if [ ! -d "$here/$c/manifests" ]; then
        echo "FAIL $c: no such case ($here/$c/manifests)"
        failed=$((failed + 1))
        continue
    fi

    if out=$(run_case "$c" 2>&1); then
        echo "ok   $c"
        [ -n "$out" ] && printf '%s\n' "$out"
        passed=$((passed + 1))
    else
        echo "FAIL $c"
        printf '%s\n' "$out"
        failed=$((failed + 1))
    fi
done

echo "golden: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
