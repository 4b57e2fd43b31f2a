#!/usr/bin/env bash
# Runs every test: installs what is missing (Azurite from npm, NuGet packages), builds the solution with
# warnings as errors, checks packages for known vulnerabilities, runs the xunit suites (storage tests start
# their own Azurite on free ports), checks formatting, and builds + lints the Bicep infrastructure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

scripts/ensure-azurite.sh

# The browser tests drive Debian's Chromium (Playwright cannot download its own browser here).
if [ -z "${CHROMIUM_PATH:-}" ] && [ ! -x /usr/bin/chromium ]; then
  echo "test.sh: installing chromium (apt-get) for the browser tests ..."
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi

echo "test.sh: building ..."
dotnet build CovidServerless.sln -c Release -nologo -v q -clp:ErrorsOnly

echo "test.sh: checking packages for known vulnerabilities ..."
status=0
vulnerable=0
scripts/check-vulnerable.sh || vulnerable=$?
# 3: the sources publish no vulnerability data (said loudly, again at the end); anything else non-zero fails.
if [[ $vulnerable -ne 0 && $vulnerable -ne 3 ]]; then status=$vulnerable; fi

echo "test.sh: checking formatting (dotnet format) ..."
dotnet format CovidServerless.sln --verify-no-changes --no-restore -v q

echo "test.sh: running tests ..."
results="$(mktemp -d)"
dotnet test CovidServerless.sln -c Release --no-build -nologo --results-directory "$results" \
  --logger "trx" --logger "console;verbosity=minimal" || status=$?

echo "test.sh: building and linting infra/ ..."
bash infra/lint.sh || status=$?

if [[ $vulnerable -eq 3 ]]; then
  echo "test.sh: WARNING: package vulnerabilities NOT CHECKED (no source offers vulnerability data; see above)"
fi

# One plain closing line over every test assembly, read from the TRX reports.
python3 - "$results" <<'PY' || true
import glob, sys, xml.etree.ElementTree as ET
ns = {"t": "http://microsoft.com/schemas/VisualStudio/TeamTest/2010"}
passed = failed = skipped = 0
for path in glob.glob(sys.argv[1] + "/*.trx"):
    c = ET.parse(path).getroot().find("t:ResultSummary/t:Counters", ns)
    passed += int(c.get("passed")); failed += int(c.get("failed")) + int(c.get("error"))
    skipped += int(c.get("notExecuted"))
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
PY
rm -rf "$results"
exit $status
