#!/usr/bin/env bash
# Builds a libFuzzer target with AddressSanitizer and fuzzes it for SECONDS (default 60).
# Usage: Fuzz/run.sh [SECONDS] [wire|node] [extra libFuzzer flags...]
#   wire  (default) the decoder and the sealed envelope, fed raw bytes (FuzzWire.swift)
#   node  a licensed three-node cluster fed well-formed, sealed messages with any values (FuzzNode.swift)
# The seed corpus Fuzz/corpus is read, never written (wire only): new inputs go to
# .build/fuzz/<target>/corpus and crashes to .build/fuzz/<target>/crash-*. Exit status is non-zero
# when a crash was found.
set -euo pipefail
source "$(dirname "$0")/modules.sh"
seconds="${1:-60}"; shift || true
target="${1:-wire}"; shift || true
# The wire target reads through unsafe buffers: AddressSanitizer watches them. The node target is
# safe Swift throughout (traps are what it looks for), so it runs without ASan, several times faster.
case "$target" in
    wire) source_file="FuzzWire.swift"; seeds=("$ROOT/Fuzz/corpus"); sanitize="fuzzer,address" ;;
    node) source_file="FuzzNode.swift"; seeds=(); sanitize="fuzzer" ;;
    *) echo "unknown target '$target': use wire or node" >&2; exit 2 ;;
esac
out="$ROOT/.build/fuzz"
modules="$out/modules-${sanitize/,/-}"
build_modules "$modules" -sanitize="$sanitize"
mkdir -p "$out/$target/corpus"
swiftc -swift-version 6 -parse-as-library -O -g -sanitize="$sanitize" -use-ld=lld \
    -I "$modules" -I "$ROOT/Sources/CCrypto" \
    "$ROOT/Fuzz/$source_file" "$modules"/{SmallFiles,SWIM,Crypto,Wire,Licensing}.o -lcrypto -o "$out/$target/fuzz-$target"
cd "$out/$target"
# -max_len: sealed push-pull seeds run to a few KB; 16 KB leaves room to grow them.
exec "$out/$target/fuzz-$target" -max_total_time="$seconds" -max_len=16384 -print_final_stats=1 \
    -artifact_prefix="$out/$target/" "$@" "$out/$target/corpus" "${seeds[@]}"
