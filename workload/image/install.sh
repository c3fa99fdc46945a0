#!/bin/sh
# Install the workload as its image has it: a virtual environment at PREFIX holding the `kratos` package
# and every dependency pinned in constraints.txt, a `kratos` link on the PATH, and the config directory
# the charm pushes kratos.yaml to. workload/Dockerfile and workload/rockcraft.yaml both run it.
#
# Usage: install.sh [SOURCE_DIR [PREFIX]]
#   SOURCE_DIR    the workload directory (pyproject.toml, constraints.txt); default: this script's parent
#   PREFIX        the virtual environment; default /opt/kratos
# Environment (all optional):
#   PYTHON        the interpreter the environment is made with (python3)
#   BIN_DIR       where the `kratos` link goes (/usr/local/bin)
#   CONFIG_DIR    the directory the charm pushes kratos.yaml to (/etc/config/kratos)
#   CONFIG_OWNER  owner[:group] of CONFIG_DIR (584792:584792, the `_daemon_` user of Canonical's rocks);
#                 empty leaves it to whoever runs the script
#   ONLY_BINARY   pip's --only-binary (:all:, wheels only); :none: lets pip build what has no wheel
#                 (jsonnet on arm64: needs g++ and python3-dev)
#   DESTDIR       staging root, as for `make install`: files land under DESTDIR and work once copied to /
set -eu
umask 022

here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "${1:-$here/..}" && pwd)
prefix=${2:-/opt/kratos}
bin_dir=${BIN_DIR:-/usr/local/bin}
config_dir=${CONFIG_DIR:-/etc/config/kratos}
config_owner=${CONFIG_OWNER-584792:584792}
dest=${DESTDIR:-}

# Build from a copy: the source directory stays untouched, and no stale build/ output gets into the wheel.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -R "$src/." "$work/src"
rm -rf "$work/src/build" "$work/src"/*.egg-info

"${PYTHON:-python3}" -m venv "$dest$prefix"
"$dest$prefix/bin/python" -m pip install --no-cache-dir --disable-pip-version-check --compile \
    --only-binary="${ONLY_BINARY:-:all:}" -c "$src/constraints.txt" "$work/src"

if [ -n "$dest" ]; then
    # The scripts' #! lines and pyvenv.cfg name the staged path: make them name the installed one.
    grep -lF "$dest$prefix" "$dest$prefix/pyvenv.cfg" "$dest$prefix"/bin/* | while read -r file; do
        sed -i "s|$dest$prefix|$prefix|g" "$file"
    done
fi

mkdir -p "$dest$bin_dir" "$dest$config_dir"
ln -sf "$prefix/bin/kratos" "$dest$bin_dir/kratos"
chmod 0755 "$dest$config_dir"
if [ -n "$config_owner" ]; then
    chown "$config_owner" "$dest$config_dir"
fi
