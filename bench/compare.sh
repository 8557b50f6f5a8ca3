#!/usr/bin/env bash
# Side-by-side benchmark: the real etcd 3.4 (/usr/bin/etcd) vs etcd-rs.
#
#   bench/compare.sh                      # release build, 1M revisions for the restart test
#   BENCH_REVISIONS=100000 BENCH_SCALE=0.5 bench/compare.sh
#   BENCH_PROFILE=debug bench/compare.sh  # quick check while developing (numbers meaningless)
#
# Env: BENCH_PROFILE (release|debug), BENCH_REVISIONS (default 1000000), BENCH_SCALE (workload
# totals multiplier, default 1), BENCH_SIZES (cluster sizes, default "1,3"), BENCH_OUT (results
# file, default bench/results-<date>.md). Builds `etcd` and `benchmark` once, then runs
# bench/compare.py, which starts/stops every server by PID and removes its temp dirs.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PROFILE="${BENCH_PROFILE:-release}"
OUT="${BENCH_OUT:-$ROOT/bench/results-$(date +%F).md}"

if ! [ -x /usr/bin/etcd ]; then
    echo "installing the real etcd 3.4 (Debian etcd-server)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
fi
command -v python3 >/dev/null || { echo "python3 is required" >&2; exit 1; }

cd "$ROOT"
if [ "$PROFILE" = release ]; then
    cargo build --release --bin etcd --bin benchmark
else
    cargo build --bin etcd --bin benchmark
fi
TARGET_DIR="$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')"
BIN="$TARGET_DIR/$PROFILE"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/etcd-bench.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
python3 "$ROOT/bench/compare.py" --etcd /usr/bin/etcd --ours "$BIN/etcd" --bench "$BIN/benchmark" \
    --tmp "$TMP" --out "$OUT" --profile "$PROFILE"
