#!/usr/bin/env python3
"""Two-way sync, as the contract's two cron lines run it, between pairs of
CRMs side by side (hubspot<->salesforce, pipedrive<->zoho,
sugarcrm<->copper), over accounts, contacts and deals.  A cycle is, for
each object in turn, the two pipes sharing one state file S and one links
store L:

  crmsync -p A pull OBJ --state S | crmsync -p B push OBJ --links L --conflict newer
  crmsync -p B pull OBJ --state S | crmsync -p A push OBJ --links L --conflict newer

Both emulators start with their own seeded records.  Per pair it checks,
reading the store with the sqlite3 shell:
  failed     records failed in the first exchange and the quiet cycle
  unlinked   after the first exchange, live records of either side with no
             live linked record on the other (the union is not reached)
  writes     write requests (the emulators' request logs) in the cycles
             with no edits: the one after the first exchange, the one
             after the edits travelled
  edits      of an edit on each side (a contact's title), those that did
             not reach the other side, or did not stay there
  rerun      records created by a cycle re-run from scratch (a new state
             file, the same store)
  deletes    of a delete in A pulled with --deleted, skipped without
             --propagate-deletes (the copy stays) and deleted with it (the
             copy goes): the outcomes that were wrong
  recreate   a copy deleted in B fails deleted_in_target, then --recreate
             makes it again and links it: wrong outcomes

It prints one line per pair:
  ok   twoway A<->B: failed 0, unlinked 0, writes 0, edits 0, rerun 0, deletes 0, recreate 0
and compares with tests/xcrm/twoway.json: a pair fails when a figure is
above its baseline (absent: 0).  --update writes today's figures, --report
says which records and requests they count.

The baseline is empty: every figure is 0 for the three pairs.  (The first
quiet cycle used to write a deal's probability, which SugarCRM, HubSpot
and Salesforce derive from the stage, and a Pipedrive one-line address;
cases 0625-0627 hold those fixes.)

  python3 tests/xcrm/twoway.py --bin ./crmsync [--pair A,B] [--update] [--report]
"""
import argparse, concurrent.futures, json, os, shlex, subprocess, sys, tempfile, time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run as xcrm  # noqa: E402  (the emulators and helpers)
import roundtrip  # noqa: E402  (the request log and what is a write)

PAIRS = [("hubspot", "salesforce"), ("pipedrive", "zoho"), ("sugarcrm", "copper")]
OBJECTS = ["accounts", "contacts", "deals"]
SEED = "accounts=3,contacts=4,deals=3,users=2"
FIGURES = ["failed", "unlinked", "writes", "edits", "rerun", "deletes", "recreate"]


class Pair:
    def __init__(self, binary, a, b, tmp):
        self.bin, self.a, self.b, self.tmp = binary, a, b, tmp
        self.state = os.path.join(tmp, "state.json")
        self.links = os.path.join(tmp, "links.db")
        self.env = dict(os.environ)
        self.env.update(a.env)
        self.env.update(b.env)
        self.notes = []

    def cli(self, emu):
        return f"{shlex.quote(self.bin)} -p {emu.provider} --base-url {emu.url} --no-progress -q"

    def pipe(self, src, dst, obj, pull=(), push=()):
        """One cron line; returns its push's result lines."""
        line = (f"set -o pipefail; {self.cli(src)} pull {obj} --state {shlex.quote(self.state)} {' '.join(pull)}"
                f" | {self.cli(dst)} push {obj} --links {shlex.quote(self.links)} --conflict newer {' '.join(push)}")
        r = subprocess.run(["bash", "-c", line], capture_output=True, text=True, env=self.env, timeout=120)
        if r.returncode not in (0, 1):
            self.notes.append(f"{src.provider}->{dst.provider} {obj}: exit {r.returncode}: {r.stderr.strip()[:200]}")
        return xcrm.lines(r.stdout)

    def cycle(self, what, objects=OBJECTS):
        """Both pipes for each object; returns (results, write requests)."""
        mark = {e.provider: len(roundtrip.log(e)) for e in (self.a, self.b)}
        out = []
        for obj in objects:
            for src, dst in ((self.a, self.b), (self.b, self.a)):
                for r in self.pipe(src, dst, obj):
                    r["_pipe"] = f"{what} {src.provider}->{dst.provider} {obj}"
                    out.append(r)
        writes = []
        for e in (self.a, self.b):
            writes += [f"{what} {e.provider}: {q['method']} {q['path']}" for q in roundtrip.log(e)[mark[e.provider]:]
                       if roundtrip.is_write(q)]
        return out, writes

    def live(self, emu, obj):
        return {str(r["remote_id"]): r for r in xcrm.lines(xcrm.crm(self.bin, emu, ["pull", obj]).stdout)}

    def pairs(self, obj):
        """(provider, id) -> {(provider, id)} of the other side, from the store
        as a person reads it: the sqlite3 shell."""
        q = ("SELECT s.provider, s.remote_id, d.provider, d.remote_id FROM links s JOIN links d USING (entity)"
             f" WHERE s.object = '{obj}' AND d.object = s.object AND d.provider != s.provider"
             " AND s.deleted_at IS NULL AND d.deleted_at IS NULL")
        r = subprocess.run(["sqlite3", "-separator", "\t", self.links, q], capture_output=True, text=True)
        out = {}
        for row in r.stdout.splitlines():
            sp, si, dp, di = row.split("\t")
            out.setdefault((sp, si), set()).add((dp, di))
        return out

    def other(self, emu, obj, rid, dst):
        got = self.pairs(obj).get((emu.provider, str(rid)), set())
        ids = [i for p, i in got if p == dst.provider]
        return ids[0] if ids else None

    def native(self, emu, obj, rec, mode=None):
        args = ["push", obj] + (["--mode", mode] if mode else [])
        return xcrm.lines(xcrm.crm(self.bin, emu, args, stdin=json.dumps(rec) + "\n").stdout)

    def bad(self, fig, st, note):
        st[fig] += 1
        self.notes.append(f"{fig}: {note}")


