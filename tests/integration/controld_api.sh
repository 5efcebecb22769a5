#!/bin/bash
# xeno-controld's API edges: who may do what (401 without a valid token,
# 403 for a role that may not, 404 for another tenant's VM), malformed,
# mistyped, unknown and oversize bodies refused with a clear 400/413 and
# nothing changed, Idempotency-Key replay, uploaded images.
. "$(dirname "$0")/../lib.sh"
need_ctld
ctld_start --memory 256M --vcpus 8 --disk 1G

tenant_new alpha 1000000000
A=$TT; ATEN=$TENANT
tenant_new beta 1000000000
B=$TT; BTEN=$TENANT
api_expect 201 "$OP" POST /v1/tokens -d '{"role":"auditor"}'
AUD=$(body .token)
api_expect 201 "$OP" POST /v1/tokens -d "{\"role\":\"auditor\",\"tenant\":$BTEN}"
AUDB=$(body .token)
vm='{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":600,"args":"sleep_ms=600000"}'
api_expect 201 "$A" POST /v1/vms -d "$vm"
V=$(body .id)
count() { psql_ctld "SELECT (SELECT count(*) FROM domains) || '/' || (SELECT count(*) FROM decisions) || '/' || (SELECT count(*) FROM tenants) || '/' || (SELECT count(*) FROM tokens)"; }

# 401: no token, a wrong one, a malformed one, a revoked one
code=$(curl -sS --cacert "$CTLD_STATE/tls/cert.pem" -o "$T/body" -D "$T/hdr" \
    -w '%{http_code}' "$CTLD_URL/v1/vms")
[ "$code" = 401 ] || fail "no token: $code"
grep -qi '^WWW-Authenticate: Bearer' "$T/hdr" || fail "no WWW-Authenticate"
api_expect 401 "xeno_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" GET /v1/vms
api_expect 401 "not-a-token" GET "/v1/vms/$V"
api_expect 201 "$OP" POST /v1/tokens -d "{\"role\":\"tenant\",\"tenant\":$ATEN}"
tid=$(body .id); tok=$(body .token)
api_expect 200 "$tok" GET "/v1/vms/$V"
api_expect 204 "$OP" DELETE "/v1/tokens/$tid"
api_expect 401 "$tok" GET "/v1/vms/$V"
ok "401 without a token, with a wrong, malformed or revoked one"

# the matrix: role x endpoint -> status
matrix() {	# TOKEN-NAME TOKEN METHOD PATH WANT [BODY]
	local got
	got=$(api "$2" "$3" "$4" ${6:+-d "$6"})
	[ "$got" = "$5" ] ||
	    fail "$1 $3 $4: HTTP $got, wanted $5: $(head -c 300 "$T/body")"
}
while read -r who m p want b; do
	case $who in A) t=$A;; B) t=$B;; OP) t=$OP;; AUD) t=$AUD;; AUDB) t=$AUDB;; esac
	[ "$b" = "-" ] && b=""
	[ "$b" = "VM" ] && b=$vm
	matrix "$who" "$t" "$m" "${p//VID/$V}" "$want" "$b"
done <<EOF2
A GET /v1/vms/VID 200 -
B GET /v1/vms/VID 404 -
B GET /v1/vms/VID/console 404 -
B POST /v1/vms/VID/extend 404 {"duration_s":60}
B POST /v1/vms/VID/stop 404 -
B DELETE /v1/vms/VID 404 -
B GET /v1/tenants/$ATEN 404 -
A GET /v1/tenants/$ATEN 200 -
A GET /v1/host 403 -
A PATCH /v1/host 403 {"draining":true}
A POST /v1/tenants 403 {"name":"x"}
A GET /v1/tenants 403 -
A POST /v1/tokens 403 {"role":"operator"}
A GET /v1/decisions 403 -
A GET /v1/usage 200 -
AUD GET /v1/vms/VID 200 -
AUD GET /v1/vms 200 -
AUD GET /v1/host 200 -
AUD GET /v1/decisions 200 -
AUD GET /v1/tenants 200 -
AUD POST /v1/vms 403 VM
AUD DELETE /v1/vms/VID 403 -
AUD GET /v1/vms/VID/console 403 -
AUD PATCH /v1/host 403 {"draining":true}
AUD POST /v1/tokens 403 {"role":"operator"}
AUDB GET /v1/vms/VID 404 -
AUDB GET /v1/tenants/$ATEN 404 -
OP GET /v1/vms/VID 200 -
OP GET /v1/vms/VID/console 200 -
OP POST /v1/vms 403 VM
OP GET /v1/nope 404 -
OP PUT /v1/vms/VID 405 -
OP GET /v1/vms/0 404 -
OP GET /v1/vms/007 404 -
OP GET /v1/vms/99999999999999999999 404 -
EOF2
api_expect 200 "$B" GET /v1/vms
[ "$(body length)" = 0 ] || fail "beta sees alpha's VMs: $(cat "$T/body")"
api_expect 200 "$AUDB" GET /v1/vms
[ "$(body length)" = 0 ] || fail "beta's auditor sees alpha's VMs"
api_expect 200 "$AUD" GET /v1/vms
[ "$(body '.[0].id')" = "$V" ] || fail "the auditor does not see VM $V"
api_expect 200 "$AUDB" GET /v1/host
[ "$(body '.domains | length')" = 0 ] && [ "$(body .reserved.vms)" = 1 ] ||
    fail "beta's auditor sees the host as: $(cat "$T/body")"
