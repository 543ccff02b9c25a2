#!/usr/bin/env bash
# Builds ngx_http_gateway_module.so and ngx_stream_gateway_module.so
# against the installed nginx.
#
#   bash nginx-module/build.sh BUILD_DIR
#
# BUILD_DIR is relative to the repository root (or absolute). The nginx
# source tree that Debian's nginx-dev ships (/usr/share/nginx/src, headers
# and build scripts only) is copied to BUILD_DIR/nginx-src and configured
# with the flags the package was built with, plus this module. The copy and
# configure step is redone only when its inputs change; make then rebuilds
# only what changed. Output goes to BUILD_DIR/nginx-module.log; it is shown
# only on failure.
#
# The stream module is a library of its own: it needs the symbols of
# Debian's ngx_stream_module.so (load_module'd before it), which an http
# only configuration does not load, and a library with an unresolved
# symbol fails to load (nginx dlopen()s it with RTLD_NOW).
set -euo pipefail

NGX_SRC=${NGX_SRC:-/usr/share/nginx/src}
MODULE_NAMES="ngx_http_gateway_module ngx_stream_gateway_module"

if [ $# -ne 1 ]; then
    echo "usage: bash nginx-module/build.sh BUILD_DIR" >&2
    exit 2
fi

module_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$module_dir/.." && pwd)

cd "$repo_root"
mkdir -p "$1"
build_dir=$(cd "$1" && pwd)

src_copy=$build_dir/nginx-src
log=$build_dir/nginx-module.log
stamp=$src_copy/.ngx-gateway-configured

if [ ! -f "$NGX_SRC/conf_flags" ] || [ ! -x "$NGX_SRC/configure" ]; then
    echo "module: $NGX_SRC is missing; install nginx-dev (make deps)" >&2
    exit 1
fi

# shellcheck source=/dev/null
. "$NGX_SRC/conf_flags"

# Debian builds its own modules with dpkg-buildflags (see nginx -V); use the
# same hardening flags. nginx adds -Werror itself. conf_flags has the
# flags common to Debian's nginx and its dynamic modules; the stream flags
# are those its libnginx-mod-stream was built with (see nginx -V), so the
# stream headers compile as they did for ngx_stream_module.so.
cc_opt="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
cc_opt="$cc_opt -fPIC -Wdate-time -D_FORTIFY_SOURCE=2"
ld_opt="-Wl,-z,relro -Wl,-z,now -fPIC"

configure_args=(
    "${NGX_CONF_FLAGS[@]}"
    --with-cc-opt="$cc_opt"
    --with-ld-opt="$ld_opt"
    --with-stream=dynamic
    --with-stream_ssl_module
    --with-stream_ssl_preread_module
    --with-stream_realip_module
    --add-dynamic-module="$module_dir"
)

fail() {
    echo "module: $1 failed; last lines of $log:" >&2
    tail -n 40 "$log" >&2
    exit 1
}

# Everything that decides the configure result: the source tree, the flags,
# the module's config file and this script.
inputs_key() {
    {
        (cd "$NGX_SRC" && find . -type f -printf '%p %s %T@\n' | sort)
        printf '%s\n' "${configure_args[@]}"
        cat "$module_dir/config" "${BASH_SOURCE[0]}"
    } | sha256sum | cut -d' ' -f1
}

exec 9>"$build_dir/.nginx-module.lock"
flock 9

: > "$log"
key=$(inputs_key)

if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$key" ]; then
    rm -rf "$src_copy"
    cp -a "$NGX_SRC" "$src_copy"
    (cd "$src_copy" && ./configure "${configure_args[@]}") >>"$log" 2>&1 \
        || fail "configure"
    echo "$key" > "$stamp"
fi

# only ours, not the stream module configure adds as well
targets=()
for name in $MODULE_NAMES; do
    targets+=("objs/$name.so")
done

make -C "$src_copy" -f objs/Makefile -j "$(nproc)" "${targets[@]}" \
    >>"$log" 2>&1 || fail "make"

for name in $MODULE_NAMES; do
    cp "$src_copy/objs/$name.so" "$build_dir/.$name.so.tmp"
    mv -f "$build_dir/.$name.so.tmp" "$build_dir/$name.so"
done
