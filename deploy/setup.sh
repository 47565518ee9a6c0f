#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (as root):
#   deploy/setup.sh run    install what is needed, build, start gatehouse with demo nodes on :8080
#   deploy/setup.sh test   install what is needed, build, run every test with ctest
#   deploy/setup.sh deps   only install the Debian packages
#   deploy/setup.sh build  only build (Release, in build/)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config git curl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libtomlplusplus-dev prometheus-cpp-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)
# Only for `test`: the browser test (headless Chromium through chromedriver) and the deploy/ checks (promtool).
TEST_PACKAGES=(chromium chromium-driver prometheus)

deps() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

build() {
  local dir=${BUILD_DIR:-build}
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
  cmake --build "$dir" -j "$(nproc)"
}

case "${1:-}" in
  deps) deps ;;
  build) deps; build ;;
  run)
    deps; build
    echo "gatehouse demo: proxy on http://localhost:8080, demo nodes on 127.0.0.1:13001-13003 (Ctrl-C stops)"
    exec ./build/gatehouse demo -c conf/gatehouse.toml
    ;;
  test)
    PACKAGES+=("${TEST_PACKAGES[@]}")
    deps; build
    ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure --timeout 600
    ;;
  *) echo "usage: $0 run|test|deps|build" >&2; exit 2 ;;
esac
