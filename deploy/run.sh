#!/usr/bin/env bash
# Install everything, then run the service on the embedded default (SQLite, no broker).
# Extra arguments go to `pdl serve`, e.g. ./deploy/run.sh --port 9000
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install.sh
exec .venv/bin/pdl serve "$@"
