#!/bin/sh
# make sdk-check: each CRM's official client library, unchanged, against its
# emulator (installs them from npm into build-sdk/; not part of make check,
# which must not need the npm registry).
set -eu
cd "$(dirname "$0")/.."
prefix=$(pwd)/build-sdk
mkdir -p "$prefix"
cp tests/emulator/sdk/package.json "$prefix/"
npm install --prefix "$prefix" --silent --no-audit --no-fund
fail=0
run() { # provider records prefix-variable token-env
	out=$(mktemp)
	python3 tests/emulator/run.py "$1" --records "$2" --rate-limits off > "$out" 2>/dev/null &
	pid=$!
	for _ in $(seq 100); do [ "$(wc -l < "$out")" -ge 2 ] && break; sleep 0.1; done
	url=$(sed -n '1s/^listening on //p' "$out")
	if env $(sed -n 2p "$out") EMU_URL="$url" "$3=$prefix" node "tests/emulator/sdk/$1_sdk_check.mjs" > "$out.log" 2>&1; then
		echo "ok   $1: official client works unchanged against the emulator"
	else
		echo "FAIL $1:"; tail -5 "$out.log"; fail=1
	fi
	kill "$pid"; wait "$pid" 2>/dev/null || true
	rm -f "$out" "$out.log"
}
run hubspot contacts=300,accounts=20 HSSDK_PREFIX
run salesforce contacts=3000,accounts=50 SFSDK_PREFIX
run pipedrive contacts=50,accounts=10 PDSDK_PREFIX
run zoho contacts=50,accounts=10 ZOSDK_PREFIX
exit $fail
