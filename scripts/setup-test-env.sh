#!/usr/bin/env bash
# Install everything the test suite needs, idempotently: Debian oracles (clang-19, llvm-19,
# bpftool, libbpf headers and tools), the pip test extras, and the bpffs/tracefs/debugfs mounts.
# Safe to run again and again; does nothing that is already done.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}

DEB_PACKAGES=(clang-19 llvm-19 bpftool libbpf-dev libbpf1 libbpf-tools iproute2 gcc make time
              systemtap-sdt-dev)

missing=()
for p in "${DEB_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${missing[@]}" </dev/null || {
        apt-get update -q </dev/null
        apt-get install -y -q "${missing[@]}" </dev/null
    }
fi

mount_once() {  # fstype mountpoint
    mkdir -p "$2"
    if ! mountpoint -q "$2"; then
        echo "setup: mounting $1 on $2"
        mount -t "$1" "$1" "$2"
    fi
}
mount_once bpf /sys/fs/bpf
mount_once tracefs /sys/kernel/tracing
mount_once debugfs /sys/kernel/debug

"$PYTHON" -m pip install -q --disable-pip-version-check -e '.[test]' </dev/null
