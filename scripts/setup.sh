#!/usr/bin/env bash
# Installs fer-desktop from this checkout on Debian/Ubuntu (or any Linux with Python 3.10+):
# Qt's system libraries (only those missing), then the package, editable, with torch pinned by
# constraints.txt. `--test` adds the test dependencies.
#
# Where it installs: into the active virtual environment or conda env when there is one; otherwise
# into the project's own `.venv` (made here, or reused), so the system's Python is never changed:
# Debian's and Ubuntu's refuse it anyway (PEP 668). Either way `.venv/bin/` then holds the commands
# (a link to the active environment, in the first case), which is what the README runs.
set -euo pipefail
cd "$(dirname "$0")/.."

sudo=$([ "$(id -u)" -eq 0 ] && echo "" || echo "sudo")
apt_install() {
    echo "installing with apt: $*"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

qt_libs=(libegl1 libgl1 libfontconfig1 libdbus-1-3 libxkbcommon0 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
         libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0 libxcb-xkb1)
has_apt=$(command -v dpkg >/dev/null && command -v apt-get >/dev/null && echo 1 || echo "")
if [ -n "$has_apt" ]; then
    missing=()
    for lib in "${qt_libs[@]}"; do
        dpkg -s "$lib" >/dev/null 2>&1 || missing+=("$lib")
    done
    if ((${#missing[@]})); then apt_install "${missing[@]}"; fi
fi

real_dir() { (cd "$1" 2>/dev/null && pwd -P) || echo "$1"; }
active_env="${VIRTUAL_ENV:-${CONDA_PREFIX:-}}"
if [ -n "$active_env" ]; then
    if [ -d .venv ] && [ ! -L .venv ] && [ "$(real_dir .venv)" != "$(real_dir "$active_env")" ]; then
        echo "setup.sh: .venv/ holds an environment other than the active $active_env; deactivate that to install into .venv/, or remove .venv/ to install into it." >&2
        exit 2
    fi
    if [ -L .venv ] || [ ! -e .venv ]; then ln -sfn "$active_env" .venv; fi
else
    [ -L .venv ] && [ ! -x .venv/bin/python ] && rm .venv  # a link to an environment that is gone
    if [ ! -x .venv/bin/python ]; then
        if ! command -v python3 >/dev/null; then
            echo "setup.sh: no python3 found; install Python 3.10 or newer (on Debian/Ubuntu: apt-get install python3)." >&2
            exit 2
        fi
        if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))'; then
            echo "setup.sh: $(python3 --version) is too old; fer-desktop needs Python 3.10 or newer." >&2
            exit 2
        fi
        # Debian and Ubuntu ship venv and ensurepip apart from python3
        if ! python3 -c 'import ensurepip, venv' 2>/dev/null && [ -n "$has_apt" ]; then
            apt_install "python3-venv" "python3.$(python3 -c 'import sys; print(sys.version_info[1])')-venv"
        fi
        echo "making the project's virtual environment in .venv/ with $(command -v python3)"
        python3 -m venv .venv
    fi
fi

extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
.venv/bin/python -m pip install -q -c constraints.txt -e ".${extras}"
echo "installed into $(real_dir .venv); run .venv/bin/fer-desktop"
