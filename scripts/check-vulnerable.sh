#!/usr/bin/env bash
# Fails (exit 1) when any package of the solution (or of the project given as $1), direct or transitive, has a
# known vulnerability in NuGet's vulnerability data, or when the check itself failed. `dotnet list package
# --vulnerable` reports "no vulnerable packages" also when no source publishes vulnerability data (a mirror
# without the VulnerabilityInfo resource, as on the development machines here): that case exits 3 with a
# NOT CHECKED line instead of passing silently. Called by ./test.sh after the build's restore.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
dotnet list "${1:-CovidServerless.sln}" package --vulnerable --include-transitive --format json >"$report" 2>&1 || status=$?
python3 - "$report" "$status" <<'PY'
import json, sys, urllib.request
path, status = sys.argv[1], int(sys.argv[2])
text = open(path).read()
try:
    report = json.loads(text[text.index("{"):])
except ValueError:
    print(f"check-vulnerable.sh: FAILED: could not read the vulnerability report (exit {status}):\n{text}", file=sys.stderr)
    sys.exit(1)
problems = report.get("problems", [])
findings = []
for project in report.get("projects", []):
    for framework in project.get("frameworks", []):
        for kind in ("topLevelPackages", "transitivePackages"):
            for package in framework.get(kind, []):
                for v in package.get("vulnerabilities", []):
                    findings.append(f"{project['path']}: {package['id']} {package.get('resolvedVersion')} {v.get('severity')} {v.get('advisoryurl')}")
for f in findings:
    print("  vulnerable:", f, file=sys.stderr)
for p in problems:
    print(f"  problem ({p.get('level')}): {p.get('text')}", file=sys.stderr)
if problems or status != 0:
    print(f"check-vulnerable.sh: FAILED: the vulnerability data could not be checked (exit {status}; is the NuGet feed reachable?)", file=sys.stderr)
    sys.exit(1)
if findings:
    print(f"check-vulnerable.sh: FAILED: {len(findings)} vulnerable package(s)", file=sys.stderr)
    sys.exit(1)

def offers_vulnerability_data(source):
    try:
        with urllib.request.urlopen(source, timeout=30) as response:
            index = json.load(response)
    except Exception as e:  # unreachable or not a v3 feed
        print(f"  {source}: {e}", file=sys.stderr)
        return False
    return any(r.get("@type", "").startswith("VulnerabilityInfo") for r in index.get("resources", []))

sources = report.get("sources", [])
if not any(offers_vulnerability_data(s) for s in sources):
    print(f"check-vulnerable.sh: NOT CHECKED: no package source offers vulnerability data ({', '.join(sources)} has no "
          "VulnerabilityInfo resource), so 'no vulnerable packages' means nothing here", file=sys.stderr)
    sys.exit(3)
print(f"check-vulnerable.sh: no known vulnerable packages in {len(report.get('projects', []))} projects (sources: {', '.join(report.get('sources', []))})")
PY
