#!/usr/bin/env bash
# Run the test suite. pytest exits 5 when it collects no tests; that is not a failure.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "no tests collected"
  exit 0
fi
exit "$rc"
