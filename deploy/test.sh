#!/usr/bin/env bash
# Install everything, then run the whole test suite: lint, types and pytest.
# Starts a local Kafka broker (deploy/kafka.sh) unless KAFKA_BOOTSTRAP_SERVERS is set, and a
# local PostgreSQL (deploy/postgres.sh) unless PDL_TEST_POSTGRES_DSN is set, and stops them
# afterwards. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."
./deploy/install.sh
# The official AsyncAPI parser checks contract/asyncapi*.yaml (tests/kafka/test_asyncapi_parser.py):
# installed from contract/validate/package-lock.json, again only when the lock changed.
if command -v npm >/dev/null 2>&1 \
        && ! cmp -s contract/validate/package-lock.json contract/validate/node_modules/.pdl-lock; then
    echo "== npm ci (contract/validate: @asyncapi/parser)"
    npm ci --prefix contract/validate --no-audit --no-fund --ignore-scripts --loglevel=error
    cp contract/validate/package-lock.json contract/validate/node_modules/.pdl-lock
fi
# The browser tests (tests/ui, tests/api/test_docs_offline.py) drive Debian's chromium through
# Playwright, which downloads no browser of its own here; the README walkthrough test runs
# curl and jq.
missing=()
for tool in chromium jq curl; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ "${#missing[@]}" -gt 0 ] && command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "== installing ${missing[*]} (apt-get)"
    apt-get update -qq \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

echo "== ruff" && .venv/bin/ruff check .
echo "== mypy" && .venv/bin/mypy domain services projections contract benchmarks
echo "== import contracts" && .venv/bin/lint-imports --no-cache

# One trap for both servers: each is stopped (and its temp dir removed) only if this script
# started it.
started_kafka="" started_postgres=""
stop_servers() {
    if [ -n "$started_kafka" ]; then
        ./deploy/kafka.sh stop || true
        rm -rf "$KAFKA_RUN_DIR"
    fi
    if [ -n "$started_postgres" ]; then
        ./deploy/postgres.sh stop || true
        rm -rf "$PG_RUN_DIR"
    fi
}
trap stop_servers EXIT

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
    KAFKA_RUN_DIR="$(mktemp -d /tmp/pdl-test-kafka.XXXXXX)"
    export KAFKA_RUN_DIR
    export KAFKA_PORT="${KAFKA_PORT:-19092}"
    export KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-19093}"
    started_kafka=1
    echo "== starting Kafka in $KAFKA_RUN_DIR"
    KAFKA_BOOTSTRAP_SERVERS="$(./deploy/kafka.sh start | tail -n 1)"
    export KAFKA_BOOTSTRAP_SERVERS
fi

# A throwaway cluster: PG_FAST trades durability for speed (never in a benchmark).
if [ -z "${PDL_TEST_POSTGRES_DSN:-}" ]; then
    PG_RUN_DIR="$(mktemp -d /tmp/pdl-test-pg.XXXXXX)"
    export PG_RUN_DIR
    export PG_PORT="${PG_PORT:-15432}"
    export PG_FAST=1
    started_postgres=1
    echo "== starting PostgreSQL in $PG_RUN_DIR"
    PDL_TEST_POSTGRES_DSN="$(./deploy/postgres.sh start | tail -n 1)"
    export PDL_TEST_POSTGRES_DSN
fi

echo "== pytest (Kafka at $KAFKA_BOOTSTRAP_SERVERS, PostgreSQL at $PDL_TEST_POSTGRES_DSN)"
.venv/bin/pytest "$@"
