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
# The int8 ONNX export of the bundled model embeds questions ~3x and index
# builds ~4x faster than the engine (benchmarks/README.md); making it takes
# about a minute, once, into the model cache ($RENVOI_CACHE).
echo "preparing the embedding model (once, about a minute)"
.venv/bin/python -c "from rag.config import Config; from rag.embed import ensure_onnx_model; ensure_onnx_model(Config().cache_dir)"
echo "renvoi installed in $(pwd)/.venv"
