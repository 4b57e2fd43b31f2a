#!/usr/bin/env bash
# Compiles and lints every Bicep file under infra/ with a pinned Bicep CLI; any warning or error
# fails the script (non-zero exit). Needs only the .NET SDK: the compiler comes from NuGet
# (Azure.Bicep.CommandLine.linux-x64, version pinned in infra/tools/BicepTool.csproj) and is
# restored into the git-ignored .tools/nuget/ folder on first use. Works from any directory.
#
#   infra/lint.sh            # called by ./test.sh
#   BICEP=/path/to/bicep infra/lint.sh   # use another binary (e.g. macOS/Windows); same checks
set -euo pipefail

infra_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$infra_dir/.." && pwd)"
tool_proj="$infra_dir/tools/BicepTool.csproj"

version="$(sed -n 's:.*<BicepVersion>\([^<]*\)</BicepVersion>.*:\1:p' "$tool_proj")"
[[ -n "$version" ]] || { echo "lint.sh: no <BicepVersion> in $tool_proj" >&2; exit 2; }

# NuGet lower-cases package folder names.
bicep="${BICEP:-$repo_root/.tools/nuget/azure.bicep.commandline.linux-x64/$version/tools/bicep}"

if [[ ! -x "$bicep" ]]; then
  if [[ ! -e "$bicep" ]]; then
    echo "lint.sh: restoring Bicep CLI $version from NuGet ..."
    DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 \
      dotnet restore "$tool_proj" --verbosity quiet >&2
  fi
  [[ -e "$bicep" ]] || { echo "lint.sh: Bicep CLI not found at $bicep after restore" >&2; exit 2; }
  chmod +x "$bicep" # NuGet does not preserve the executable bit.
fi

if ! "$bicep" --version | grep -q "$version"; then
  echo "lint.sh: expected Bicep CLI $version, got: $("$bicep" --version)" >&2
  exit 2
fi

# Run one bicep command; fail on a non-zero exit or on any Warning/Error diagnostic line.
# Bicep writes diagnostics to stderr and exits 0 on warnings, hence the grep. They look like:
#   /abs/path/main.bicep(12,3) : Warning no-unused-params: Parameter "x" is declared but never used.
# stdout (the ARM JSON of `build --stdout`) is discarded: only compilability matters here.
run_checked() {
  local out status=0
  out="$("$bicep" "$@" 2>&1 >/dev/null)" || status=$?
  if [[ $status -ne 0 ]] || grep -Eq ' : (Warning|Error) ' <<<"$out"; then
    printf '%s\n' "$out" >&2
    echo "lint.sh: FAILED: bicep $* (exit $status)" >&2
    return 1
  fi
}

cd "$repo_root"
count="$(find infra -name '*.bicep' -not -path 'infra/tools/*' | wc -l)"
[[ $count -gt 0 ]] || { echo "lint.sh: no .bicep files under infra/" >&2; exit 2; }

# 1. The deployable template (what azd compiles), then every file on its own: modules deployed
#    separately (blob-event-subscriptions.bicep) must compile too. `build` reports compiler
#    diagnostics (types, API versions the type library lacks: BCP081) and the linter's.
# 2. The linter over every file, with the rules of infra/bicepconfig.json.
# --no-restore: no external (registry) modules are used, so never touch the network.
out_dir="$(mktemp -d)"
trap 'rm -rf "$out_dir"' EXIT
failed=0
run_checked build infra/main.bicep --no-restore --stdout || failed=1
run_checked build --pattern 'infra/**/*.bicep' --no-restore --outdir "$out_dir" || failed=1
run_checked lint --pattern 'infra/**/*.bicep' --no-restore || failed=1

# 3. The security properties of the compiled template (docs/security.md): storage network and audit,
#    Easy Auth, the worker's internal ingress and token check.
if "$bicep" build infra/main.bicep --no-restore --outfile "$out_dir/main.json" 2>/dev/null; then
  python3 infra/check-security.py "$out_dir/main.json" || failed=1
else
  failed=1
fi

if [[ $failed -ne 0 ]]; then
  echo "lint.sh: Bicep build/lint or the security checks reported problems (Bicep CLI $version)." >&2
  exit 1
fi
echo "lint.sh: $count Bicep files under infra/ built and linted: 0 warnings, 0 errors, security checks passed (Bicep CLI $version)."
