#!/bin/sh
# fetch-kernel.sh OUTDIR: Debian's stock kernel for HVM guests and test hosts.
#
# Downloads the package that linux-image-amd64 currently depends on into
# OUTDIR (kept there, so reruns download nothing), unpacks it into
# OUTDIR/root, runs depmod on that tree, and leaves OUTDIR/vmlinuz and
# OUTDIR/kver.  The machine's own /boot and /lib/modules are never touched:
# the package is unpacked with dpkg-deb, not installed.
#
# OUTDIR/vmlinuz and OUTDIR/kver are rewritten only when their content
# changes, so make rebuilds what depends on them only then.
set -eu

[ $# -eq 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
OUT=$1
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
META=linux-image-amd64

say() { echo "fetch-kernel: $*" >&2; }
die() { say "$*"; exit 1; }

# The concrete package, e.g. linux-image-6.1.0-56-amd64.  apt-cache reads
# only the local index: nothing goes to the network here.
resolve() {
	apt-cache depends "$META" 2>/dev/null |
	    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1
}

# apt-get update needs root and the network; run it only when the index
# is missing or stale, never routinely.
update_index() {
	[ "$(id -u)" -eq 0 ] ||
	    die "the apt index lacks $1; run 'apt-get update' as root, then retry"
	say "apt index lacks $1: running apt-get update"
	apt-get update -q >&2 || die "apt-get update failed (no network?)"
}

pkg=$(resolve)
if [ -z "$pkg" ]; then
	# Offline with a package already here: use it rather than fail.
	set -- "$OUT"/linux-image-*_amd64.deb
	if [ $# -eq 1 ] && [ -f "$1" ]; then
		say "apt index has no $META; reusing $(basename "$1")"
		deb=$1
	else
		update_index "$META"
		pkg=$(resolve)
		[ -n "$pkg" ] || die "$META depends on no linux-image-* package"
	fi
fi

if [ -n "$pkg" ]; then
	ver=$(apt-cache show --no-all-versions "$pkg" 2>/dev/null |
	    sed -n 's/^Version: //p' | head -n 1)
	[ -n "$ver" ] || { update_index "$pkg"; ver=$(apt-cache show \
	    --no-all-versions "$pkg" | sed -n 's/^Version: //p' | head -n 1); }
	# apt-get download names the file pkg_version_arch.deb, with an epoch's
	# ':' written as %3a.
	deb="$OUT/${pkg}_$(echo "$ver" | sed 's/:/%3a/g')_amd64.deb"
	if [ ! -f "$deb" ]; then
		say "downloading $pkg $ver (about 70 MB)"
		# Download into a scratch directory so that an interrupted run
		# leaves no partial .deb that a rerun would take for complete.
		# The sandbox user _apt may not be able to write under OUTDIR.
		tmp=$(mktemp -d "$OUT/.dl.XXXXXX")
		trap 'rm -rf "$tmp"' EXIT
		if ! (cd "$tmp" && apt-get -q -o APT::Sandbox::User=root \
		    download "$pkg" >&2); then
			# The usual cause: the index names a version the mirror
			# has since dropped (404).  Refresh it and try once more.
			update_index "$pkg $ver"
			(cd "$tmp" && apt-get -q -o APT::Sandbox::User=root \
			    download "$pkg" >&2) ||
			    die "cannot download $pkg"
		fi
		set -- "$tmp"/"$pkg"_*_amd64.deb
		[ -f "$1" ] || die "apt-get download left no $pkg .deb"
		deb="$OUT/$(basename "$1")"
		mv "$1" "$deb"
		rm -rf "$tmp"
		trap - EXIT
	fi
fi

# Unpack once per .deb: root/.deb records which one the tree comes from.
# Other kernels' .debs and trees are dropped so OUTDIR holds exactly one.
name=$(basename "$deb")
if [ "$(cat "$OUT/root/.deb" 2>/dev/null || true)" != "$name" ]; then
	for old in "$OUT"/linux-image-*.deb; do
		[ "$old" = "$deb" ] || rm -f "$old"
	done
	say "unpacking $name"
	rm -rf "$OUT/root" "$OUT/root.new"
	dpkg-deb -x "$deb" "$OUT/root.new"
	set -- "$OUT"/root.new/boot/vmlinuz-*
	[ $# -eq 1 ] && [ -f "$1" ] || die "$name has no single /boot/vmlinuz-*"
	kver=${1##*/vmlinuz-}
	[ -d "$OUT/root.new/lib/modules/$kver" ] ||
	    die "$name has no /lib/modules/$kver"
	# The package ships no modules.dep: its postinst would run depmod.
	depmod -b "$OUT/root.new" "$kver"
	echo "$name" >"$OUT/root.new/.deb"
	mv "$OUT/root.new" "$OUT/root"
fi

set -- "$OUT"/root/boot/vmlinuz-*
kver=${1##*/vmlinuz-}

# Rewrite only on change: see the header.
if ! cmp -s "$1" "$OUT/vmlinuz"; then
	cp "$1" "$OUT/vmlinuz.new" && mv "$OUT/vmlinuz.new" "$OUT/vmlinuz"
fi
if [ "$(cat "$OUT/kver" 2>/dev/null || true)" != "$kver" ]; then
	echo "$kver" >"$OUT/kver"
fi
say "$name: kernel $kver"
