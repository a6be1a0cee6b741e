#!/usr/bin/env bash
# POST /v1/plan → `complete` latency with the embedded planner, for one build of the
# service: a named destination, a vague wish (inspiration ranking over every curated
# destination) and a Vietnamese multi-city request, 100 plans each, one at a time;
# plus the binary's size and its resident memory once started.
#   benches/planner.sh [path/to/lotara] [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/lotara}
runs=${2:-3}
cargo bench --bench load --no-run 2>/dev/null
load=$(ls -t target/release/deps/load-* | grep -v '\.d$' | head -n 1)
port=18600
prefix="bench:planner:$$:"
env HOST=127.0.0.1 PORT=$port REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="$prefix" RUST_LOG=warn \
  "$bin" serve >/dev/null 2>&1 &
svc=$!
trap 'kill $svc 2>/dev/null; redis-cli --scan --pattern "$prefix*" | xargs -r -n 500 redis-cli del >/dev/null' EXIT
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/health" >/dev/null && break; sleep 0.1; done
echo "binary_bytes: $(stat -c %s "$bin")"
echo "rss_at_start_kib: $(awk '/VmRSS/ {print $2}' /proc/$svc/status)"
measure() {
  local name=$1; shift
  for i in $(seq 1 "$runs"); do
    "$load" plan-to-complete --count 100 --url "http://127.0.0.1:$port" "$@" \
      | python3 -c 'import json,sys; l=json.load(sys.stdin)["latency"]; print(l.get("p50_ms", l), l.get("p99_ms", ""))'
  done | python3 -c "
import sys, statistics
rows = [l.split() for l in sys.stdin if l.strip()]
p50 = statistics.median(float(r[0]) for r in rows); p99 = statistics.median(float(r[1]) for r in rows)
print(f'$name: p50 {p50:.1f} ms, p99 {p99:.1f} ms (median of {len(rows)} runs of 100 plans)')"
}
measure named
if [ "${PLANNER_ONLY_NAMED:-}" != "1" ]; then
  measure vague --query "Somewhere warm with beaches for 10 days in January, 2 of us" --origin MEL
  measure vietnamese --query "3 ngày ở Sapa và 2 ngày ở Hà Nội cho 2 người" --origin SGN
fi
echo "rss_after_kib: $(awk '/VmRSS/ {print $2}' /proc/$svc/status)"
