#!/usr/bin/env bash
# Runs `covidscan bench --gpu` from the parts scripts/gpu-bundle.sh wrote, on a machine without .NET or Node.js.
# Run it in the root of a copy of this repository (it unpacks into artifacts/, node_modules/ and .gpu/, all ignored by
# git); PARTS_DIR holds bundle.part.*. Output (the printed figures, the
# JSON, nvidia-smi every second) goes to $OUT, or out/gpu-bench.
# Usage: bash run-gpu-bundle.sh PARTS_DIR
set -euo pipefail
root="$PWD"
parts="${1:?usage: run-gpu-bundle.sh PARTS_DIR}"
out="${OUT:-$root/out/gpu-bench}"
mkdir -p "$out"
[ -f "$root/CovidServerless.sln" ] || { echo "run-gpu-bundle: run it in the repository's root" >&2; exit 1; }
cat "$parts"/bundle.part.* | xz -dc | tar -x -i -C "$root"

export DOTNET_ROOT="$root/.gpu/dotnet" PATH="$root/.gpu/dotnet:$root/.gpu/bin:$PATH" DOTNET_CLI_TELEMETRY_OPTOUT=1
export CUDA_MODULE_LOADING=LAZY
# ONNX Runtime's CUDA provider needs CUDA 13's cuBLAS, cuRAND and runtime and cuDNN 9 on the library path: those of a
# PyTorch installation under /opt (as on the lent machines), else the CUDA toolkit's.
cuda_libs() {
  { find "$@" \( -name 'libcublasLt.so.13' -o -name 'libcublas.so.13' -o -name 'libcurand.so.10' -o -name 'libcudart.so.13' \
    -o -name 'libcudnn.so.9' \) 2>/dev/null || true; } | xargs -r -n1 dirname | sort -u | tr '\n' ':'
}
libs="$(cuda_libs /opt)"
[ -n "$libs" ] || libs="$(cuda_libs /usr/local/cuda* /usr/lib/x86_64-linux-gnu)"
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:-}"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 1 >"$out/nvidia-smi.csv" 2>&1 &
smi=$!
trap 'kill "$smi" 2>/dev/null || true' EXIT
set +e
# covidscan finds Azurite installed and no SDK to build with, so it runs the bundled build.
./covidscan bench --gpu --json "$out/gpu.json" --data "$root/.gpu/data" 2>&1 | tee "$out/log.txt"
exit "${PIPESTATUS[0]}"
