#!/usr/bin/env bash
# Create .venv and install renvoi with its test extras.
# torch is installed first with an exact pin: on this kind of machine that
# takes the local CPU wheel, whereas a bare `torch` pulls several GB of CUDA.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet "torch==2.13.0"
.venv/bin/python -m pip install --quiet -e ".[test]"
echo "renvoi installed in $(pwd)/.venv"
