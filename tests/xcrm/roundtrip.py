#!/usr/bin/env python3
"""Round trips are exact: for every ordered pair A,B of the six CRMs,
accounts, contacts and deals go A -> B (a migration, relations through
--id-map), then back B -> A onto the records they came from, then a
second cycle A -> B -> A with no edits in between.  That second cycle
must write nothing: every result `unchanged`, no write request reaching
either emulator.  Before each push a --dry-run of the same input must
predict, line for line, the sync_status the real push reports.

A record goes back as a user would without a links store: accounts and
contacts through a plain pipe (`pull B | push A --id-map`, matched on
their key); a deal, which has no key, names the target CRM (`provider`)
and the target's id (`remote_id`, from the first leg's results), its
relations translated the same way, and leaves out what belongs to the
other CRM (remote_fields, namespace).

For each pair it prints one line:
  ok   roundtrip A->B: writes 0, updated 0, dry-run mismatches 0 (back: 3 updated)
and compares it with tests/xcrm/roundtrip.json: a pair fails when it has
more writes, updates or mismatches than its baseline (--update writes
today's figures).  `back` counts the updates of the first return B -> A
(values the other CRM gave back differently): shown, not judged.
With --report it also names the writes and the mismatched lines.

  python3 tests/xcrm/roundtrip.py --bin ./crmsync [--pair A,B] [--update] [--report]
"""
import argparse, concurrent.futures, json, os, re, sys, threading, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as xcrm  # noqa: E402  (the migration matrix: its emulators and helpers)

OBJECTS = ["accounts", "contacts", "deals"]
# Objects with a match key go back through a plain pipe (pull A | push B),
# matched on their key; deals (no key) are sent to the record's id.
KEYED = ["accounts", "contacts"]
RELATIONS = ["account", "converted_contact", "converted_account"]
# Keys the pull sets that belong to the CRM it came from.
FOREIGN = ["remote_namespace", "remote_fields", "remote_created_at", "remote_updated_at", "remote_deleted",
           "remote_deleted_at", "synced_at", "sync_run_id", "sync_profile", "owner"]
# Requests that only read, though not GETs (searches, batch reads, logins).
READS = re.compile(r"/search|/batch/read|/filter|/query|/coql|fetch_by_email|oauth|/token|/login|"
                   r"/associations/.*/batch/read")


def log(emu):
    with urllib.request.urlopen(emu.url + "/_emulator/requests", timeout=30) as r:
        return [json.loads(l) for l in r.read().decode().splitlines() if l.strip()]


def is_write(req):
    if req["method"] == "GET" or READS.search(req["path"]):
        return False
    body = req.get("body")
    # Salesforce reads by ids with a POST to /composite/sobjects/TYPE.
    if req["method"] == "POST" and re.search(r"/composite/sobjects/\w+$", req["path"]):
        return False
    # SugarCRM's /bulk: a write when one of its requests is.
    if req["path"].endswith("/bulk") and isinstance(body, dict):
        return any(r.get("method", "GET") != "GET" for r in body.get("requests", []))
    return True


def retarget(recs, provider, ids, rel):
    """recs (pulled from the other CRM) as records of `provider`: remote_id
    and relations translated by ids / rel (other id -> this CRM's id);
    records with no counterpart are left out."""
    out = []
    for r in recs:
        mine = ids.get(str(r.get("remote_id")))
        if not mine:
            continue
        r = {k: v for k, v in r.items() if k not in FOREIGN}
        r["provider"], r["remote_id"] = provider, mine
        for k in RELATIONS:
            if r.get(k) is not None:
                if str(r[k]) in rel:
                    r[k] = rel[str(r[k])]
                else:
                    del r[k]
        out.append(r)
    return out


def push(binary, emu, obj, recs, args, st, what):
    """Pushes recs (a --dry-run first, to compare); returns the results."""
    text = "".join(json.dumps(r) + "\n" for r in recs)
    dry = xcrm.lines(xcrm.crm(binary, emu, ["push", obj, "--dry-run"] + args, stdin=text).stdout)
    res = xcrm.lines(xcrm.crm(binary, emu, ["push", obj] + args, stdin=text).stdout)
    for d, r in zip(dry, res):
        if d.get("sync_status") != r.get("sync_status"):
            st["mismatch"] += 1
            st["notes"].append(f"{what} {obj} line {r.get('sync_line')}: dry-run {d.get('sync_status')}, "
                               f"real {r.get('sync_status')}")
    if len(dry) != len(res):
        st["mismatch"] += abs(len(dry) - len(res))
    for d, r in zip(dry, res):
        r["sync_payload"] = d.get("sync_payload")
    return res


