# Shared by cases 0450-0455 (sourced after ID_KEY, STORED and WRITES are set):
# on push, null or absent means "no value given" (CONTRACT, push).
#   ID_KEY  the stored record's id key; STORED  jq: [last name, title, owner, account]
#   WRITES  jq: the body of each write request in the request log
# A contact with an owner, an account and a title:
crm pull contacts 2>/dev/null | jq -c 'select(.owner != null and .account != null and .title != null)' | head -1 > one
ID=$(jq -r .remote_id one)
show() { stored contacts | jq -c --arg id "$ID" "select((.$ID_KEY | tostring) == \$id) | $STORED"; }
writes() { requests | jq -c "$WRITES"; }
show
jq -c '{remote_id, title: null, owner: null, account: null, last_name: "Changed"}' one > in
echo "--- null is left out: the CRM keeps owner, account and title"
crm push contacts < in > out 2>/dev/null; rc
jq -c '[.sync_status, .sync_warnings]' out
show
echo "writes $(writes | wc -l), null or empty values in them: $(writes | jq '[.. | select(. == null or . == "")] | length' | paste -sd+ | bc)"
echo "--- the same again: only nulls differ, so unchanged, and --dry-run says so"
crm push contacts --dry-run < in 2>/dev/null | jq -c '[.sync_status, .sync_payload]'
crm push contacts < in 2>/dev/null | jq -c '[.sync_status, .sync_warnings]'
echo "writes $(writes | wc -l)"
echo "--- --clear-nulls: a null clears the field where the CRM allows it"
jq -c '.last_name = "Cleared"' in > in2
crm push contacts --clear-nulls --dry-run < in2 2>/dev/null | jq -c '[.sync_status, .sync_warnings]'
crm push contacts --clear-nulls < in2 > out 2>/dev/null; rc
jq -c '[.sync_status, .sync_warnings]' out
show
writes | tail -1
