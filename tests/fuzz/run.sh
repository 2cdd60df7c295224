#!/usr/bin/env bash
# Builds the fuzz targets (every tests/fuzz/fuzz_*.cpp, or those named) with clang
# (libFuzzer + AddressSanitizer + UBSan) and runs each for SECONDS on a fresh copy of the
# seed corpus (tests/fuzz/make_corpus.py) plus the inputs kept in tests/fuzz/regressions/
# (each input a fuzzer found, kept once fixed). Exits non-zero when a target finds a
# crash, a leak, an allocation above -malloc_limit_mb, RSS above -rss_limit_mb or an
# input slower than -timeout; the input is saved under $FUZZ_OUT/artifacts/.
#
#   tests/fuzz/run.sh 60                        # what CI runs: 60 s per target
#   nice -n 19 tests/fuzz/run.sh 3600 fuzz_idx  # a long run of one target
#
# Environment: FUZZ_OUT (default build/fuzz), CXX_FUZZ (default clang++-14, else clang++),
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
cxx=${CXX_FUZZ:-$(command -v clang++-14 || command -v clang++)}
rm -rf "$out/artifacts"
mkdir -p "$out/artifacts"
if ! command -v llvm-symbolizer >/dev/null && command -v llvm-symbolizer-14 >/dev/null; then
  ASAN_SYMBOLIZER_PATH=$(command -v llvm-symbolizer-14)
  export ASAN_SYMBOLIZER_PATH
fi

status=0
for target in "${targets[@]}"; do
  echo "== $target: build with $cxx"
  "$cxx" -std=c++20 -g -O1 -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -I"$root/include" "$here/$target.cpp" -lz -o "$out/$target"

  corpus="$out/corpus/$target"
  rm -rf "$corpus"
  python3 "$here/make_corpus.py" "$corpus" >/dev/null
  if [[ -d "$here/regressions" ]]; then cp "$here/regressions/"* "$corpus/" 2>/dev/null || true; fi

  echo "== $target: fuzz for $seconds s"
  log="$out/$target.log"
  rc=0
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0} \
    "$out/$target" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -rss_limit_mb=512 -malloc_limit_mb=256 -dict="$here/idx.dict" \
    -artifact_prefix="$out/artifacts/$target-" -print_final_stats=1 ${FUZZ_ARGS:-} \
    "$corpus" >"$log" 2>&1 || rc=$?
  execs=$(cat "$log" "$out"/fuzz-*.log 2>/dev/null | grep -o 'stat::number_of_executed_units: *[0-9]*' |
            awk '{s += $2} END {print s + 0}' || true)
  if [[ $rc -ne 0 ]]; then
    echo "== $target: FAILED (exit $rc) after $execs executions; last lines of $log:"
    tail -n 40 "$log"
    for input in "$out/artifacts/$target-"*; do
      [[ -f $input ]] || continue
      echo "== input $input (reproduce: $out/$target $input):"
      od -An -tx1 "$input" | head -n 16
    done
    status=1
  else
    echo "== $target: $execs executions, no finding ($(grep -o 'cov: [0-9]*' "$log" | tail -n 1))"
  fi
done
exit $status
