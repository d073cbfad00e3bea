#!/usr/bin/env bash
# Refresh requirements.lock from pyproject.toml's ranges (pip-tools, with hashes).
# Refreshing changes the versions CI installs: run `renvoi eval` on every corpus
# afterwards and re-set eval/thresholds.toml if the figures move.
#   bash scripts/lock.sh            # keep current pins where the ranges allow (after adding a dependency)
#   bash scripts/lock.sh --upgrade  # newest versions the ranges allow
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${PIP_TOOLS_VENV:-.venv-tools}
[ -x "$tools/bin/pip-compile" ] || { python3 -m venv "$tools" && "$tools/bin/pip" install --quiet pip-tools; }
"$tools/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --no-emit-index-url --no-emit-find-links \
  --extra test --strip-extras "$@" -o requirements.lock pyproject.toml
