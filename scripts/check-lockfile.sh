#!/usr/bin/env bash
# Fails when package-lock.json is out of sync with package.json or lacks any platform's optional
# binaries, the two ways `npm ci` on a fresh clone refuses it. Fix with `npm install --package-lock-only`.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! out=$(npm ci --dry-run --ignore-scripts --no-audit --no-fund 2>&1); then
  echo "$out" >&2
  echo "package-lock.json is out of sync: run 'npm install --package-lock-only' and commit it" >&2
  exit 1
fi
