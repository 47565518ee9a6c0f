#!/usr/bin/env bash
# One entry point for a fresh Debian 12 machine (as root):
#   deploy/setup.sh run    install what is needed, build, start gatehouse with demo nodes on 127.0.0.1:8080
#                          (`deploy/setup.sh run --public` listens on every address, 0.0.0.0:8080)
#   deploy/setup.sh test   install what is needed, then build and run every test three times (Release in build/,
#                          ASan+UBSan in build-asan/, TSan in build-tsan/), run each libFuzzer target for a bounded
#                          time (build-fuzz/, clang) and a short soak; any sanitizer report fails
#   deploy/setup.sh e2e    install what is needed (PostgreSQL, Redis, Chromium; Node.js 22 and NocoBase from npm into
#                          a cache), build Release, and run the end-to-end suite against a real NocoBase cluster
#                          (tests/e2e/run.sh; `test` runs it too, after the Release pass)
#   deploy/setup.sh deps   only install the Debian packages
#   deploy/setup.sh build  only build (Release, in build/)
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config git curl openssl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libsystemd-dev zlib1g-dev libtomlplusplus-dev prometheus-cpp-dev libcli11-dev libgoogle-perftools-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libhiredis-dev libc-ares-dev
  clang libclang-rt-14-dev
)
# Only for `test`: the browser test (headless Chromium through chromedriver), the deploy/ checks (promtool; the
# Debian package built with cpack and dpkg-shlibdeps; `docker-compose config` without an engine; logrotate -d) and the
# [cluster] tests (a redis-server each test starts on a free loopback port).
TEST_PACKAGES=(chromium chromium-driver prometheus dpkg-dev docker-compose python3-yaml logrotate redis-server)
# Only for `e2e` (and `test`): the real NocoBase cluster's database and cache, and the browser. npm (which fetches
# Node.js 22 and NocoBase) comes from Debian's package only when the machine has none.
E2E_PACKAGES=(postgresql redis-server chromium chromium-driver)
command -v npm >/dev/null || E2E_PACKAGES+=(npm)

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

# Sanitizer reports go to files in $SANITIZER_LOGS (the test binaries and the gatehouse processes they start
# alike), halt the process, and the pass fails when any such file exists afterwards.
SANITIZER_LOGS=${SANITIZER_LOGS:-/tmp/gatehouse-sanitizer-logs}

sanitizer_env() {
  local logs=$SANITIZER_LOGS/$1
  rm -rf "$logs"; mkdir -p "$logs"
  export ASAN_OPTIONS="halt_on_error=1:exitcode=86:detect_leaks=1:strict_init_order=1:log_path=$logs/asan"
  export UBSAN_OPTIONS="halt_on_error=1:exitcode=86:print_stacktrace=1:log_path=$logs/ubsan"
  export LSAN_OPTIONS="exitcode=86"
  export TSAN_OPTIONS="halt_on_error=1:exitcode=86:second_deadlock_stack=1:log_path=$logs/tsan"
}

