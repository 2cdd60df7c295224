#!/usr/bin/env bash
# minibatch (bench_gpu) and PyTorch (torch_cuda.py: eager and CUDA graph) on the same GPU,
# interleaved in one run: per-step timings of MLP A, then of MLP B, then epochs of B, then
# each matrix product of both models' steps alone (where a step's time goes), each ours
# first, then PyTorch's. Writes JSON Lines and the Markdown table (gpu_table.py) for
# benchmarks/RESULTS.md into OUTDIR.
#
#   benchmarks/gpu/compare.sh [BENCH_GPU] [OUTDIR]
#       BENCH_GPU  default build/cuda/benchmarks/gpu/bench_gpu (bash .ci/gpu-check builds it)
#       OUTDIR     default build/cuda/compare
# Environment: PYTHON (default python3, the one with torch), MINIBATCH_BENCH_SECONDS (time
# limit of each PyTorch part, default 120).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bench=${1:-build/cuda/benchmarks/gpu/bench_gpu}
out=${2:-build/cuda/compare}
python=${PYTHON:-python3}
limit=${MINIBATCH_BENCH_SECONDS:-120}
mkdir -p "$out"
ours=$out/minibatch.jsonl
theirs=$out/pytorch.jsonl
: >"$ours"
: >"$theirs"

nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,memory.total --format=csv || true
for model in A B; do
  echo "== $model per step: minibatch"
  "$bench" --models "$model" --epoch-models "" --time-limit "$limit" | tee -a "$ours"
  echo "== $model per step: PyTorch"
  peak=(--no-peak)
  [[ $model == A ]] && peak=()
  "$python" "$here/torch_cuda.py" --models "$model" --epoch-models --time-limit "$limit" "${peak[@]}" \
    --out "$out/pytorch_$model.jsonl"
  cat "$out/pytorch_$model.jsonl" >>"$theirs"
done
echo "== B per epoch: minibatch"
"$bench" --models "" --epoch-models B --time-limit "$limit" | tee -a "$ours"
echo "== B per epoch: PyTorch"
"$python" "$here/torch_cuda.py" --models --epoch-models B --no-peak --no-graph-check --time-limit "$limit" \
  --out "$out/pytorch_epochs.jsonl"
cat "$out/pytorch_epochs.jsonl" >>"$theirs"
echo "== the steps' matrix products one by one: minibatch"
"$bench" --models "" --epoch-models "" --products A,B --time-limit "$limit" | tee -a "$ours"
echo "== the steps' matrix products one by one: PyTorch"
"$python" "$here/torch_cuda.py" --models --epoch-models --products A B --no-peak --no-graph-check \
  --time-limit "$limit" --out "$out/pytorch_products.jsonl"
cat "$out/pytorch_products.jsonl" >>"$theirs"

"$python" "$here/gpu_table.py" "$ours" "$theirs" --out "$out/gpu_table.md"
