#!/usr/bin/env bash
# Fuzzes the three codec cores (native/*_codec.cc) with libFuzzer + ASan + UBSan.
#
#   scripts/fuzz.sh [SECONDS]      (default: $KSOCK_FUZZ_SECONDS, else 60 per harness)
#
# Installs clang with apt-get when it is missing (Debian: clang, plus
# libclang-rt-14-dev when the fuzzer runtime is absent), builds
# fuzz/{cmsg,sockaddr,optstruct}_fuzz.cc against the cores only (no Node) into
# build-fuzz/, runs each for SECONDS with a corpus under build-fuzz/corpus/
# (seeded from fuzz/seeds/ when present), and exits non-zero on any crash,
# printing it. The last line is "fuzz: N passed, M failed" (one count per
# harness). KSOCK_FUZZ_REPORT=FILE also writes those counts as a vitest-shaped
# JSON report, for scripts/summary.mjs (.ci/run).
set -uo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-${KSOCK_FUZZ_SECONDS:-60}}"
case "$SECONDS_EACH" in ''|*[!0-9]*) echo "usage: $0 [SECONDS]"; exit 2 ;; esac
OUT=build-fuzz
HARNESSES=(cmsg sockaddr optstruct)
declare -A CORE=([cmsg]="native/cmsg_codec.cc native/bsdcred_codec.cc" [sockaddr]=native/sockaddr_codec.cc [optstruct]="native/optstruct_codec.cc native/tcpinfo_codec.cc native/bsdcred_codec.cc")

summary() {
  echo "fuzz: $1 passed, $2 failed"
  if [ -n "${KSOCK_FUZZ_REPORT:-}" ]; then
    mkdir -p "$(dirname "$KSOCK_FUZZ_REPORT")"
    printf '{"numPassedTests":%d,"numFailedTests":%d,"numPendingTests":0}\n' "$1" "$2" >"$KSOCK_FUZZ_REPORT"
  fi
}

find_clang() {
  CXX=""
  for c in clang++ clang++-19 clang++-18 clang++-17 clang++-16 clang++-15 clang++-14; do
    if command -v "$c" >/dev/null 2>&1; then CXX="$(command -v "$c")"; return 0; fi
  done
  return 1
}

# Can this clang link a libFuzzer binary?
fuzzer_links() {
  mkdir -p "$OUT"
  printf '#include <cstdint>\n#include <cstddef>\nextern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }\n' >"$OUT/probe.cc"
  "$CXX" -fsanitize=fuzzer,address,undefined "$OUT/probe.cc" -o "$OUT/probe" >"$OUT/probe.log" 2>&1
}

apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then echo "fuzz: no apt-get to install $*"; return 1; fi
  if [ "$(id -u)" != 0 ]; then echo "fuzz: installing $* needs root"; return 1; fi
  echo "fuzz: apt-get install $*"
  { DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" ||
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }; } \
    >"$OUT/apt.log" 2>&1 || { tail -5 "$OUT/apt.log"; return 1; }
}

mkdir -p "$OUT"
if ! find_clang; then
  apt_install clang || true
  if ! find_clang; then
    echo "fuzz: clang is not installed and could not be installed (see above); no fuzzing done"
    summary 0 "${#HARNESSES[@]}"
    exit 1
  fi
fi
if ! fuzzer_links; then
  ver="$("$CXX" -dumpversion | cut -d. -f1)"
  apt_install "libclang-rt-$ver-dev" || true
  if ! fuzzer_links; then
    echo "fuzz: $CXX cannot link -fsanitize=fuzzer (libFuzzer runtime missing):"
    tail -5 "$OUT/probe.log"
    summary 0 "${#HARNESSES[@]}"
    exit 1
  fi
fi
echo "fuzz: $("$CXX" --version | head -1); ${SECONDS_EACH}s per harness"

FLAGS=(-std=c++17 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer -Wall -Wextra -Inative)
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}"

passed=0
failed=0
for h in "${HARNESSES[@]}"; do
  bin="$OUT/${h}_fuzz"
  echo "=== fuzz: $h"
  if ! "$CXX" "${FLAGS[@]}" "fuzz/${h}_fuzz.cc" ${CORE[$h]} -o "$bin" >"$OUT/$h.build.log" 2>&1; then
    cat "$OUT/$h.build.log"
    echo "fuzz: $h: build FAILED"
    failed=$((failed + 1))
    continue
  fi
  grep -E 'warning:' "$OUT/$h.build.log" || true
  corpus="$OUT/corpus/$h"
  mkdir -p "$corpus" "$OUT/crashes/$h"
  seeds=()
  [ -d "fuzz/seeds/$h" ] && seeds=("fuzz/seeds/$h")
  log="$OUT/$h.log"
  "$bin" -max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -print_final_stats=1 -artifact_prefix="$OUT/crashes/$h/" "$corpus" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "fuzz: $h: ok ($(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}') runs, corpus $(ls "$corpus" | wc -l) inputs)"
    passed=$((passed + 1))
  else
    echo "fuzz: $h: CRASH (exit $rc); log: $log; input(s): $(ls "$OUT/crashes/$h" | tr '\n' ' ')"
    # The report: from the sanitizer/libFuzzer banner to the reproducer line.
    awk '/==[0-9]+==|runtime error|deadly signal|ERROR: libFuzzer/ {p=1} p' "$log" | head -80
    failed=$((failed + 1))
  fi
done
summary "$passed" "$failed"
[ "$failed" -eq 0 ]
