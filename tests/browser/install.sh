#!/usr/bin/env bash
# Install the browser-test driver: npm playwright-core 1.65.1 (Apache-2.0), exactly as
# package-lock.json pins it, into tests/browser/node_modules/. It drives Debian's chromium
# (scripts/install-test-deps installs it); playwright's own browser downloads are never used.
# Idempotent: does nothing when that version is there. Needs node and npm; without them it
# says so and exits non-zero, so that scripts/test stops instead of skipping silently.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "browser/install.sh: error: node and npm are needed (apt-get install nodejs npm)" >&2
    exit 1
fi
installed=$(node -p "require('./node_modules/playwright-core/package.json').version" 2>/dev/null || true)
if [ "$installed" = "1.65.1" ]; then
    echo "browser/install.sh: playwright-core $installed already installed"
    exit 0
fi
echo "browser/install.sh: npm ci (playwright-core 1.65.1)"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
node -e "require('playwright-core')" >/dev/null
echo "browser/install.sh: done"
