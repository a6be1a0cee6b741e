#!/usr/bin/env bash
# Runs every load scenario 3 times against a freshly started release build
# and prints the median of each figure. Needs Redis at 127.0.0.1:6379.
# Usage: benches/run-all.sh [runs]    (results also in target/bench-results/)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
cargo build --release --bin lotara
cargo bench --bench load --no-run 2>/dev/null
load=$(ls -t target/release/deps/load-* | grep -v '\.d$' | head -n 1)
bin=target/release/lotara
out=target/bench-results
mkdir -p "$out"
ulimit -n "$(ulimit -Hn)"

# start_service NAME VAR=VALUE... : a release service on port 18500, its own key prefix
start_service() {
  local name=$1; shift
  if curl -fs http://127.0.0.1:18500/health >/dev/null 2>&1; then echo "port 18500 is taken"; exit 1; fi
  redis-cli --scan --pattern "bench:$name:*" | xargs -r -n 500 redis-cli del >/dev/null
  env HOST=127.0.0.1 PORT=18500 REDIS_URL=redis://127.0.0.1:6379 REDIS_KEY_PREFIX="bench:$name:" \
      RUST_LOG=warn "$@" "$bin" serve >"$out/$name.log" 2>&1 &
  svc=$!
  for _ in $(seq 1 100); do curl -fs http://127.0.0.1:18500/health >/dev/null && return; sleep 0.1; done
  echo "service did not start"; exit 1
}
stop_service() { kill "$svc"; wait "$svc" 2>/dev/null || true; }

# run NAME ARGS... : the scenario $runs times, then medians of its numbers
run() {
  local name=$1; shift
  for i in $(seq 1 "$runs"); do "$load" "$@" --url http://127.0.0.1:18500 >"$out/$name.$i.json"; done
  python3 - "$out" "$name" "$runs" <<'PY'
import json, statistics, sys
out, name, runs = sys.argv[1], sys.argv[2], int(sys.argv[3])
docs = [json.load(open(f"{out}/{name}.{i}.json")) for i in range(1, runs + 1)]
def flat(d, prefix=""):
    for k, v in d.items():
        if isinstance(v, dict): yield from flat(v, f"{prefix}{k}.")
        elif isinstance(v, (int, float)) and not isinstance(v, bool): yield f"{prefix}{k}", v
keys = [k for k, _ in flat(docs[0])]
medians = {k: statistics.median(dict(flat(d)).get(k, 0) for d in docs) for k in keys}
print(f"== {name} (median of {runs})")
for k, v in medians.items(): print(f"   {k}: {round(v, 3)}")
PY
}

start_service api WORKER_CONCURRENCY=0
run create-c1 create --concurrency 1 --seconds 5
run create-c64 create --concurrency 64 --seconds 10
run create-c256 create --concurrency 256 --seconds 10
run status-started-c64 status --job started --concurrency 64 --seconds 10
run health-c1 health --concurrency 1 --seconds 5
run health-c64 health --concurrency 64 --seconds 10
stop_service

# The read path as frontends poll it: a finished plan, a job paused mid-run,
# a list page; plain and revalidating (If-None-Match → 304). Health runs in
# the same service so the ratio is measured side by side.
start_service reads
run reads-health-c64 health --concurrency 64 --seconds 10
run status-completed-c64 status --job completed --concurrency 64 --seconds 10
run status-completed-304-c64 status --job completed --revalidate true --concurrency 64 --seconds 10
run status-paused-c64 status --job paused --concurrency 64 --seconds 10
run list-c64 list --concurrency 64 --seconds 10
run list-304-c64 list --revalidate true --concurrency 64 --seconds 10
stop_service

start_service knowledge
run plan-to-complete plan-to-complete --count 100
run redis-memory redis-memory --count 500 --redis redis://127.0.0.1:6379
stop_service
for n in 1000 5000 10000; do
  start_service "fanout$n"
  run "fanout-$n" fanout --streams "$n" --jobs 100 --pid "$svc"
  stop_service
done

"$load" fake-llm --port 9100 --latency-ms 2000 2>"$out/fake-llm.log" &
fake=$!
for i in $(seq 1 "$runs"); do
  start_service "jobs$i" WORKER_CONCURRENCY=2000 LLM_MAX_CONCURRENCY=4000 LLM_BASE_URL=http://127.0.0.1:9100/v1 LLM_TIMEOUT_SECS=30
  "$load" jobs --count 2000 --pid "$svc" --url http://127.0.0.1:18500 >"$out/jobs-2000.$i.json"
  stop_service
done
kill "$fake"
run_jobs_summary() { python3 -c "
import json,statistics
d=[json.load(open('$out/jobs-2000.%d.json'%i)) for i in range(1,$runs+1)]
for k in ['seconds_until_all_terminal','submit_seconds','service_peak_rss_kib']:
    print('   %s: %s'%(k, statistics.median(x[k] for x in d)))
print('   outcomes:', [x['outcome'] for x in d])"; }
echo "== jobs-2000 (median of $runs)"; run_jobs_summary
# Leave the shared Redis as we found it.
redis-cli --scan --pattern 'bench:*' | xargs -r -n 5000 redis-cli unlink >/dev/null