def pair(binary, a, b, tmp):
    st = {"writes": 0, "updated": 0, "mismatch": 0, "back": 0, "notes": []}
    ab, ba = {}, {}  # a's id -> b's id, and back
    maps = []
    # Leg 1: the migration A -> B.
    for obj in OBJECTS:
        src = xcrm.crm(binary, a, ["pull", obj])
        if src.returncode:
            continue
        args = [x for m in maps for x in ("--id-map", m)]
        res = push(binary, b, obj, xcrm.lines(src.stdout), args, st, "A->B")
        path = os.path.join(tmp, obj + ".map")
        with open(path, "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in res)
        maps.append(path)
        for r in res:
            s = r.get("source") or {}
            if r.get("sync_status") in ("created", "updated", "unchanged") and s.get("remote_id") and r.get("remote_id"):
                ab[str(s["remote_id"])] = str(r["remote_id"])
                ba[str(r["remote_id"])] = str(s["remote_id"])

    def leg(src, dst, ids, what, count):
        idmap = os.path.join(tmp, f"{src.provider}-{dst.provider}.map")
        with open(idmap, "w") as f:
            f.writelines(json.dumps({"source": {"provider": src.provider, "remote_id": k}, "remote_id": v}) + "\n"
                         for k, v in ids.items())
        for obj in OBJECTS:
            got = xcrm.crm(binary, src, ["pull", obj])
            if got.returncode:
                continue
            recs, args = xcrm.lines(got.stdout), []
            if obj in KEYED:  # a pipe, as the contract's two-way sync: matched by key
                recs = [r for r in recs if str(r.get("remote_id")) in ids]
                args = ["--id-map", idmap]
            else:
                recs = retarget(recs, dst.provider, ids, ids)
            if not recs:
                continue
            before = len(log(dst))
            res = push(binary, dst, obj, recs, args, st, what)
            n = sum(r.get("sync_status") == "updated" for r in res)
            if count:
                st["updated"] += n
                w = [q for q in log(dst)[before:] if is_write(q)]
                st["writes"] += len(w)
                for q in w:
                    st["notes"].append(f"{what} {obj}: {q['method']} {q['path']}")
                for r in res:
                    if r.get("sync_status") != "unchanged":
                        st["notes"].append(f"{what} {obj} line {r.get('sync_line')}: {r.get('sync_status')} "
                                           f"{json.dumps(r.get('sync_error') or r.get('sync_payload') or '', sort_keys=True)}")
            else:
                st["back"] += n

    # Back B -> A onto the originals, then a cycle with no edits.
    leg(b, a, ba, "B->A", False)
    leg(a, b, ab, "cycle A->B", True)
    leg(b, a, ba, "cycle B->A", True)
    return st


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(xcrm.ROOT, "crmsync"))
    ap.add_argument("--pair")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--report", action="store_true")
    o = ap.parse_args()
    binary = os.path.abspath(o.bin)
    crms = xcrm.providers.names(binary)
    pairs = [(x, y) for x in crms for y in crms if x != y]
    if o.pair:
        pairs = [tuple(o.pair.split(","))]
    base_path = os.path.join(HERE, "roundtrip.json")
    baseline = json.load(open(base_path)) if os.path.exists(base_path) else {}
    local = threading.local()
    made, lock = [], threading.Lock()
    results, bad = {}, 0

    def emu(p):
        if not hasattr(local, "emus"):
            local.emus = {}
        if p not in local.emus:
            local.emus[p] = xcrm.Emu(p)
            with lock:
                made.append(local.emus[p])
        local.emus[p].reset()
        return local.emus[p]

    def run(pr):
        import tempfile
        x, y = pr
        with tempfile.TemporaryDirectory(prefix="crmsync-rt-") as tmp:
            return pr, pair(binary, emu(x), emu(y), tmp)

    keys = ("writes", "updated", "mismatch")
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(os.environ.get("CRMSYNC_TEST_JOBS", "2"))) as ex:
            for (x, y), r in ex.map(run, pairs):
                key = f"{x}->{y}"
                results[key] = {k: r[k] for k in keys}
                b = baseline.get(key, {k: 0 for k in keys})
                ok = o.update or all(r[k] <= b.get(k, 0) for k in keys)
                bad += not ok
                extra = "" if ok else " (baseline: " + ", ".join(f"{k} {b.get(k, 0)}" for k in keys) + ")"
                print(f"{'ok  ' if ok else 'FAIL'} roundtrip {key}: writes {r['writes']}, updated {r['updated']}, "
                      f"dry-run mismatches {r['mismatch']} (back: {r['back']} updated){extra}", flush=True)
                if o.report:
                    for n in r["notes"]:
                        print("     " + n[:300])
    finally:
        for e in made:
            e.stop()
    if o.update:
        with open(base_path, "w") as f:
            json.dump({k: v for k, v in sorted(results.items()) if any(v.values())}, f, indent=1)
            f.write("\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
