#!/usr/bin/env bash
# Create .venv and install renvoi from the lock file, with its test extras.
#   bash scripts/setup.sh            # what the chat needs
#   bash scripts/setup.sh --browser  # also Debian's Chromium, for the browser tests
# Every package comes at the exact version and hash in requirements.lock, so a
# machine set up today gets what CI tested (scripts/lock.sh refreshes it). On
# this kind of machine `torch==2.13.0+cpu` is the local CPU wheel; a bare
# `torch` would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  echo "installing chromium (apt-get) for the browser tests"
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_ apt-get update -qq
  $sudo_ apt-get install -y -qq chromium >/dev/null
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --require-hashes -r requirements.lock 2> >(grep -v "is ignored: it is neither" >&2)
# renvoi itself, without resolving anything again (its dependencies are all in the lock).
.venv/bin/python -m pip install --quiet --no-deps --no-build-isolation -e . 2> >(grep -vE "is ignored: it is neither|BuildBackendWarning|editable_wheel|^\s*(!!|\*+|Please be careful|name as your package|with strategy)|^\s*$" >&2)
# The int8 ONNX export of the bundled model embeds every index and question
# (benchmarks/README.md); made once (about a minute) into the model cache
# ($RENVOI_CACHE, default ~/.cache/renvoi), which says so when it makes it.
.venv/bin/python -c "from rag.config import Config; from rag.embed import ensure_onnx_model; ensure_onnx_model(Config().cache_dir, announce=True)"
echo "renvoi installed in $(pwd)/.venv"
