#!/usr/bin/env bash
# Create .venv and install renvoi with its test extras.
#   bash scripts/setup.sh            # what the chat needs
#   bash scripts/setup.sh --browser  # also Debian's Chromium, for the browser tests
# torch is installed first with an exact pin: on this kind of machine that
# takes the local CPU wheel, whereas a bare `torch` pulls several GB of CUDA.
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
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "renvoi installed in $(pwd)/.venv"
