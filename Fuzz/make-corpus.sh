#!/usr/bin/env bash
# Regenerates Fuzz/corpus (seeded, so the same files every time). Usage: Fuzz/make-corpus.sh
set -euo pipefail
source "$(dirname "$0")/modules.sh"
out="$ROOT/.build/fuzz-corpus-tool"
build_modules "$out"
swiftc -swift-version 6 -parse-as-library -O -I "$out" -I "$ROOT/Sources/CCrypto" \
    "$ROOT/Fuzz/GenerateCorpus.swift" "$ROOT/Tests/WireTests/RandomMessages.swift" \
    "$out"/{SmallFiles,SWIM,Crypto,Wire}.o -lcrypto -o "$out/generate-corpus"
rm -rf "$ROOT/Fuzz/corpus"
"$out/generate-corpus" "$ROOT/Fuzz/corpus"
