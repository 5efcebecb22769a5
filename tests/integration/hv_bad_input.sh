#!/bin/bash
# Bad input to xeno-hv: a clear one-line error and the documented exit
# code, never a crash (an exit by signal would show as 128+N).
. "$(dirname "$0")/../lib.sh"
need_kvm
HELLO="$XENO_GUESTS/hello.elf"

# expect CODE PATTERN ARGS...: xeno-hv ARGS exits CODE with one message
# matching PATTERN; expect_cmd the same for a whole command line.
expect() {
	local want=$1 pat=$2; shift 2
	expect_cmd "$want" "$pat" hv "$@"
}
expect_cmd() {
	local want=$1 pat=$2; shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	[ "$rc" = "$want" ] || { cat "$T/err"; fail "exit $rc, wanted $want: $*"; }
	grep -q -- "$pat" "$T/err" || { cat "$T/err"; fail "no '$pat': $*"; }
	[ "$(wc -l <"$T/err")" -le 2 ] || { cat "$T/err"; fail "chatty: $*"; }
	echo "ok: exit $rc: $(head -1 "$T/err")"
}

# poke FILE OFFSET HEXBYTES: overwrite bytes in place
poke() { printf "$(echo "$3" | sed 's/../\\x&/g')" |
    dd of="$1" bs=1 seek="$2" conv=notrunc status=none; }
le64() { printf '%016x' "$1" | sed 's/../& /g' | awk '{for(i=NF;i>0;i--)printf "%s",$i}'; }
rd64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }

expect 64 "unknown option '--bogus'" run --image "$HELLO" --bogus
expect 64 "no guest image" run
expect 64 "unknown command" frobnicate
expect 64 "is not a size" run --image "$HELLO" --mem lots
expect 64 "too small" run --image "$HELLO" --mem 1M
expect 64 "too large" run --image "$HELLO" --mem 64G
expect 64 "from 1 to 64" run --image "$HELLO" --vcpus 100
expect 64 "too small" run --image "$HELLO" --mem 4M --vcpus 64
expect 66 "cannot open image" run --image "$T/nope.elf"
expect 66 "not a regular file" run --image /tmp
: >"$T/empty"
expect 65 "empty" run --image "$T/empty"
echo "#!/bin/sh" >"$T/script"
expect 65 "not an ELF file" run --image "$T/script"
head -c 100 "$HELLO" >"$T/short"
expect 65 "truncated" run --image "$T/short"
# cut inside the last segment's file data
phoff=$(rd64 "$HELLO" 32)
phnum=$(od -An -t u2 -j 56 -N 2 "$HELLO" | tr -d ' ')
end=0
for ((i = 0; i < phnum; i++)); do
	[ "$(od -An -t u4 -j $((phoff + 56 * i)) -N 4 "$HELLO" | tr -d ' ')" = 1 ] ||
	    continue
	e=$(( $(rd64 "$HELLO" $((phoff + 56 * i + 8))) +
	    $(rd64 "$HELLO" $((phoff + 56 * i + 32))) ))
	[ $e -gt $end ] && end=$e
done
head -c $((end - 1)) "$HELLO" >"$T/cut"
expect 65 "truncated image" run --image "$T/cut"
cp "$HELLO" "$T/e32"; poke "$T/e32" 4 01
expect 65 "not an ELF64" run --image "$T/e32"
cp "$HELLO" "$T/arm"; poke "$T/arm" 18 b700
expect 65 "not an x86-64" run --image "$T/arm"
cp "$HELLO" "$T/dyn"; poke "$T/dyn" 16 0300
expect 65 "not a static executable" run --image "$T/dyn"
# second program header moved onto the first: overlapping segments
first=$(rd64 "$HELLO" $((phoff + 16)))
cp "$HELLO" "$T/overlap"
poke "$T/overlap" $((phoff + 56 + 16)) "$(le64 "$first")"
poke "$T/overlap" $((phoff + 56 + 24)) "$(le64 "$first")"
expect 65 "overlaps" run --image "$T/overlap"
# first segment moved into the system area
cp "$HELLO" "$T/low"
poke "$T/low" $((phoff + 16)) "$(le64 4096)"
poke "$T/low" $((phoff + 24)) "$(le64 4096)"
expect 65 "below the lowest load address" run --image "$T/low"
# entry point outside any executable segment
cp "$HELLO" "$T/entry"; poke "$T/entry" 24 "$(le64 $((0x7000000)))"
expect 65 "entry point" run --image "$T/entry"

expect 73 "cannot create counters file" run --image "$HELLO" \
    --stats "$T/no/such/dir/s"
expect 73 "cannot create console file" run --image "$HELLO" \
    --console "file:$T/no/such/dir/c"

# /dev/kvm missing, and present but not KVM: in a private mount namespace
if unshare -m true 2>/dev/null; then
	expect_cmd 69 "/dev/kvm does not exist" unshare -m sh -c \
	    "mount -t tmpfs none /dev && exec \"\$0\" \"\$@\"" "$XENO_HV" \
	    run --image "$HELLO"
	expect_cmd 69 "not a usable KVM device" unshare -m sh -c \
	    "mount --bind /dev/null /dev/kvm && exec \"\$0\" \"\$@\"" \
	    "$XENO_HV" run --image "$HELLO"
else
	echo "note: unshare -m not permitted; /dev/kvm absence not simulated"
fi

# the stat reader on files that are not counters
expect 66 "No such file" stat "$T/none.stats"
expect 65 "not a counters file" stat "$T/empty"
head -c 8192 /dev/urandom >"$T/junk"
expect 65 "bad magic" stat "$T/junk"
expect 64 "no counters file" stat
ok "every bad input refused with a clear message"
