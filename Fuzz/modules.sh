# Sourced by run.sh and make-corpus.sh: compiles the SmallFiles, SWIM, Crypto, Wire and Licensing modules straight
# from Sources/ with swiftc (SwiftPM cannot build a libFuzzer target: its executables want a main).
#   build_modules OUTDIR [extra swiftc flags...]
# leaves OUTDIR/{SmallFiles,SWIM,Crypto,Wire,Licensing}.o and their .swiftmodule files. One package
# name for all, as SwiftPM gives them: SmallFiles' API is `package`.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PATH="/opt/swift/usr/bin:$PATH"

build_modules() {
    local out="$1"; shift
    mkdir -p "$out"
    local module
    for module in SmallFiles SWIM Crypto Wire Licensing; do
        swiftc -swift-version 6 -parse-as-library -wmo -O -g -package-name LicenseMesh "$@" \
            -module-name "$module" -emit-module -emit-module-path "$out/$module.swiftmodule" \
            -I "$out" -I "$ROOT/Sources/CCrypto" \
            -c "$ROOT"/Sources/"$module"/*.swift -o "$out/$module.o"
    done
}
