#!/usr/bin/env bash
# Installs the Debian 12 packages idnode builds and tests with. Idempotent: packages already
# present are skipped, so a second run does nothing and needs no network. Uses sudo only when
# not running as root.
set -euo pipefail

packages=(
  build-essential cmake pkg-config clang-format
  libssl-dev openssl liblmdb-dev lmdb-utils
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libabsl-dev libboost-dev
  libcli11-dev libspdlog-dev libfmt-dev libtomlplusplus-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev
  clang libclang-rt-14-dev  # libFuzzer + sanitizers for the fuzz targets (tests/fuzz)
  chromium                  # headless, for the dashboard test (tests/integration/http_test)
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# promtool checks our /metrics output in a test. It comes from Debian's prometheus package, which
# is unpacked into .deps/ rather than installed: installing it would also start a Prometheus
# server on this machine, and only the one static binary is needed.
deps_dir="$(cd "$(dirname "$0")/.." && pwd)/.deps"
if [ ! -x "$deps_dir/bin/promtool" ]; then
  echo "install-deps: unpacking promtool from Debian's prometheus package into $deps_dir"
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  if ! (cd "$work" && apt-get download -qq prometheus 2>/dev/null); then
    "${sudo_cmd[@]}" apt-get update -qq
    (cd "$work" && apt-get download -qq prometheus)
  fi
  dpkg-deb -x "$work"/prometheus_*.deb "$work/root"
  install -D -m 0755 "$work/root/usr/bin/promtool" "$deps_dir/bin/promtool"
fi
