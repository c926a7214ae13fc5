# Shared by cases 0330-0335 (one per provider): ids that do not have the
# CRM's id syntax fail their record with invalid_id and never reach the
# CRM ("1001/" deleted record 1001; "999999/../1001" and "1001?x=1" went
# out as written).  Checks push --mode delete, --mode update, upsert, a
# bad relation, lists add/remove and lists members.
R=$(crm pull contacts --limit 1 2>/dev/null | jq -r .remote_id)
L=$(crm lists 2>/dev/null | jq -r 'select(.dynamic == false) | .remote_id' | head -1)
emu POST reset '{}' >/dev/null
bad() {
	jq -nc --arg r "$R" '$r + "/", "999999/../" + $r, $r + "?x=1", $r + "%2F", " " + $r, $r + "#x",
		$r + "000000000000000000000000000000", $r + "\n" | {remote_id: .}'
}
# Requests that mention the real id (path, query or body), or whose path
# holds ".." (a list name searched for may hold it in a query).
hits() { requests | jq -s --arg r "$R" '[.[] | select((.path | contains("..")) or
	((.path + " " + (.query | tostring) + " " + (.body | tostring)) | contains($r)))] | length'; }
for mode in delete update upsert; do
	echo "mode $mode"
	bad | crm push contacts --mode "$mode" > out 2>/dev/null; rc
	jq -c '[.sync_line, .sync_status, .sync_error.code, .sync_error.field]' out
done
jq -r '.sync_error.message' out | head -1 | sed "s/$R/R/"
echo "relation"
jq -nc --arg r "$R" '{remote_id: $r, account: "1/../2"}, {remote_id: $r, owner: ($r + "/")}' |
	crm push contacts --mode update > out 2>/dev/null; rc
jq -c '[.sync_line, .sync_status, .sync_error.code, .sync_error.field]' out
echo "hits $(hits)"
crm pull contacts 2>/dev/null | jq -s --arg r "$R" '[.[] | select(.remote_id == $r and .remote_deleted != true)] | length'
emu POST reset '{}' >/dev/null
for sub in add remove; do
	echo "lists $sub"
	bad | crm lists "$sub" "$L" > out 2>/dev/null; rc
	jq -c '[.sync_line, .sync_status, .sync_error.code]' out
done
echo "hits $(hits)"
echo "lists members"
crm lists members '1/../2' 2>err >/dev/null; rc
sed "s/$R/R/" err
echo "hits $(hits)"
