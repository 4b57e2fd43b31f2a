#!/usr/bin/env bash
# The main job: installs what is missing, starts Azurite (data in .azurite/) and the local pipeline host
# (blob triggers + results API on http://127.0.0.1:7071) in the foreground. Ctrl-C stops both.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"

scripts/ensure-azurite.sh

echo "run.sh: building the local host ..."
dotnet build src/CovidServerless.LocalHost -c Release -nologo -v q -clp:ErrorsOnly

for port in 10000 10001 10002 7071; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "run.sh: port $port is already in use (another Azurite or ./run.sh?); stop it first." >&2
    exit 1
  fi
done

mkdir -p .azurite
# Azurite and the host run in their own sessions, so Ctrl-C reaches only this script, which then stops the
# host first (it still needs storage while it shuts down) and Azurite last.
setsid node_modules/.bin/azurite --silent --location .azurite --skipApiVersionCheck --disableTelemetry \
  --blobHost 127.0.0.1 --queueHost 127.0.0.1 --tableHost 127.0.0.1 >.azurite/azurite.log 2>&1 &
azurite_pid=$!
trap 'kill "$azurite_pid" 2>/dev/null || true' EXIT
for port in 10000 10001 10002; do
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$azurite_pid" 2>/dev/null || { echo "run.sh: Azurite exited; see .azurite/azurite.log" >&2; exit 1; }
    sleep 0.1
  done
done
echo "run.sh: Azurite is up (blob 10000, queue 10001, table 10002; data in .azurite/)."

export AzureWebJobsStorage="${AzureWebJobsStorage:-UseDevelopmentStorage=true}"
export Models__ManifestPath="${Models__ManifestPath:-$root/models/manifest.json}"
echo "run.sh: starting the pipeline on http://127.0.0.1:7071 (Ctrl-C stops it) ..."
echo "run.sh: open http://127.0.0.1:7071/ in a browser to upload scans and read their results."
setsid dotnet src/CovidServerless.LocalHost/bin/Release/net10.0/linux-x64/CovidServerless.LocalHost.dll &
host_pid=$!
stop() {
  kill "$host_pid" 2>/dev/null || true
  wait "$host_pid" 2>/dev/null || true
  kill "$azurite_pid" 2>/dev/null || true
  echo "run.sh: stopped."
}
trap stop EXIT
trap 'exit 130' INT TERM
wait "$host_pid"
