#!/usr/bin/env python3
"""The cross-CRM migration matrix: every ordered pair of the six CRMs
migrates accounts, then contacts, deals and leads with their relations
(the README's migration, --id-map of the earlier results), and every
source value is checked in the target: equal (an option value as push
matches it: the same label, case, accents and punctuation ignored, or
the target's label of the option whose code the value is), named by a
warning on its result line, or lost.

For each pair it prints one line:
  ok   xcrm A->B: failed 0, values 180 kept, 12 warned, 0 lost
and compares the counts with tests/xcrm/baseline.json: a pair fails when
it has more failed records or more lost values than its baseline (the
baseline moves down as the schema becomes one; --update writes today's
counts).  With --report it also prints, per pair, which fields were lost
and why records failed.

  python3 tests/xcrm/run.py --bin ./crmsync [--pair A,B] [--update] [--report]
"""
import argparse, concurrent.futures, importlib.util, json, os, re, subprocess, sys, tempfile, threading, unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import providers  # noqa: E402  (the CRMs: crmsync --help's, with an emulator)
SEED = "accounts=4,contacts=8,deals=6,leads=4,users=3"
OBJECTS = ["accounts", "contacts", "deals", "leads"]
# What is compared, per object: the unified keys a migration must carry.
SCALARS = {
    "accounts": ["name", "description", "industry", "website", "domain", "number_of_employees"],
    "contacts": ["first_name", "last_name", "title"],
    "deals": ["name", "description", "amount", "currency", "stage", "status", "probability", "close_date"],
    "leads": ["first_name", "last_name", "title", "company", "status", "source"],
}
RELATIONS = {"contacts": ["account"], "deals": ["account"], "leads": ["converted_contact", "converted_account"]}
LISTS = {"email_addresses": "email_address", "phone_numbers": "phone_number"}


