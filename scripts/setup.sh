#!/usr/bin/env bash
# Installs fer-desktop on a fresh Debian/Ubuntu machine: Qt's system libraries
# (only those missing), then the package itself with torch pinned by
# constraints.txt. `--test` adds the test dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

qt_libs=(libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
         libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1)
if command -v dpkg >/dev/null && command -v apt-get >/dev/null; then
    missing=()
    for lib in "${qt_libs[@]}"; do
        dpkg -s "$lib" >/dev/null 2>&1 || missing+=("$lib")
    done
    if ((${#missing[@]})); then
        sudo=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
        echo "installing Qt's system libraries: ${missing[*]}"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
fi

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
python3 -m pip install -q -c constraints.txt -e ".${extras}"
