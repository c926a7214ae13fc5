# The default match keys mean the same in every CRM (CONTRACT, push
# --mode upsert); sourced by the cmd of cases 0460-0465, one per provider.
# Write requests after the log's line $1 (reads, searches and logins aside).
writes_since() {
  requests | tail -n +"$(($1 + 1))" | jq -c 'select(.method != "GET" and
    (.path | test("search|filter|query|/batch/read|oauth|token|login|coql"; "i") | not)) | [.method, .path]'
}

echo "# (a) deals have no match key: two deals of one name stay two"
# (Salesforce and Zoho need a stage: the cmd names their labels.)
echo '{"name":"Twin Deal","amount":77000,"status":"LOST","close_date":"2026-06-30"'"${LOST_STAGE:+,\"stage\":\"$LOST_STAGE\"}}" |
  crm push deals > d1 2>/dev/null; rc
echo '{"name":"Twin Deal","amount":5000,"status":"OPEN","close_date":"2026-12-31"'"${OPEN_STAGE:+,\"stage\":\"$OPEN_STAGE\"}}" |
  crm push deals > d2 2>/dev/null; rc
jq -c '[.sync_status, .sync_error.code]' d1 d2
[ "$(jq -r .remote_id d1)" != "$(jq -r .remote_id d2)" ] && echo "two remote ids"
crm pull deals 2>/dev/null | jq -c 'select(.name == "Twin Deal") | .amount' | sort -n

echo "# (b) an account without a domain matches by exact name the second time"
echo '{"name":"Nodomain Works"}' | crm push accounts > a1 2>/dev/null; rc
echo '{"name":"Nodomain Works"}' | crm push accounts > a2 2>/dev/null; rc
jq -c '[.sync_status, .sync_error.code]' a1 a2
[ "$(jq -r .remote_id a1)" = "$(jq -r .remote_id a2)" ] && echo "one remote id"
crm pull accounts 2>/dev/null | jq -c 'select(.name == "Nodomain Works") | .name'

echo "# (c) two records hold the --match value: ambiguous_match, nothing written"
printf '%s\n' '{"first_name":"Ann","last_name":"Twin","email_addresses":[{"email_address":"ann.twin@example.org","primary":true}]}' \
  '{"first_name":"Bob","last_name":"Twin","email_addresses":[{"email_address":"bob.twin@example.org","primary":true}]}' |
  crm push contacts > c1 2>/dev/null; rc
jq -c '[.sync_status, .sync_error.code]' c1
n0=$(requests | wc -l)
echo '{"first_name":"Cid","last_name":"Twin","title":"CTO"}' | crm push contacts --match last_name > c2 2>/dev/null; rc
jq -c '[.sync_status, .sync_error.code]' c2
# The candidates in id order (numbers by value): both Twins, none left out.
ids=$(jq -rs 'map(.remote_id) | sort_by(length, .) | join(", ")' c1)
jq -r .sync_error.message c2 | sed "s/$ids/IDS/"
writes_since "$n0"
echo "# ...and a dry run predicts it"
echo '{"first_name":"Cid","last_name":"Twin"}' | crm push contacts --match last_name --dry-run 2>/dev/null |
  jq -c '[.sync_status, .sync_error.code]'

echo "# (d) --mode update with no remote_id and no value for the key: skipped"
n0=$(requests | wc -l)
printf '%s\n' '{"first_name":"Nokey"}' | crm push contacts --mode update > u1 2>/dev/null; rc
printf '%s\n' '{"description":"no name, no domain"}' | crm push accounts --mode update > u2 2>/dev/null; rc
printf '%s\n' '{"name":"Twin Deal","amount":1}' | crm push deals --mode update > u3 2>/dev/null; rc
jq -c '[.sync_status, .sync_error.code, .sync_error.message]' u1 u2 u3
writes_since "$n0"