def load_runner():
    """tests/run.py, for its Emulator (this file is a run.py too)."""
    spec = importlib.util.spec_from_file_location("testrun", os.path.join(ROOT, "tests", "run.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def Emu(provider):
    e = load_runner().Emulator(provider, SEED, ["--rate-limits", "off"])
    e.provider = provider
    return e


def crm(binary, emu, args, stdin=None, env=None):
    e = dict(os.environ)
    e.update(emu.env)
    e.update(env or {})
    r = subprocess.run([binary, "-p", emu.provider, "--base-url", emu.url, "--no-progress", "-q"] + args,
                       input=stdin, capture_output=True, text=True, env=e, timeout=300)
    return r


def lines(text):
    return [json.loads(l) for l in text.splitlines() if l.strip()]


def norm(v):
    if isinstance(v, str):
        return " ".join(v.split())
    if isinstance(v, float) and v == int(v):
        return int(v)
    return v


def label(v):
    """An option label as push compares it (lib/options): case, accents,
    spaces and punctuation ignored."""
    if not isinstance(v, str):
        return v
    v = "".join(c for c in unicodedata.normalize("NFKD", v) if not unicodedata.combining(c))
    return "".join(c for c in v.lower() if c.isalnum())


def digits(s):
    return re.sub(r"\D", "", s or "")


def warned(res, key):
    return any(w.get("field") == key for w in (res.get("sync_warnings") or []))


def pair(binary, a, b, tmp, report):
    """Migrates a's records into b; returns the counts."""
    failed, kept, warn, lost = 0, 0, 0, 0
    fails, losses = {}, {}
    maps = []
    for obj in OBJECTS:
        if obj == "leads" and False:
            continue
        src = crm(binary, a, ["pull", obj])
        if src.returncode == 64:  # the source CRM has no such object
            continue
        recs = lines(src.stdout)
        args = ["push", obj]
        for m in maps:
            args += ["--id-map", m]
        res = crm(binary, b, args, stdin=src.stdout)
        if res.returncode == 64:
            continue
        results = lines(res.stdout)
        path = os.path.join(tmp, obj + ".map")
        with open(path, "w") as f:
            f.write(res.stdout)
        maps.append(path)
        idmap = {}
        for m in maps:
            for r in lines(open(m).read()):
                s = r.get("source") or {}
                if s.get("remote_id") and r.get("remote_id"):
                    idmap[str(s["remote_id"])] = str(r["remote_id"])
        target = {str(r.get("remote_id")): r for r in lines(crm(binary, b, ["pull", obj]).stdout)}
        # The target's option fields: a value that is no label of the
        # target but one of its codes is written by that code (CONTRACT,
        # push), and comes back under the target's label for it (an org
        # that relabelled "Negotiation/Review" as "Negotiation").
        labels, by_code = {}, {}
        for f in lines(crm(binary, b, ["fields", obj]).stdout):
            if f.get("unified") and f.get("options"):
                for op in f["options"]:
                    labels.setdefault(f["unified"], set()).add(label(op.get("label")))
                    by_code.setdefault(f["unified"], {}).setdefault(norm(str(op.get("value"))), label(op.get("label")))
        for src_rec, out in zip(recs, results):
            if out.get("sync_status") == "failed":
                failed += 1
                code = (out.get("sync_error") or {}).get("code")
                fails[f"{obj}:{code}"] = fails.get(f"{obj}:{code}", 0) + 1
                continue
            got = target.get(str(out.get("remote_id")))
            if got is None:
                continue
            checks = []
            for k in SCALARS[obj]:
                v = src_rec.get(k)
                if v is None or v == "" or v == []:
                    continue
                same = norm(v) == norm(got.get(k))
                if not same and k in labels:
                    same = label(v) == label(got.get(k)) or (
                        label(v) not in labels[k] and by_code[k].get(norm(v), object()) == label(got.get(k)))
                checks.append((k, same))
            for k in RELATIONS.get(obj, []):
                v = src_rec.get(k)
                if v:
                    checks.append((k, idmap.get(str(v)) == (str(got.get(k)) if got.get(k) is not None else None)))
            for k, sub in LISTS.items():
                vals = [x.get(sub) for x in src_rec.get(k) or [] if x.get(sub)]
                have = [x.get(sub) for x in got.get(k) or [] if x.get(sub)]
                for v in vals:
                    same = (v.lower() in [h.lower() for h in have]) if sub == "email_address" else \
                        digits(v) in [digits(h) for h in have]
                    checks.append((k, same))
            for k, ok in checks:
                if ok:
                    kept += 1
                elif warned(out, k):
                    warn += 1
                else:
                    lost += 1
                    losses[f"{obj}.{k}"] = losses.get(f"{obj}.{k}", 0) + 1
    return {"failed": failed, "kept": kept, "warned": warn, "lost": lost, "fails": fails, "losses": losses}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "crmsync"))
    ap.add_argument("--pair")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("--report", action="store_true")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    crms = providers.names(binary)
    pairs = [(x, y) for x in crms for y in crms if x != y]
    if a.pair:
        pairs = [tuple(a.pair.split(","))]
    base_path = os.path.join(HERE, "baseline.json")
    baseline = json.load(open(base_path)) if os.path.exists(base_path) else {}
    # Sources are read only; each worker has its own targets (reset per pair).
    sources = {p: Emu(p) for p in {x for x, _ in pairs}}
    local = threading.local()
    made, lock = [], threading.Lock()
    results, bad = {}, 0

    def target(p):
        if not hasattr(local, "emus"):
            local.emus = {}
        if p not in local.emus:
            local.emus[p] = Emu(p)
            with lock:
                made.append(local.emus[p])
        return local.emus[p]

    def run(pr):
        x, y = pr
        t = target(y)
        t.reset()
        with tempfile.TemporaryDirectory(prefix="crmsync-xcrm-") as tmp:
            return pr, pair(binary, sources[x], t, tmp, a.report)

    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(os.environ.get("CRMSYNC_TEST_JOBS", "2"))) as ex:
            for (x, y), r in ex.map(run, pairs):
                key = f"{x}->{y}"
                results[key] = {"failed": r["failed"], "lost": r["lost"]}
                b = baseline.get(key)
                ok = a.update or b is None or (r["failed"] <= b["failed"] and r["lost"] <= b["lost"])
                bad += not ok
                extra = "" if ok else f" (baseline: failed {b['failed']}, lost {b['lost']})"
                print(f"{'ok  ' if ok else 'FAIL'} xcrm {key}: failed {r['failed']}, values {r['kept']} kept, "
                      f"{r['warned']} warned, {r['lost']} lost{extra}", flush=True)
                if a.report and (r["fails"] or r["losses"]):
                    print(f"     failed: {json.dumps(r['fails'], sort_keys=True)}  lost: {json.dumps(r['losses'], sort_keys=True)}")
    finally:
        for e in list(sources.values()) + made:
            e.stop()
    if a.update:
        with open(base_path, "w") as f:
            json.dump(dict(sorted(results.items())), f, indent=1)
            f.write("\n")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