def failures(results, notes):
    n = 0
    for r in results:
        if r.get("sync_status") == "failed":
            n += 1
            e = r.get("sync_error") or {}
            notes.append(f"failed: {r['_pipe']} line {r.get('sync_line')}: {e.get('code')}: {e.get('message')}")
    return n


def run_pair(binary, a, b, tmp):
    p = Pair(binary, a, b, tmp)
    st = {f: 0 for f in FIGURES}
    originals = {e.provider: {o: p.live(e, o) for o in OBJECTS} for e in (a, b)}

    # The first exchange: each side then holds the union, every record linked.
    res, _ = p.cycle("first")
    st["failed"] += failures(res, p.notes)
    for obj in OBJECTS:
        links = p.pairs(obj)
        have = {e.provider: p.live(e, obj) for e in (a, b)}
        for e, o in ((a, b), (b, a)):
            for rid in have[e.provider]:
                if not any(op == o.provider and oi in have[o.provider] for op, oi in links.get((e.provider, rid), ())):
                    p.bad("unlinked", st, f"{e.provider} {obj} {rid} has no live record linked in {o.provider}")

    # A cycle with no edits writes nothing.
    res, w = p.cycle("quiet")
    st["failed"] += failures(res, p.notes)
    p.notes += [f"quiet: {r['_pipe']} line {r.get('sync_line')} {r.get('sync_status')} {r.get('remote_id')}"
                for r in res if r.get("sync_status") not in ("unchanged", "skipped", "failed")]
    st["writes"] += len(w)
    p.notes += [f"writes: {x}" for x in w]

    # An edit on each side, to a contact of its own, travels and stays.
    # (A second apart: a CRM that keeps whole seconds must see it newer.)
    time.sleep(1.1)
    edits = []
    for e, o in ((a, b), (b, a)):
        mine = sorted(originals[e.provider]["contacts"])
        if not mine:
            continue
        rid, title = mine[0], f"Edited in {e.provider}"
        out = p.native(e, "contacts", {"remote_id": rid, "title": title})
        if not out or out[0].get("sync_status") != "updated":
            p.bad("edits", st, f"the edit in {e.provider} was not made: {out}")
            continue
        edits.append((e, o, rid, title))
    p.cycle("edits")

    def check_edits(when):
        for e, o, rid, title in edits:
            there = p.other(e, "contacts", rid, o)
            got = p.live(o, "contacts").get(str(there), {}).get("title")
            mine = p.live(e, "contacts").get(str(rid), {}).get("title")
            if got != title or mine != title:
                p.bad("edits", st, f"{when}: {e.provider} {rid} title {mine!r}, {o.provider} {there} {got!r}")
    check_edits("travelled")
    res, w = p.cycle("quiet after edits")
    st["writes"] += len(w)
    p.notes += [f"writes: {x}" for x in w]
    check_edits("stayed")

    # Deletes in A pulled with --deleted: skipped without
    # --propagate-deletes, the copy deleted with it.
    mine = sorted(originals[a.provider]["contacts"])
    if len(mine) >= 3:
        for rid, prop in ((mine[1], False), (mine[2], True)):
            there = p.other(a, "contacts", rid, b)
            p.native(a, "contacts", {"remote_id": rid}, mode="delete")
            out = [r for r in p.pipe(a, b, "contacts", pull=["--deleted"],
                                     push=["--propagate-deletes"] if prop else [])
                   if str((r.get("source") or {}).get("remote_id")) == rid]
            status = out[0].get("sync_status") if out else None
            code = (out[0].get("sync_error") or {}).get("code") if out else None
            alive = str(there) in p.live(b, "contacts")
            want = ("deleted", None, False) if prop else ("skipped", "deleted_in_source", True)
            if (status, code, alive) != want:
                p.bad("deletes", st, f"propagate={prop}: {status} {code}, copy {there} live: {alive}")
    else:
        p.bad("deletes", st, "fewer than 3 contacts in A")

    # A copy deleted in B fails deleted_in_target; --recreate makes it again.
    if len(mine) >= 4:
        rid = mine[3]
        there = p.other(a, "contacts", rid, b)
        p.native(b, "contacts", {"remote_id": there}, mode="delete")
        outcomes = []
        for n, push in ((1, []), (2, ["--recreate"])):
            time.sleep(1.1)
            p.native(a, "contacts", {"remote_id": rid, "title": f"Recreate {n}"})
            out = [r for r in p.pipe(a, b, "contacts", push=push)
                   if str((r.get("source") or {}).get("remote_id")) == rid]
            outcomes.append((out[0].get("sync_status"), (out[0].get("sync_error") or {}).get("code")) if out else None)
        now = p.other(a, "contacts", rid, b)
        got = p.live(b, "contacts").get(str(now), {})
        if outcomes != [("failed", "deleted_in_target"), ("created", None)] or now == there or \
                got.get("title") != "Recreate 2":
            p.bad("recreate", st, f"{outcomes}, linked {there} then {now}, title {got.get('title')!r}")
    else:
        p.bad("recreate", st, "fewer than 4 contacts in A")

    # A re-run from scratch (a new state file, the same store) creates nothing.
    os.unlink(p.state)
    res, _ = p.cycle("rerun")
    for r in res:
        if r.get("sync_status") == "created":
            p.bad("rerun", st, f"{r['_pipe']} line {r.get('sync_line')} created {r.get('remote_id')}")
    return st, p.notes


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(xcrm.ROOT, "crmsync"))
    ap.add_argument("--pair")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--report", action="store_true")
    o = ap.parse_args()
    binary = os.path.abspath(o.bin)
    pairs = [tuple(o.pair.split(","))] if o.pair else PAIRS
    base_path = os.path.join(HERE, "twoway.json")
    baseline = json.load(open(base_path)) if os.path.exists(base_path) else {}
    runner = xcrm.load_runner()
    made = []

    def emu(prov):
        e = runner.Emulator(prov, SEED, ["--rate-limits", "off"])
        e.provider = prov
        made.append(e)
        return e

    def run(pr):
        with tempfile.TemporaryDirectory(prefix="crmsync-twoway-") as tmp:
            return pr, run_pair(binary, emu(pr[0]), emu(pr[1]), tmp)

    results, bad = {}, 0
    try:
        # Pairs side by side: they mostly wait on their emulators.
        with concurrent.futures.ThreadPoolExecutor(max_workers=len(pairs)) as ex:
            for (x, y), (r, notes) in ex.map(run, pairs):
                key = f"{x}<->{y}"
                results[key] = r
                b = baseline.get(key, {})
                ok = o.update or all(r[f] <= b.get(f, 0) for f in FIGURES)
                bad += not ok
                extra = "" if ok else " (baseline: " + ", ".join(f"{f} {b.get(f, 0)}" for f in FIGURES) + ")"
                print(f"{'ok  ' if ok else 'FAIL'} twoway {key}: " + ", ".join(f"{f} {r[f]}" for f in FIGURES) + extra,
                      flush=True)
                if o.report or not ok:
                    for n in notes:
                        print("     " + n[:300], flush=True)
    finally:
        for e in made:
            e.stop()
    if o.update:
        with open(base_path, "w") as f:
            json.dump({k: {f: n for f, n in v.items() if n} for k, v in sorted(results.items()) if any(v.values())},
                      f, indent=1)
            f.write("\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
