#!/usr/bin/env bash
# Packs what `covidscan bench --gpu` needs on a bare x86-64 Linux machine with an NVIDIA GPU (CUDA 13 and cuDNN 9
# libraries present) but no .NET, no Node.js and no network: the CUDA build of the benchmark, the scoring worker and
# the local host, the .NET runtime they run on, Node.js with the repository's Azurite, and the validation scans.
# Writes DIR/bundle.part.* (split so that each fits a transfer limit) and DIR/run-gpu-bundle.sh. There: copy the
# repository and the parts, then, in the repository's root, `bash DIR/run-gpu-bundle.sh DIR` (benchmarks/README.md).
# Usage: scripts/gpu-bundle.sh [DIR (default out/gpu-bundle)] [BYTES_PER_PART (default 36000000)]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="$(mkdir -p "${1:-$root/out/gpu-bundle}" && cd "${1:-$root/out/gpu-bundle}" && pwd)"
part_bytes="${2:-36000000}"
data="${COVIDSERVERLESS_DATA:-$root/../shared/data}"
cd "$root"

# Builds the CUDA variant into artifacts/gpu (and installs Azurite); --help stops before anything needs a GPU.
./covidscan bench --gpu --help >/dev/null
dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
node_bin="$(readlink -f "$(command -v node)")"
runtime="$(dotnet --list-runtimes | awk '$1 == "Microsoft.NETCore.App" && $2 ~ /^10\./ { v = $2 } END { print v }')"
[ -n "$runtime" ] || { echo "gpu-bundle: no .NET 10 runtime found" >&2; exit 1; }

stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
bin="$stage/artifacts/gpu/bin"
for project in Benchmarks Worker LocalHost; do
  mkdir -p "$bin/CovidServerless.$project"
  cp -a "artifacts/gpu/bin/CovidServerless.$project/release_linux-x64" "$bin/CovidServerless.$project/"
done
# The three builds share most files, the CUDA provider (about 280 MB) among them: keep one copy, hard-linked.
first="$bin/CovidServerless.Benchmarks/release_linux-x64"
for project in Worker LocalHost; do
  other="$bin/CovidServerless.$project/release_linux-x64"
  (cd "$other" && find . -type f) | while read -r file; do
    if [ -f "$first/$file" ] && cmp -s "$first/$file" "$other/$file"; then ln -f "$first/$file" "$other/$file"; fi
  done
done

mkdir -p "$stage/.gpu/dotnet/shared" "$stage/.gpu/bin"
cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$stage/.gpu/dotnet/"
for framework in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
  mkdir -p "$stage/.gpu/dotnet/shared/$framework"
  cp -a "$dotnet_root/shared/$framework/$runtime" "$stage/.gpu/dotnet/shared/$framework/"
done
cp "$node_bin" "$stage/.gpu/bin/node"

# The validation scans (the benchmark takes 32 per modality of them; 16 MB in all). Without them it scores generated
# images, as it does anywhere.
if [ -d "$data" ]; then
  for modality in chest ct; do
    mkdir -p "$stage/.gpu/data/$modality"
    cp -a "$data/$modality/val" "$stage/.gpu/data/$modality/"
  done
else
  echo "gpu-bundle: no scans at $data (set COVIDSERVERLESS_DATA): the benchmark will score generated images" >&2
fi

echo "gpu-bundle: compressing (a few minutes) ..." >&2
rm -f "$out"/bundle.part.*
{
  tar -C "$stage" -cf - artifacts .gpu | xz -T0 --x86 --lzma2=preset=9,dict=256MiB
  tar -C "$root" -cf - node_modules | xz -T0 -9
} | split -b "$part_bytes" -d -a 2 - "$out/bundle.part."
cp "$root/scripts/run-gpu-bundle.sh" "$out/"
ls -l "$out"
