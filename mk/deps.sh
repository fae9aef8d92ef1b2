#!/usr/bin/env bash
# mk/deps.sh: make sure the Debian packages pvlink builds and tests with are
# installed.  Missing ones are installed with apt-get when running as root
# (these machines are Debian 12 and we are root); otherwise the command to
# run is printed and the script fails.  Quiet when nothing is missing.
set -eu
pkgs=(build-essential clang libclang-rt-14-dev libzydis-dev qemu-system-x86
      valgrind python3 pkg-config man-db groff-base)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "pvlink needs: ${missing[*]}" >&2
    echo "run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
echo "pvlink: installing ${missing[*]} (apt-get)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
