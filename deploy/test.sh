#!/usr/bin/env bash
# Install everything, then run the whole test suite: lint, types and pytest.
# Starts a local Kafka broker (deploy/kafka.sh) unless KAFKA_BOOTSTRAP_SERVERS is set,
# and stops it afterwards. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install.sh
# The browser test of /docs (tests/api/test_docs_offline.py) drives Debian's chromium through
# Playwright, which downloads no browser of its own here.
if ! command -v chromium >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1 \
        && [ "$(id -u)" = 0 ]; then
    echo "== installing chromium (apt-get)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy domain services projections contract benchmarks
echo "== import contracts" && .venv/bin/lint-imports --no-cache

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    KAFKA_RUN_DIR="$(mktemp -d /tmp/pdl-test-kafka.XXXXXX)"
    export KAFKA_RUN_DIR
    export KAFKA_PORT="${KAFKA_PORT:-19092}"
    export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
    trap './deploy/kafka.sh stop || true; rm -rf "$KAFKA_RUN_DIR"' EXIT
    echo "== starting Kafka in $KAFKA_RUN_DIR"
    KAFKA_BOOTSTRAP_SERVERS="$(./deploy/kafka.sh start | tail -n 1)"
    export KAFKA_BOOTSTRAP_SERVERS
fi

echo "== pytest (Kafka at $KAFKA_BOOTSTRAP_SERVERS)"
.venv/bin/pytest "$@"
