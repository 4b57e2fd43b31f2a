#!/bin/sh
# azd prepackage hook (also usable by hand): publishes the scoring worker to artifacts/worker,
# the folder infra/worker.Dockerfile copies. Same command the tests use.
set -eu
repo_root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$repo_root"
rm -rf artifacts/worker
dotnet publish src/CovidServerless.Worker -c Release -r linux-x64 -p:OnnxRuntimeGpu=true -o artifacts/worker
test -f artifacts/worker/CovidServerless.Worker.dll
# The image bakes the models in; fail here rather than in the middle of a remote image build.
test -f models/manifest.json || { echo "publish-worker: models/manifest.json is missing" >&2; exit 1; }
