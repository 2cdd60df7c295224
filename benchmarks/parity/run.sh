#!/usr/bin/env bash
# PyTorch parity of minibatch's optimizers (SGD with momentum/dampening/Nesterov/weight
# decay, Adagrad, RMSprop, Adam, AdamW): float64, 100 steps, target max |Δθ| <= 1e-10.
#
#   benchmarks/parity/run.sh
#
# Creates benchmarks/parity/.venv (git-ignored) with torch from PyPI on first use (a large
# download: PyPI's Linux wheel brings the CUDA libraries along; the CPU is all it uses here),
# builds parity.cpp with g++ into benchmarks/parity/build/, and prints the table. Not part
# of CI's unit tests. Exits non-zero when a difference exceeds the target.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
venv="$here/.venv"

if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import torch" 2>/dev/null; then
  "$venv/bin/pip" install torch
fi

mkdir -p "$here/build"
"${CXX:-g++}" -std=c++20 -O1 -Wall -Wextra -Wpedantic -I"$root/include" -I/usr/include/eigen3 \
  "$here/parity.cpp" -o "$here/build/parity"
"$venv/bin/python" "$here/parity.py" "$here/build/parity"