api_expect 200 "$AUD" GET /v1/host
[ "$(body '.domains[0].id')" = "$V" ] || fail "the auditor misses VM $V on the host"
ok "authz matrix: tenants, operator, auditors (all and one tenant)"

# malformed bodies: 400 or 413 with a message naming the problem, nothing changed
before=$(count)
bad() {	# WANT-STATUS MESSAGE-PIECE BODY-FILE
	local got
	got=$(api "$A" POST /v1/vms -H 'Content-Type: application/json' \
	    --data-binary "@$3")
	[ "$got" = "$1" ] || fail "$(head -c 80 "$3"): HTTP $got, wanted $1"
	[ "$(body .error)" != null ] && body .message | grep -qF -- "$2" ||
	    fail "$(head -c 80 "$3"): message $(cat "$T/body")"
}
printf '{"vcpus":1,' >"$T/b1"; bad 400 "malformed JSON" "$T/b1"
printf '{"vcpus":"1","memory_mib":16,"image":"hello","duration_s":60}' >"$T/b2"
bad 400 "vcpus: must be an integer from 1 to 64" "$T/b2"
printf '{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":60,"colour":"red"}' >"$T/b3"
bad 400 'unknown field "colour"' "$T/b3"
printf '{"vcpus":1,"memory_mib":16,"image":"../../etc/passwd","duration_s":60}' >"$T/b4"
bad 400 "image: must be 1 to 63 characters" "$T/b4"
printf '{"vcpus":1,"memory_mib":16,"image":"nosuch","duration_s":60}' >"$T/b5"
bad 400 'no image "nosuch"' "$T/b5"
printf '{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":60,"args":"%070000d"}' 0 >"$T/b6"
bad 413 "at most 65536" "$T/b6"
printf '{"vcpus":1,"memory_mib":8,"image":"hello","duration_s":60}' >"$T/b7"
bad 400 "memory_mib: must be an integer from 16" "$T/b7"
api_expect 400 "$OP" PATCH /v1/host -d '{"vcpu_ratio":999}'
api_expect 400 "$OP" POST /v1/tenants -d '{"name":"x","balance":-5}'
api_expect 400 "$OP" POST /v1/tokens -d '{"role":"root"}'
api_expect 400 "$A" POST "/v1/vms/$V/extend" -d '{"duration_s":0}'
api_expect 400 "$A" GET "/v1/vms?limit=abc"
api_expect 400 "$A" POST /v1/vms -H "Idempotency-Key: $(printf 'k%.0s' $(seq 300))" -d "$vm"
api_expect 400 "$OP" PATCH "/v1/tenants/$ATEN" -d '{"topup":1000000000000000}'
body .message | grep -q "^topup:" || fail "top-up out of range: $(cat "$T/body")"
api_expect 404 "$OP" PATCH /v1/tenants/999 -d '{"topup":1}'
[ "$(psql_ctld "SELECT count(*) FROM idempotency")" = 0 ] ||
    fail "a refused request left an idempotency key"
[ "$(count)" = "$before" ] || fail "a refused request changed something: $before -> $(count)"
ok "malformed, mistyped, unknown, oversize bodies: 400/413 with the field named, nothing changed"

# Idempotency-Key: the same request again gets the same reply, once
before=$(psql_ctld "SELECT count(*) FROM domains")
api_expect 201 "$A" POST /v1/vms -H 'Idempotency-Key: create-1' -d "$vm"
first=$(body .id)
code=$(api "$A" POST /v1/vms -H 'Idempotency-Key: create-1' -D "$T/hdr" -d "$vm")
[ "$code" = 201 ] && [ "$(body .id)" = "$first" ] || fail "replay: $code $(cat "$T/body")"
grep -qi '^Idempotent-Replayed: true' "$T/hdr" || fail "replay not marked"
[ "$(psql_ctld "SELECT count(*) FROM domains")" = $((before + 1)) ] ||
    fail "a replayed create made a second VM"
api_expect 422 "$A" POST /v1/vms -H 'Idempotency-Key: create-1' \
    -d "${vm/600,/601,}"
