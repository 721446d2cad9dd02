#!/bin/sh
# fuzz.sh [seconds]: builds fuzz_stream (clang++, libFuzzer + ASan + UBSan) in build/firmware-fuzz
# and fuzzes the stream parser and decoders for `seconds` (default 60), starting from the kept
# corpus firmware/test/fuzz_corpus (read only; new finds go to build/firmware-fuzz/corpus).
# A crash leaves its input in build/firmware-fuzz/artifacts/ and fails the script.
# To keep new finds: build/firmware-fuzz/fuzz_stream -merge=1 firmware/test/fuzz_corpus build/firmware-fuzz/corpus
set -eu
seconds=${1:-60}
root=$(cd "$(dirname "$0")/../.." && pwd)
build=$root/build/firmware-fuzz
cmake -S "$root/firmware" -B "$build" -DTFT_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j2 --target fuzz_stream >/dev/null
mkdir -p "$build/corpus" "$build/artifacts"
"$build/fuzz_stream" -max_total_time="$seconds" -max_len=4096 -timeout=5 -rss_limit_mb=1024 \
  -print_final_stats=1 -artifact_prefix="$build/artifacts/" \
  "$build/corpus" "$root/firmware/test/fuzz_corpus" 2>&1 |
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|==[0-9]+==|SUMMARY|artifact_prefix|Test unit written|INFO: (seed|Loaded))' || true
# The pipe hides the fuzzer's status: a crash is a file in artifacts/.
if ls "$build/artifacts"/crash-* "$build/artifacts"/leak-* "$build/artifacts"/timeout-* "$build/artifacts"/oom-* \
    >/dev/null 2>&1; then
  echo "fuzz_stream: FAILED, inputs in $build/artifacts/"
  exit 1
fi
echo "fuzz_stream: no crash in ${seconds} s"
