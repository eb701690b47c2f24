#!/usr/bin/env bash
# Install the third-party SMPP peer of tests/interop_smpp/: node smpp 0.5.1 (farhadi/node-smpp,
# MIT) from the npm registry, exactly as package-lock.json pins it, into
# tests/interop_smpp/node/node_modules/. Idempotent: does nothing when that version is there.
# Needs node and npm (Debian: apt-get install nodejs npm); without them it says so and exits
# non-zero, so that scripts/test stops instead of skipping the interop tests silently.
set -euo pipefail
cd "$(dirname "$0")/node"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "interop_smpp/install.sh: error: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi
installed=$(node -p "require('./node_modules/smpp/package.json').version" 2>/dev/null || true)
if [ "$installed" = "0.5.1" ]; then
    echo "interop_smpp/install.sh: node smpp $installed already installed"
    exit 0
fi
echo "interop_smpp/install.sh: npm ci (node smpp 0.5.1)"
npm ci --no-audit --no-fund --loglevel=error
node -e "require('smpp')" >/dev/null
echo "interop_smpp/install.sh: done"
