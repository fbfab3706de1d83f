#!/usr/bin/env bash
# On a GPU host, even one without internet: unpacks the bundle made by pack.sh (when this
# checkout has no node_modules), shows the GPU and the backend, runs the demo on the GPU
# the GPU suite (npm run bench -- gpu), a 1M-row score job through the service (npm run
# bench -- service: the whole pipeline, read -> transform -> score -> write, against DuckDB's
# I/O floor), then the demo on the GPU backend (every model trained and scored).
# Usage: bench/gpu-host/run.sh [--bundle=FILE] [--out=DIR] [--no-demo] [--no-service]
#          [--service-rows=N] [--step-timeout=S] [gpu suite options...]
#   --bundle        the tarball from pack.sh (default .carry/gpu-bench.tar.xz)
#   --out           a folder for the logs and bench/results/gpu.json (default: none)
#   --service-rows  rows of the service score job (default 1000000)
#   --step-timeout  seconds each step (demo, suite, service job) may run before it is stopped
#                   (default none); a step that fails or runs out is reported and the next runs,
#                   and the script exits 1 at the end
# `audience info` shows the automatic choice; the demo and the suite then run with
# AUDIENCE_BACKEND=webgpu (unless set), so a GPU host that cannot start it fails loudly.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
bundle=.carry/gpu-bench.tar.xz
out=""
demo=1
service=1
service_rows=1000000
step_timeout=0
suite=()
for a in "$@"; do
  case "$a" in
    --bundle=*) bundle=${a#--bundle=} ;;
    --out=*) out=${a#--out=} ;;
    --no-demo) demo=0 ;;
    --no-service) service=0 ;;
    --service-rows=*) service_rows=${a#--service-rows=} ;;
    --step-timeout=*) step_timeout=${a#--step-timeout=} ;;
    *) suite+=("$a") ;;
  esac
done

if [ ! -d node_modules ]; then
  echo "unpacking $bundle"
  if command -v xz >/dev/null; then
    tar -xJf "$bundle"
  else # no xz on the host: Python's lzma
    python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), sys.stdout.buffer)' "$bundle" | tar -xf -
  fi
fi
[ -x .gpu-runtime/bin/node ] && export PATH="$root/.gpu-runtime/bin:$PATH"
# The Vulkan loader from the bundle, only where the host has none.
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  export LD_LIBRARY_PATH="$root/.gpu-runtime/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
# NVIDIA's Vulkan driver manifest: the container toolkit may mount it outside default search path.
if [ -z "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/local/nvidia/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f; break; fi
  done
fi
[ -n "$out" ] && mkdir -p "$out"
log() { if [ -n "$out" ]; then tee -a "$out/$1"; else cat; fi; }

{
  date -u +%FT%TZ
  if command -v nvidia-smi >/dev/null; then nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader; fi
  echo "Vulkan loader: $(ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 ' && echo host || echo bundled); driver manifest: ${VK_DRIVER_FILES:-${VK_ICD_FILENAMES:-default search path}}"
  echo "node $(node --version) ($(command -v node))"
  # The automatic choice first (what every command picks on this host), then the rest forced.
  node bin/audience.js info
} 2>&1 | log info.txt
export AUDIENCE_BACKEND=${AUDIENCE_BACKEND:-webgpu}

failed=()
# step NAME LOG COMMAND...: runs one step (under --step-timeout), logs it, and goes on if it fails.
step() {
  local name=$1 file=$2 rc=0 t0=$SECONDS
  shift 2
  echo "== $name" | log "$file"
  if [ "$step_timeout" -gt 0 ]; then
    timeout --kill-after=10 "$step_timeout" "$@" 2>&1 | log "$file" || rc=$?
  else
    "$@" 2>&1 | log "$file" || rc=$?
  fi
  echo "== $name: exit $rc after $((SECONDS - t0)) s" | log "$file"
  [ "$rc" = 0 ] || failed+=("$name (exit $rc)")
}

step "gpu suite" gpu.txt node --import tsx bench/run.ts gpu "${suite[@]}"
[ -n "$out" ] && [ -f bench/results/gpu.json ] && cp bench/results/gpu.json "$out/"
if [ "$service" = 1 ]; then
  step "service job" service.txt node --import tsx bench/run.ts service --sizes="$service_rows"
  [ -n "$out" ] && [ -f bench/results/service.json ] && cp bench/results/service.json "$out/"
fi
# The demo last: the measurements come first when time on the host is short.
[ "$demo" = 1 ] && step demo demo.txt node --import tsx src/cli/demo.ts
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
exit 0
