#!/usr/bin/env bash
# What CI runs: formatting, lint, typecheck, then the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx prettier --check .
npx eslint .
npx tsc -p tsconfig.json --noEmit
bash scripts/test.sh
