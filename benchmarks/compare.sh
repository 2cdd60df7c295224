#!/usr/bin/env bash
# Side-by-side CPU benchmark of minibatch and PyTorch (issue 6), appended to benchmarks/RESULTS.md.
#
#   benchmarks/compare.sh [compare_pytorch.py options, e.g. --rounds 5 --threads 1 2]
#   benchmarks/compare.sh --no-torch --skip-epochs   # ours alone at 1 and 2 threads
#
# Builds bench_cpu (Release, -march=native, OpenMP when found) in build/bench, reuses the
# PyTorch venv of benchmarks/parity/.venv when it has torch, else creates
# benchmarks/.venv (git-ignored) with the current CPU wheel from PyPI, and runs
# compare_pytorch.py. Takes about 10 minutes on 2 cores.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

python=""
case " $* " in
  *" --no-torch "*) python=python3 ;;  # ours alone: no PyTorch needed
  *)
    for venv in "$here/parity/.venv" "$here/.venv"; do
      if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import torch" 2>/dev/null; then python="$venv/bin/python"; break; fi
    done ;;
esac
if [ -z "$python" ]; then
  python3 -m venv "$here/.venv"
  "$here/.venv/bin/pip" install torch
  python="$here/.venv/bin/python"
fi

cmake -S "$root" -B "$root/build/bench" -DCMAKE_BUILD_TYPE=Release -DMINIBATCH_BUILD_TESTS=OFF \
  -DMINIBATCH_BUILD_EXAMPLES=OFF -DMINIBATCH_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$root/build/bench" --target bench_cpu -j"$(nproc)"

"$python" "$here/compare_pytorch.py" --ours "${BENCH_CPU:-$root/build/bench/benchmarks/bench_cpu}" \
  --results "$here/RESULTS.md" "$@"
