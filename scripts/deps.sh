#!/bin/sh
# Install every Debian package the build, tests, benchmarks and demo need.
# Idempotent: installs only what is missing, and touches apt only then.
set -e

# qemu-system-x86, busybox-static, cpio and kmod: the HVM Linux guest
# images and their test host (xen/guests/linux, tests/hvm).
PKGS="
build-essential
libc6-dev
make
musl-tools
clang
llvm
libclang-rt-14-dev
valgrind
jq
curl
iproute2
iputils-ping
coreutils
procps
util-linux
binutils
libpcap-dev
tcpdump
qemu-system-x86
busybox-static
cpio
kmod
gzip
xz-utils
libjson-c-dev
libevent-dev
libssl-dev
libpq-dev
postgresql
openssl
wrk
nodejs
"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages:$missing; run as root to install them" >&2
		exit 1
	fi
	echo "deps: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends $missing
fi
