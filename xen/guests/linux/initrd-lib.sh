# Helpers for the busybox initramfs images built from Debian's kernel
# (sourced by xen/guests/linux/build-initrd.sh and tests/hvm/build-host.sh).
# The caller has `set -eu`.

# initrd_busybox STAGE: the static busybox as /bin/busybox, one symlink per
# applet in /bin, and the directories /init mounts on.  /sbin points at
# /bin because the kernel runs /sbin/modprobe when it wants a module.
initrd_busybox() {
	_bb=$(command -v busybox) ||
	    { echo "initrd: no busybox; run scripts/deps.sh" >&2; return 1; }
	# A dynamic busybox would need its libraries in the image too.
	if readelf -l "$_bb" | grep -q 'Requesting program interpreter'; then
		echo "initrd: $_bb is not static; install busybox-static" >&2
		return 1
	fi
	mkdir -p "$1/bin" "$1/proc" "$1/sys" "$1/dev" "$1/tmp" "$1/root" \
	    "$1/etc" "$1/usr"
	cp "$_bb" "$1/bin/busybox"
	for _a in $("$_bb" --list); do
		[ "$_a" = busybox ] || ln -sf busybox "$1/bin/$_a"
	done
	ln -sfn bin "$1/sbin"
	ln -sfn ../bin "$1/usr/bin"
	ln -sfn ../bin "$1/usr/sbin"
	# The kernel opens /dev/console for init before anything is mounted.
	# Its built-in initramfs has that node too, and /init reopens the
	# console after mounting devtmpfs; making it here (root only) is
	# belt and braces.
	if [ "$(id -u)" -eq 0 ]; then
		mknod -m 600 "$1/dev/console" c 5 1
	fi
}

# initrd_modules ROOT KVER STAGE MODULE...: copy the modules and everything
# they depend on (as modprobe resolves it from ROOT's modules.dep) into
# STAGE/lib/modules/KVER, and run depmod there so that the image's
# modprobe finds them.  Prints the .ko files copied, one per line.
initrd_modules() {
	_root=$1 _kver=$2 _stage=$3
	shift 3
	_src=$_root/lib/modules/$_kver
	_dst=$_stage/lib/modules/$_kver
	[ -f "$_src/modules.dep" ] ||
	    { echo "initrd: no $_src/modules.dep; run fetch-kernel.sh" >&2
	      return 1; }
	mkdir -p "$_dst"
	# modules.builtin tells modprobe that a built-in module is no error;
	# modules.order keeps depmod's output in the kernel's order.
	cp "$_src/modules.order" "$_src/modules.builtin" \
	    "$_src/modules.builtin.modinfo" "$_dst/"
	# --show-depends lists "insmod PATH" for the module and each of its
	# dependencies, "builtin NAME" for built-in ones.
	_kos=
	for _m in "$@"; do
		_deps=$(modprobe -d "$_root" -S "$_kver" --show-depends "$_m") ||
		    { echo "initrd: no module $_m in $_src" >&2; return 1; }
		_kos="$_kos
$(echo "$_deps" | sed -n 's/^insmod \([^ ]*\).*/\1/p')"
	done
	# Module paths have no spaces: splitting the list on them is safe.
	for _ko in $(echo "$_kos" | sort -u); do
		_rel=${_ko#"$_src"/}
		mkdir -p "$_dst/$(dirname "$_rel")"
		cp "$_ko" "$_dst/$_rel"
		echo "$_rel"
	done
	depmod -b "$_stage" "$_kver"
}

# initrd_pack STAGE OUT [LEVEL]: a gzip'd newc cpio of STAGE, owned by
# root, with no timestamps from the build machine in the gzip header,
# padded with zeros to a multiple of 4 bytes.
# Written next to OUT and renamed, so OUT is never half written.  LEVEL
# (default 9) is gzip's: images that are mostly compressed files already
# gain nothing from 9 but seconds of build time.
initrd_pack() {
	# A file in between, not a pipe into gzip, so a cpio failure is seen.
	(cd "$1" && find . | LC_ALL=C sort |
	    cpio --quiet -o -H newc -R 0:0 --reproducible) >"$2.cpio"
	gzip -"${3:-9}" -n <"$2.cpio" >"$2.new"
	rm -f "$2.cpio"
	# Zeros to a multiple of 4 bytes: Linux reads another archive
	# appended to this one (tests do) only at a 4-byte boundary, and
	# skips the zeros before it.
	_pad=$(( (4 - $(wc -c <"$2.new") % 4) % 4 ))
	[ "$_pad" = 0 ] || head -c "$_pad" /dev/zero >>"$2.new"
	mv "$2.new" "$2"
}