sanitizer_reports_absent() {
  local logs=$SANITIZER_LOGS/$1 found=0 f
  for f in "$logs"/*; do
    [[ -e $f ]] || continue
    found=1
    echo "=== sanitizer report: $f"; cat "$f"
  done
  ((found == 0)) || { echo "$1: sanitizer reports above: failing" >&2; return 1; }
}

# One pass: configure and build in DIR with the extra CMake arguments, then run the whole ctest suite.
test_pass() {
  local name=$1 dir=$2; shift 2
  local start=$SECONDS
  echo "=== pass $name: build in $dir"
  # (errexit does not apply inside a function called with ||: every step checks for itself)
  cmake -S . -B "$dir" -G Ninja "$@" >/dev/null || return 1
  cmake --build "$dir" -j "$(nproc)" || return 1
  echo "=== pass $name: ctest ($((SECONDS - start)) s so far)"
  sanitizer_env "$name"
  local rc=0
  # The browser and deploy checks exercise the page and the shipped files, not memory or threads: the Release
  # pass runs them; the sanitizer passes skip them to stay within CI's time.
  local exclude=()
  [[ $name == release ]] || exclude=(-LE 'browser|deploy')
  ctest --test-dir "$dir" --output-on-failure --timeout 600 --no-tests=error "${exclude[@]}" || rc=$?
  sanitizer_reports_absent "$name" || rc=1
  unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS TSAN_OPTIONS
  echo "=== pass $name: $([[ $rc == 0 ]] && echo passed || echo FAILED) in $((SECONDS - start)) s"
  return $rc
}

# The e2e suite's install (Node.js 22, NocoBase: ~2 GB from npm, little CPU) in the background, so that on a fresh
# machine the download overlaps the Release build; e2e_pass waits for it (run.sh installs anything still missing).
E2E_PREPARE_PID=
E2E_PREPARE_LOG=${TMPDIR:-/tmp}/gatehouse-e2e-prepare.$$.log
e2e_prepare_start() {
  timeout -k 30 "${E2E_PREPARE_TIMEOUT:-1500}" nice tests/e2e/run.sh --prepare >"$E2E_PREPARE_LOG" 2>&1 &
  E2E_PREPARE_PID=$!
}
e2e_prepare_wait() {
  [[ -n $E2E_PREPARE_PID ]] || return 0
  local rc=0
  wait "$E2E_PREPARE_PID" || rc=$?
  E2E_PREPARE_PID=
  echo "e2e: background install ended with $rc:"
  tail -n 20 "$E2E_PREPARE_LOG" || true
  rm -f "$E2E_PREPARE_LOG"
}

# The end-to-end suite against a real NocoBase cluster (tests/e2e/run.sh) with the Release binary in build/.
e2e_pass() {
  local start=$SECONDS rc=0
  echo "=== pass e2e: NocoBase cluster behind gatehouse"
  e2e_prepare_wait
  if [[ ! -x ${BUILD_DIR:-build}/gatehouse ]]; then
    BUILD_DIR=${BUILD_DIR:-build} build >/dev/null || return 1
  fi
  # Bounded: a hung download or scenario cannot eat CI's hour (the suite stops what it started on SIGTERM).
  timeout -k 60 "${E2E_TIMEOUT:-1200}" tests/e2e/run.sh "${BUILD_DIR:-build}/gatehouse" || rc=$?
  echo "=== pass e2e: $([[ $rc == 0 ]] && echo passed || echo FAILED) in $((SECONDS - start)) s"
  return $rc
}

# Sanitizer builds: -O1 with asserts on and line tables, no benchmarks.
SANITIZER_FLAGS=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -g1" -DGATEHOUSE_BENCH=OFF)

all_tests() {
  local start=$SECONDS passed=0 failed=0
  e2e_prepare_start
  if test_pass release "${BUILD_DIR:-build}" -DCMAKE_BUILD_TYPE=Release; then ((++passed)); else ((++failed)); fi
  if e2e_pass; then ((++passed)); else ((++failed)); fi
  if test_pass asan build-asan "${SANITIZER_FLAGS[@]}" -DGATEHOUSE_SANITIZE=address; then ((++passed)); else ((++failed)); fi
  if test_pass tsan build-tsan "${SANITIZER_FLAGS[@]}" -DGATEHOUSE_SANITIZE=thread; then ((++passed)); else ((++failed)); fi
  if fuzz_pass; then ((++passed)); else ((++failed)); fi
  echo "=== all passes done in $((SECONDS - start)) s"
  echo "passes: $passed passed, $failed failed"
  ((failed == 0))
}

# libFuzzer targets (clang) in build-fuzz/: each runs FUZZ_SECONDS (default 30) from its seed corpus in
# tests/fuzz/corpus/<target>/; new inputs go to a scratch copy, never into the repository.
fuzz_pass() {
  local start=$SECONDS rc=0 seconds=${FUZZ_SECONDS:-30}
  echo "=== pass fuzz: build in build-fuzz"
  CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Release -DGATEHOUSE_FUZZ=ON \
    -DGATEHOUSE_TESTS=OFF -DGATEHOUSE_BENCH=OFF >/dev/null || return 1
  cmake --build build-fuzz -j "$(nproc)" --target fuzz_targets || return 1
  local work bin; work=$(mktemp -d /tmp/gatehouse-fuzz.XXXXXX); bin=$(pwd)/build-fuzz
  for target in $(cat build-fuzz/fuzz_targets.txt); do
    mkdir -p "$work/$target"
    cp -r "tests/fuzz/corpus/$target/." "$work/$target/"
    echo "=== fuzz $target: ${seconds} s"
    if ! (cd "$work" && "$bin/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
          -print_final_stats=1 -artifact_prefix="$work/$target-" "$work/$target" 2>"$work/$target.log"); then
      rc=1
      tail -n 60 "$work/$target.log"
      echo "fuzz $target: failed; the input is in $work (make it a regression test)" >&2
    else
      grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' "$work/$target.log" || true
    fi
  done
  ((rc != 0)) || rm -rf "$work"
  echo "=== pass fuzz: $([[ $rc == 0 ]] && echo passed || echo FAILED) in $((SECONDS - start)) s"
  return $rc
}

case "${1:-}" in
  deps) deps ;;
  build) deps; build ;;
  run)
    deps; build
    if [[ ${2:-} == --public ]]; then where="http://<this machine>:8080"; else where="http://127.0.0.1:8080 (loopback only; run --public for more)"; fi
    echo "gatehouse demo: proxy on $where, demo nodes on 127.0.0.1:13001-13003 (Ctrl-C stops)"
    exec ./build/gatehouse demo -c conf/gatehouse.toml "${@:2}"
    ;;
  e2e)
    PACKAGES+=("${E2E_PACKAGES[@]}")
    deps
    e2e_pass
    ;;
  test)
    PACKAGES+=("${TEST_PACKAGES[@]}" "${E2E_PACKAGES[@]}")
    deps
    all_tests
    ;;
  fuzz) deps; fuzz_pass ;;
  *) echo "usage: $0 run|test|e2e|fuzz|deps|build" >&2; exit 2 ;;
esac
