# Shared by tests/run, tests/demo and tests/fuzz/run: packages and builds. Sourced, not run.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

say() { printf '\n== %s\n' "$*"; }

need_root() {
        if [ "$(id -u)" != 0 ]; then
                echo "$0: must run as root (it installs packages and boots containers)" >&2
                exit 1
        fi
}

ensure_packages() {
        local missing=()
        mapfile -t wanted < <(grep -v '^#' "$TOP/tests/packages")
        for p in "${wanted[@]}"; do
                dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
        done
        [ ${#missing[@]} -eq 0 ] && return 0
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y --no-install-recommends "${missing[@]}" ||
                { apt-get update && apt-get install -y --no-install-recommends "${missing[@]}"; }
}

# build DIR [meson options…]: configure once, then compile.
build() {
        local dir=$1; shift
        if [ ! -f "$TOP/$dir/build.ninja" ]; then
                meson setup "$TOP/$dir" "$TOP" "$@" >/dev/null
        fi
        ninja -C "$TOP/$dir" >/dev/null
}

# The fuzz targets' build (tests/fuzz/run fuzzes in it, tests/run tests it): clang, libFuzzer,
# ASan/UBSan.
fuzz_build() {
        CC=clang build build-fuzz -Dfuzz=true -Db_lundef=false
}
