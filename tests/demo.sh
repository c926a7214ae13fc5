#!/bin/sh
# make demo: crmsync against the local HubSpot emulator, no account needed.
# Starts the emulator, runs a real pipeline, explains each step, stops it.
set -eu
cd "$(dirname "$0")/.."
work=$(mktemp -d)
emu_pid=
cleanup() {
	[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null && wait "$emu_pid" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

python3 tests/emulator/run.py hubspot --records contacts=500,accounts=40,deals=40,leads=10,users=5 \
	>"$work/emu.out" 2>"$work/emu.err" &
emu_pid=$!
for _ in $(seq 50); do [ -s "$work/emu.out" ] && [ "$(wc -l <"$work/emu.out")" -ge 2 ] && break; sleep 0.1; done
url=$(sed -n 1p "$work/emu.out" | sed 's/^listening on //')
# The emulator prints its demo credentials as NAME=VALUE on its second line.
export $(sed -n 2p "$work/emu.out")
export XDG_CONFIG_HOME="$work/config"
crm() { ./crmsync -p hubspot --base-url "$url" "$@"; }

say "A HubSpot emulator is running at $url (it speaks HubSpot's real API)"
echo "crmsync reads the token from HUBSPOT_ACCESS_TOKEN, never from the command line."

say "1. Is the connection healthy?   crmsync -p hubspot status"
crm status | jq .

say "2. Pull every contact as NDJSON and keep the CTOs with jq"
echo "   crmsync -p hubspot pull contacts | jq -c 'select(.title==\"CTO\")' > ctos.ndjson"
crm pull contacts | jq -c 'select(.title=="CTO")' >"$work/ctos.ndjson"
echo "   $(wc -l <"$work/ctos.ndjson") CTOs found; the first one:"
head -1 "$work/ctos.ndjson" | jq '{remote_id, first_name, last_name, title, email_addresses, account, remote_updated_at}'

say "3. Set a custom field on them and push them back (one result line per input line)"
echo "   jq -c '.remote_fields.loyalty_tier = \"gold\"' ctos.ndjson | crmsync -p hubspot push contacts"
jq -c '.remote_fields.loyalty_tier = "gold"' "$work/ctos.ndjson" |
	crm push contacts --summary "$work/summary.json" >"$work/results.ndjson"
jq -r '.sync_status' "$work/results.ndjson" | sort | uniq -c | sed 's/^/   /'
echo "   the run summary for cron monitoring (--summary):"
jq -c '{records, counts, requests}' "$work/summary.json" | sed 's/^/   /'

say "4. Push the same records again: nothing changes, so nothing is written"
crm -q push contacts <"$work/results.ndjson" | jq -r '.sync_status' | sort | uniq -c | sed 's/^/   /'

say "5. Add the CTOs to the static list 1 (bare ids on stdin)"
jq -r '.remote_id' "$work/ctos.ndjson" | crm -q lists add 1 | jq -r '.sync_status' | sort | uniq -c | sed 's/^/   /'

say "6. Incremental sync for cron: --state remembers where the last run ended"
crm pull contacts --state "$work/crm.state" | wc -l | sed 's/^/   first run: /; s/$/ records/'
jq -c '.entries' "$work/crm.state" | sed 's/^/   state: /'
crm pull contacts --state "$work/crm.state" | wc -l | sed 's/^/   second run: /; s/$/ records (only what changed, plus a 60 s look-back)/'

say "7. A bad line never fails the batch: it gets its own result and goes to --rejects"
printf '%s\n' '{"first_name":"Ada","last_name":"Lovelace","email_addresses":[{"email_address":"ada@example.com","primary":true}]}' '{not json' |
	crm -q push contacts --rejects "$work/bad.ndjson" | jq -c '{sync_line, sync_status, remote_id, error: .sync_error.code}' | sed 's/^/   /' || true
echo "   rejects file: $(cat "$work/bad.ndjson")"

say "Done. The emulator is stopped; nothing is left running."
echo "Next: point crmsync at your portal with a private app token:"
echo "   export HUBSPOT_ACCESS_TOKEN=pat-na1-...   # never on the command line"
echo "   crmsync -p hubspot pull contacts | head"