[ "$(body .error)" = idempotency_key_reused ] || fail "$(cat "$T/body")"
# keys are per token: beta's same key is its own
api_expect 201 "$B" POST /v1/vms -H 'Idempotency-Key: create-1' -d "$vm"
[ "$(body .id)" != "$first" ] || fail "beta replayed alpha's reply"
api_expect 202 "$A" DELETE "/v1/vms/$first" -H 'Idempotency-Key: del-1'
api_expect 202 "$A" DELETE "/v1/vms/$first" -H 'Idempotency-Key: del-1'
ok "Idempotency-Key: replayed once, refused for another request, per token"

# a tenant's own image: uploaded, used, invisible to others
code=$(api "$A" PUT /v1/images/mine --data-binary "@$XENO_GUESTS/hello.elf")
[ "$code" = 201 ] || fail "upload: $code $(cat "$T/body")"
api_expect 400 "$A" PUT /v1/images/junk --data-binary "@$T/b1"
api_expect 200 "$A" GET /v1/images
[ "$(body '[.[] | select(.source == "upload")] | .[0].name')" = mine ] ||
    fail "upload not listed: $(cat "$T/body")"
api_expect 201 "$A" POST /v1/vms -d "${vm/\"hello\"/\"mine\"}"
mid=$(body .id)
vm_wait_state "$A" "$mid" running 5
api_expect 400 "$B" POST /v1/vms -d "${vm/\"hello\"/\"mine\"}"
for i in $(seq 2 16); do
	api_expect 201 "$A" PUT "/v1/images/img$i" --data-binary "@$XENO_GUESTS/hello.elf"
done
api_expect 409 "$A" PUT /v1/images/img17 --data-binary "@$XENO_GUESTS/hello.elf"
api_expect 201 "$A" PUT /v1/images/img2 --data-binary "@$XENO_GUESTS/hello.elf"
ok "uploaded image runs for its tenant only; 16 images at most, replaceable"

# a Linux (HVM) image on a host started without --hvm: refused, said why
mkdir -p "$CTLD_STATE/images/linux.linux"
api_expect 409 "$A" POST /v1/vms -d "${vm/\"hello\"/\"linux\"}"
[ "$(body .error)" = unsupported ] && body .message | grep -q "HVM" ||
    fail "HVM on a PV-only host: $(cat "$T/body")"
api_expect 200 "$A" GET /v1/images
[ "$(body '[.[] | select(.name == "linux")] | .[0].kind')" = hvm ] ||
    fail "the Linux image is not listed as hvm"
ok "an HVM image on a host without HVM: 409 unsupported"
# disks: a base image served copy-on-write plus an empty data disk
truncate -s 8M "$CTLD_STATE/images/base8.img"
api_expect 201 "$A" POST /v1/vms -d '{"vcpus":1,"memory_mib":16,"image":"hello","duration_s":600,"args":"sleep_ms=600000","disk":{"base":"base8","size_mib":4}}'
did=$(body .id)
[ "$(body .disk_mib)" = 12 ] || fail "disk_mib $(body .disk_mib)"
vm_wait_state "$A" "$did" running 5
[ -f "$CTLD_STATE/run/dom-$did/root.cow" ] &&
    [ "$(stat -c %s "$CTLD_STATE/run/dom-$did/data.img")" = $((4 << 20)) ] ||
    fail "disk files: $(ls -l "$CTLD_STATE/run/dom-$did")"
pid=$(body .pid)
tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "id=root,base=$CTLD_STATE/images/base8.img,overlay=" ||
    fail "no root VBD on xeno-hv's command line"
api_expect 202 "$A" DELETE "/v1/vms/$did"
vm_wait_state "$A" "$did" destroyed 5
[ -e "$CTLD_STATE/run/dom-$did" ] && fail "disk files left behind"
ok "disk: base image copy-on-write (root) and an empty 4 MiB data disk; removed with the VM"

# --db: a second controld on an existing PostgreSQL (here the first's)
# serves the same state and leaves that server running when it stops
st2=$T/ctld2
mkdir -p "$st2"
"$XENO_CTLD" --state "$st2" --listen 127.0.0.1:0 \
    --db "host=$CTLD_STATE/pg/run dbname=xeno user=xeno" >"$T/ctld2.log" 2>&1 &
c2=$!
T_PIDS+=("$c2")
n=200
until [ -s "$st2/controld.url" ]; do
	n=$((n - 1)); [ $n -gt 0 ] || { cat "$T/ctld2.log"; fail "second controld"; }
	sleep 0.05
done
[ -e "$st2/pg" ] && fail "--db made a cluster of its own"
code=$(curl -sS --cacert "$st2/tls/cert.pem" -o "$T/body" -w '%{http_code}' \
    -H "Authorization: Bearer $A" "$(cat "$st2/controld.url")/v1/vms/$V")
[ "$code" = 200 ] && [ "$(body .id)" = "$V" ] || fail "--db: $code $(cat "$T/body")"
kill -TERM "$c2"; wait "$c2"
psql_ctld "SELECT 1" >/dev/null || fail "--db controld stopped the server"
ok "--db: a controld on an existing server serves its state and leaves it running"
ctld_stop
