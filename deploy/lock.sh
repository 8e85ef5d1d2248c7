#!/usr/bin/env bash
# Regenerate deploy/requirements.lock: every package the container image installs (the runtime
# dependencies of pyproject.toml, their dependencies, and what building the project needs),
# each pinned to one version with the hashes of its files. Pins already in the lock are kept;
# `deploy/lock.sh --upgrade` (or `--upgrade-package NAME`) moves them to the newest release.
# Run it after changing `dependencies` in pyproject.toml: tests/deploy/test_image.py fails
# until the lock satisfies them. Needs the dev install (./deploy/install.sh) and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
# Markers (python_version, ...) are resolved for the Python that compiles: the image's.
IMAGE_PYTHON="$(sed -n 's/^FROM python:\([0-9]*\.[0-9]*\).*/\1/p' deploy/Dockerfile)"
if [ "$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')" != "$IMAGE_PYTHON" ]; then
    echo "deploy/lock.sh: the image runs Python $IMAGE_PYTHON; make .venv with it" \
         "(rm -rf .venv; PYTHON=python$IMAGE_PYTHON ./deploy/install.sh)" >&2
    exit 1
fi
# Only PyPI's files: a local wheel directory would put its own hashes in the lock.
env -u PIP_FIND_LINKS .venv/bin/pip-compile --quiet --generate-hashes --allow-unsafe \
    --strip-extras --build-deps-for=wheel --no-emit-index-url --no-emit-find-links \
    --output-file=deploy/requirements.lock "$@" pyproject.toml
