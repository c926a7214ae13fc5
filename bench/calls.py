#!/usr/bin/env python3
"""make bench, part 4: API calls per 1,000 records, per CRM and operation,
against the floor the CRM's API allows (its largest page, batch or id
list; ../shared/api/*.md).  Counted from the emulator's request log, every
call of the run included (metadata, lookups), with no rate limits and no
latency: calls, not time.

Operations, in this order on one emulator seeded with SEED contacts:
  pull           a full pull of the contacts (--state st)
  push create    N new contacts, --mode create
  upsert new     N other new contacts, matched by email (the default)
  upsert changed the same N with a changed title
  unchanged      the same N again: nothing to write
  incr pull      pull --state st: the 3N records the pushes wrote
  lists add      N contacts added to a static list

Floors (records a call; calls per 1,000 = 1000 / that):
  hubspot     list 100, search 200 (incremental), batch create/upsert/read
              100, list memberships 100 (unverified: §8 takes more)
  salesforce  query 2,000, sObject Collections 200 (create, upsert by an
              external id, campaign members), retrieve 2,000 ids
  pipedrive   v2 list 500, no batch writes (1 a record), ids 100
  zoho        list 200 (2 field slices past 50 fields: 100), writes 100,
              ids 100, campaign members 100 (unverified)
  sugarcrm    filter 1,000 (max_num as crmsync asks), bulk 50 (crmsync's
              choice, §6: no cap), $in lookup 100
  copper      search 200, bulk 10, lookup by emails 200 (unverified)
A lookup before an upsert is not in the floor where the CRM can upsert
by the key itself (HubSpot by email, Zoho duplicate_check_fields); where it
cannot, the floor adds the cheapest lookup (a listing or an $in/IN query).
Figures also go to bench/calls.json.  Usage: calls.py [PROVIDER...]
"""
import json, os, re, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, os.environ.get("CRMSYNC_BIN", "crmsync"))
N = 200 if os.environ.get("BENCH_QUICK") == "1" else 1000
SEED = 1000

# per provider: records a call at the floor, per operation (None: not offered)
FLOOR = {
    "hubspot": {"pull": 100, "push create": 100, "upsert new": 100, "upsert changed": 100, "unchanged": 100,
                "incr pull": 200, "lists add": 100},
    "salesforce": {"pull": 2000, "push create": 200, "upsert new": 200 / 1.01, "upsert changed": 200 / 1.01,
                   "unchanged": 2000, "incr pull": 2000, "lists add": 200},
    "pipedrive": {"pull": 500, "push create": 1, "upsert new": 1, "upsert changed": 1, "unchanged": 100,
                  "incr pull": 500, "lists add": 1},
    "zoho": {"pull": 100, "push create": 100, "upsert new": 100, "upsert changed": 100, "unchanged": 100,
             "incr pull": 100, "lists add": 100},
    "sugarcrm": {"pull": 1000, "push create": 50, "upsert new": 50 / 1.5, "upsert changed": 50 / 1.5,
                 "unchanged": 100, "incr pull": 1000, "lists add": 50},
    "copper": {"pull": 200, "push create": 10, "upsert new": 10 / 1.05, "upsert changed": 10 / 1.05,
               "unchanged": 200, "incr pull": 200, "lists add": 10},
}


def start(provider):
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), provider,
                          "--records", f"contacts={SEED},accounts=20,users=3", "--rate-limits", "off"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = re.match(r"listening on (\S+)", p.stdout.readline()).group(1)
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in p.stdout.readline().split() if "=" in kv))
    env["XDG_CONFIG_HOME"] = "/nonexistent"
    return p, url, env


def ncalls(url):
    with urllib.request.urlopen(url + "/_emulator/requests") as r:
        return sum(1 for l in r.read().decode().splitlines() if l.strip())


def contacts(tag, title):
    return "".join(json.dumps({"first_name": f"Bench{i}", "last_name": tag, "title": title,
                               "email_addresses": [{"email_address": f"{tag}{i}@calls.example", "primary": True}]})
                   + "\n" for i in range(N))


def run_provider(prov, tmp):
    proc, url, env = start(prov)
    base = [BIN, "-q", "-p", prov, "--base-url", url, "--no-progress"]
    st = os.path.join(tmp, f"{prov}.state")
    out = {}

    def op(name, args, stdin=None):
        before = ncalls(url)
        r = subprocess.run(base + args, env=env, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        lines = [l for l in r.stdout.splitlines() if l.strip()]
        calls = ncalls(url) - before
        out[name] = {"records": len(lines), "calls": calls, "exit": r.returncode}
        return lines

    try:
        if os.path.exists(st):
            os.unlink(st)
        pulled = op("pull", ["pull", "contacts", "--state", st])
        op("push create", ["push", "contacts", "--mode", "create"], contacts("create", "One"))
        op("upsert new", ["push", "contacts"], contacts("upsert", "One"))
        op("upsert changed", ["push", "contacts"], contacts("upsert", "Two"))
        op("unchanged", ["push", "contacts"], contacts("upsert", "Two"))
        op("incr pull", ["pull", "contacts", "--state", st])
        lists = subprocess.run(base + ["lists"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True).stdout.splitlines()
        static = [json.loads(l)["remote_id"] for l in lists if l.strip() and not json.loads(l).get("dynamic")]
        if static:
            ids = "".join(json.loads(l)["remote_id"] + "\n" for l in pulled[:N])
            op("lists add", ["lists", "add", static[0]], ids)
    finally:
        proc.terminate()
        proc.wait()
    return out


def main():
    import tempfile
    only = sys.argv[1:]
    res, rows = {}, []
    with tempfile.TemporaryDirectory() as tmp:
        for prov in FLOOR:
            if only and prov not in only:
                continue
            res[prov] = run_provider(prov, tmp)
            for name, r in res[prov].items():
                per = r["calls"] * 1000 / max(r["records"], 1)
                floor = 1000 / FLOOR[prov][name]
                rows.append((f"{prov} {name} ({r['records']})", f"{per:.1f} calls/1,000",
                             f"floor {floor:.1f}", f"x{per / floor:.1f}" + ("" if r["exit"] == 0 else
                                                                             f"  exit {r['exit']}")))
    with open(os.path.join(ROOT, "bench", "calls.json"), "w") as f:
        json.dump(res, f, indent=2)
    w = max(len(r[0]) for r in rows) if rows else 10
    for a, b, c, d in rows:
        print(f"{a:<{w}}  {b:>18}  {c:<12} {d}")


if __name__ == "__main__":
    main()
