#!/usr/bin/env bash
# Installs the pinned Azurite (package-lock.json) into node_modules/ unless it is already there.
# Sourced or run from the repository root by run.sh, test.sh and covidscan.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ ! -x node_modules/.bin/azurite ]; then
  echo "installing Azurite (npm ci) ..." >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
