#!/usr/bin/env bash
# Builds the fuzz targets (every tests/fuzz/fuzz_*.cpp, or those named) with clang
# (libFuzzer + AddressSanitizer + UBSan) and runs each for SECONDS on a fresh copy of its
# seed corpus plus the inputs kept in tests/fuzz/regressions/ (each input a fuzzer found,
# kept once fixed), with its dictionary. Exits non-zero when a target finds a crash, a
# leak, an allocation above -malloc_limit_mb, RSS above -rss_limit_mb or an input slower
# than -timeout; the input is saved under $FUZZ_OUT/artifacts/.
#
# Seeds and dictionary by what a target reads:
#   fuzz_checkpoint*  real checkpoints written by the library (checkpoint_seeds.cpp, built
#                     here with g++), checkpoint.dict
#   the others (IDX)  tests/fuzz/make_corpus.py, idx.dict
#
# Up to FUZZ_JOBS targets run at once (default: one per core), each for SECONDS of wall time,
# so on 2 cores the 3 targets take about 2 x SECONDS plus the builds.
#
#   tests/fuzz/run.sh 60                        # what CI runs: 60 s per target
#   nice -n 19 tests/fuzz/run.sh 3600 fuzz_idx  # a long run of one target
#
# Environment: FUZZ_OUT (default build/fuzz), CXX_FUZZ (default clang++-14, else clang++),
# CXX_SEEDS (the seed generators' compiler, default g++), FUZZ_JOBS (targets at once),
# FUZZ_ARGS (extra libFuzzer flags, e.g. "-jobs=2 -workers=2").
set -euo pipefail

seconds=${1:?usage: tests/fuzz/run.sh SECONDS [target...]}
shift
targets=("$@")
here=$(cd "$(dirname "$0")" && pwd)
if [[ ${#targets[@]} -eq 0 ]]; then  # every tests/fuzz/fuzz_*.cpp
  for source in "$here"/fuzz_*.cpp; do targets+=("$(basename "$source" .cpp)"); done
fi

root=$(cd "$here/../.." && pwd)
out=${FUZZ_OUT:-$root/build/fuzz}
mkdir -p "$out"
out=$(cd "$out" && pwd)  # absolute: each fuzzer runs in its own directory
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
cxx_seeds=${CXX_SEEDS:-$(command -v g++ || command -v c++)}
max_jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
rm -rf "$out/artifacts"
mkdir -p "$out/artifacts"
if ! command -v llvm-symbolizer >/dev/null && command -v llvm-symbolizer-14 >/dev/null; then
  ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer-14)
  export ASAN_SYMBOLIZER_PATH
fi

dictionary_of() {
  case $1 in
    fuzz_checkpoint*) echo "$here/checkpoint.dict" ;;
    *) echo "$here/idx.dict" ;;
  esac
}

# Writes the seed corpus of target $1 into the directory $2.
write_seeds() {
  case $1 in
    fuzz_checkpoint*)
      # The format is the C++ code's, so the library writes the seeds. Built with g++, as
      # the library's tests are (clang 14 does not compile the optimizers); no sanitizers.
      local eigen
      eigen=$(pkg-config --cflags eigen3 2>/dev/null || echo -I/usr/include/eigen3)
      # shellcheck disable=SC2086  # eigen is a list of flags
      "$cxx_seeds" -std=c++20 -O0 -I"$root/include" $eigen "$here/checkpoint_seeds.cpp" -lz -o "$out/$1.seeds"
      "$out/$1.seeds" "$2"
      ;;
    *) python3 "$here/make_corpus.py" "$2" ;;
  esac
}

# Builds and fuzzes one target; fails (under set -e) on a build error or a finding.
fuzz_target() {
  local target=$1
  local corpus="$out/corpus/$target" work="$out/work/$target" log="$out/$target.log"
  echo "== $target: build with $cxx"
  "$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$root/include" "$here/$target.cpp" -lz -o "$out/$target"

  rm -rf "$corpus" "$work"
  mkdir -p "$corpus" "$work"
  write_seeds "$target" "$corpus" >/dev/null
  if [[ -d "$here/regressions" ]]; then cp "$here/regressions/"* "$corpus/" 2>/dev/null || true; fi

  echo "== $target: fuzz for $seconds s"
  local rc=0
  # In its own directory: with -jobs, libFuzzer writes fuzz-N.log files to the current one.
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  (cd "$work" && ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
    "$out/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=512 -malloc_limit_mb=256 -dict="$(dictionary_of "$target")" \
    -artifact_prefix="$out/artifacts/$target-" -print_final_stats=1 ${FUZZ_ARGS:-} \
    "$corpus") >"$log" 2>&1 || rc=$?
  local execs
  execs=$(cat "$log" "$work"/fuzz-*.log 2>/dev/null | grep -o 'stat::number_of_executed_units: *[0-9]*' |
            awk '{s += $2} END {print s + 0}' || true)
  if [[ $rc -ne 0 ]]; then
    {  # one block, so that it does not interleave with the other targets' lines
      echo "== $target: FAILED (exit $rc) after $execs executions; last lines of $log:"
      tail -n 40 "$log"
      for input in "$out/artifacts/$target-"*; do
        [[ -f $input ]] || continue
        echo "== input $input (reproduce: $out/$target $input):"
        od -An -tx1 "$input" | head -n 16
      done
    } >"$out/$target.report"
    cat "$out/$target.report"
    return 1
  fi
  echo "== $target: $execs executions, no finding ($(grep -o 'cov: [0-9]*' "$log" | tail -n 1))"
}

trap 'kill $(jobs -p) 2>/dev/null || true' INT TERM
for target in "${targets[@]}"; do
  rm -f "$out/$target.ok"
  while [[ $(jobs -rp | wc -l) -ge $max_jobs ]]; do wait -n || true; done
  (fuzz_target "$target"; touch "$out/$target.ok") &
done
wait

status=0
for target in "${targets[@]}"; do
  [[ -f "$out/$target.ok" ]] || { echo "== $target: FAILED"; status=1; }
done
exit $status
