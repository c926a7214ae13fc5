# Sourced by every tests/cases/*/cmd script.  The runner sets CRMSYNC (the
# binary), EMU (the emulator URL), PROVIDER, CASE (the case folder) and TMP
# (a scratch folder); credentials are the emulator's demo ones.
set -u

# crmsync against the emulator, as a user would run it.
crm() { "$CRMSYNC" -p "$PROVIDER" --base-url "$EMU" --no-progress "$@"; }

# The emulator's control API.
emu() { curl -sS -X "$1" "$EMU/_emulator/$2" ${3:+-H 'Content-Type: application/json' --data-binary "$3"}; }
faults() { emu POST faults "$1" >/dev/null; }
stored() { emu GET "records/$1"; }
requests() { emu GET requests; }
touch_records() { emu POST "touch/$1" "$2" >/dev/null; }

# Drops the keys that change from run to run.
clean() { jq -c 'del(.synced_at, .sync_run_id)'; }
# Prints "exit=N" for the command's status, so the expected file checks it.
rc() { echo "exit=$?"; }
