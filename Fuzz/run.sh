#!/usr/bin/env bash
# Builds the Wire libFuzzer target with AddressSanitizer and fuzzes for SECONDS (default 60).
# Usage: Fuzz/run.sh [SECONDS] [extra libFuzzer flags...]
# The seed corpus Fuzz/corpus is read, never written: new inputs go to .build/fuzz/corpus and
# crashes to .build/fuzz/crash-*. Exit status is non-zero when a crash was found.
set -euo pipefail
source "$(dirname "$0")/modules.sh"
seconds="${1:-60}"; shift || true
out="$ROOT/.build/fuzz"
build_modules "$out/modules" -sanitize=fuzzer,address
swiftc -swift-version 6 -parse-as-library -O -g -sanitize=fuzzer,address -use-ld=lld \
    -I "$out/modules" -I "$ROOT/Sources/CCrypto" \
    "$ROOT/Fuzz/FuzzWire.swift" "$out/modules"/{SWIM,Crypto,Wire}.o -lcrypto -o "$out/fuzz-wire"
mkdir -p "$out/corpus"
cd "$out"
# -max_len: sealed push-pull seeds run to a few KB; 16 KB leaves room to grow them.
exec "$out/fuzz-wire" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$out/" "$@" "$out/corpus" "$ROOT/Fuzz/corpus"
