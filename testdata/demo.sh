#!/usr/bin/env bash
# make demo: the main job end to end on the built-in KSeF 2.0 simulator, in a temporary
# home: configure a shop, test the connection, queue invoices and a credit memo, submit,
# show the KSeF numbers and the audit trail, and write one UPO (the official receipt).
set -euo pipefail
BIN=${1:-bin/ksefpl}
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")
DATA=$(cd "$(dirname "$0")" && pwd)/invoices
WORK=$(mktemp -d "${TMPDIR:-/tmp}/ksefpl-demo.XXXXXX")
SIM_PID=
cleanup() {
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null && wait "$SIM_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
export NO_COLOR=${NO_COLOR:-}
k() { echo "\$ ksefpl $*"; "$BIN" --home "$WORK/home" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "Start the KSeF 2.0 simulator on a free loopback port"
"$BIN" sim serve --addr 127.0.0.1:0 >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
for _ in $(seq 1 100); do
  URL=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$WORK/sim.log")
  [ -n "$URL" ] && break
  sleep 0.1
done
[ -n "${URL:-}" ] || { echo "simulator did not start:"; cat "$WORK/sim.log"; exit 1; }
echo "simulator at $URL"

step "Configure the shop: environment, seller, token (read from stdin, stored encrypted)"
k setup:install
k config:set ksefpl/connection/environment local
k config:set ksefpl/connection/base_url "$URL/v2"
k config:set ksefpl/seller/nip 526-104-08-28
k config:set ksefpl/seller/name "ACME Sklep Sp. z o.o."
k config:set ksefpl/seller/address_line1 "ul. Prosta 1"
k config:set ksefpl/seller/address_line2 "00-001 Warszawa"
echo "\$ ksefpl sim token --url $URL --nip 5261040828 | ksefpl config:set ksefpl/connection/api_token -"
"$BIN" sim token --url "$URL" --nip 5261040828 | "$BIN" --home "$WORK/home" config:set ksefpl/connection/api_token -
k config:set ksefpl/seller/bank_account "PL61 1090 1014 0000 0712 1981 2874"
# The shop's receiver of job events: a command given each event (JSON) on stdin.
cat >"$WORK/shop-receiver.sh" <<RECEIVER
#!/bin/sh
cat >>"$WORK/shop-events.log"; echo >>"$WORK/shop-events.log"
RECEIVER
chmod 700 "$WORK/shop-receiver.sh"
k config:set ksefpl/notify/command "$WORK/shop-receiver.sh"

step "Test the connection (every check, with timings)"
k test-connection

step "Queue invoices and a credit memo (milliseconds, no network)"
for f in domestic_b2b consumer eu_wdt export_ex zw_np gross_prices split_payment oss; do
  k queue invoice --file "$DATA/$f.json"
done
k queue creditmemo --file "$DATA/creditmemo_lookup.json"
k queue invoice --file "$DATA/domestic_b2b.json"

step "Submit (what cron runs every minute)"
k submit --wait 60s --poll-interval 200ms
# The credit memo waits for its original's KSeF number; a second run sends it.
k submit --wait 60s --poll-interval 200ms

step "The queue with KSeF numbers"
k queue list

step "The shop learned each KSeF number: the events its receiver got (at least once, in order)"
head -c 900 "$WORK/shop-events.log"; echo "..."
k events

step "The audit trail of the first invoice and of the credit memo"
k audit --job 1
CM=$("$BIN" --home "$WORK/home" queue show CM-000011 -o json | sed -n 's/^ *"id": \([0-9]*\),*$/\1/p' | head -1)
k audit --job "$CM"

step "The credit memo's queue record (it was sent once its original had a KSeF number, which its XML cites)"
k queue show CM-000011 | grep -E 'Status|KSeF number|Session|Invoice ref' | head -6 || true

step "Write the first invoice's UPO (official receipt) to a file"
k upo:download --job 1 --out "$WORK/upo.xml"
head -c 600 "$WORK/upo.xml"; echo; echo "..."

step "Certificates: KSeF tokens authenticate only until 2026-12-31 — switch this shop to XAdES"
echo "# a test company seal the simulator accepts (a real shop imports its qualified seal)"
k sim cert --nip 5261040828 --out "$WORK/seal"
echo "\$ ksefpl certificate:import --file seal/cert.p12 < /dev/null   # the password comes from stdin"
"$BIN" --home "$WORK/home" certificate:import --file "$WORK/seal/cert.p12" < /dev/null
k config:set ksefpl/connection/auth_method certificate
k test-connection

step "Enrol a KSeF authentication certificate (KSeF allows it after a signed login) and use it"
k certificate:enroll --type authentication --wait 60s --poll-interval 200ms
k certificate:list

step "Send one more invoice, authenticated with the KSeF certificate"
sed 's/"increment_id": "INV-000123"/"increment_id": "INV-000200"/' "$DATA/domestic_b2b.json" > "$WORK/INV-000200.json"
k queue invoice --file "$WORK/INV-000200.json"
k submit --wait 60s --poll-interval 200ms
k queue show INV-000200 | grep -E 'Status|KSeF number' | head -2 || true

step "KSeF fails: issue an invoice offline (offline24), with both QR codes and its deadline"
k certificate:enroll --type offline --wait 60s --poll-interval 200ms
echo "\$ ksefpl sim latarnia publish --url $URL --category FAILURE"
EVENT=$("$BIN" -o json sim latarnia publish --url "$URL" --category FAILURE | sed -n 's/.*"eventId": *\([0-9]*\).*/\1/p')
echo "Latarnia announces failure event $EVENT"
NOW=$(date +%Y-%m-%dT%H:%M:%S%:z)
sed -e 's/"increment_id": "INV-000123"/"increment_id": "INV-000300"/' -e "s/\"created_at\": \"[^\"]*\"/\"created_at\": \"$NOW\"/" \
  -e '/"sale_date"/d' "$DATA/domestic_b2b.json" > "$WORK/INV-000300.json"
k queue invoice --file "$WORK/INV-000300.json" --offline --mode offline24
JOB=$("$BIN" --home "$WORK/home" -o json queue show INV-000300 | sed -n 's/^ *"id": *\([0-9]*\),$/\1/p' | head -1)
k invoice:qr --job "$JOB" --png "$WORK/INV-000300-qr.png"
k queue list --offline

step "The failure ends: submit sends the offline invoice with offlineMode, before anything else"
echo "\$ ksefpl sim latarnia end --url $URL --event $EVENT"
"$BIN" sim latarnia end --url "$URL" --event "$EVENT"
k submit --wait 60s --poll-interval 200ms
k queue show INV-000300 | grep -E 'Status|KSeF number|Invoicing mode|Issued offline' || true

step "Done: every invoice is ACCEPTED with its KSeF number and UPO; the simulator stops now."
