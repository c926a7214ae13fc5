#!/usr/bin/env python3
"""make bench, part 2: pull and push rates of every other CRM against its
emulator at the CRM's real limits, as a fraction of the ceiling where the
CRM publishes one.  Prints a table; figures also go to bench/providers.json.

Ceilings (from ../shared/api/*.md, the limits the emulators enforce):
  pipedrive  push --mode create: one call per record, 40 calls / 2 s -> 20 records/s
             push --mode upsert: a search first, 10 searches / 2 s   -> 5 records/s
  copper     push: bulk 10 per call, 3 calls / s         -> 30 records/s
             (pulls are short bursts inside the minute window: no ceiling shown)
  salesforce, zoho, sugarcrm: no per-second ceiling (daily budgets, credits,
             concurrency): rates are reported as measured.
"""
import json, os, re, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, os.environ.get("CRMSYNC_BIN", "crmsync"))  # make bench: the release build
QUICK = os.environ.get("BENCH_QUICK") == "1"

CASES = [
    # provider, object, pull seed, pull ceiling (records/s), pushes: (mode, count, ceiling records/s)
    # Pipedrive (§9): no batch writes; an upsert is a search (10 per 2 s: 5/s)
    # then a create; --mode create is one call a record under the burst
    # limit (40 per 2 s for an API token on the emulated plan: 20/s).
    ("salesforce", "contacts", 100000 if not QUICK else 20000, None, [("upsert", 20000 if not QUICK else 5000, None)]),
    ("pipedrive", "accounts", 2000, None, [("upsert", 200, 5.0), ("create", 600, 20.0)]),
    ("zoho", "contacts", 20000, None, [("upsert", 5000, None)]),
    ("sugarcrm", "contacts", 20000, None, [("upsert", 5000, None)]),
    ("copper", "contacts", 6000, None, [("upsert", 600, 30.0)]),
]


def start(provider, records, limits):
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), provider,
                          "--records", records, "--rate-limits", limits],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = re.match(r"listening on (\S+)", p.stdout.readline()).group(1)
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in p.stdout.readline().split() if "=" in kv))
    env["XDG_CONFIG_HOME"] = "/nonexistent"
    return p, url, env


def run(args, env, stdin=None):
    t0 = time.monotonic()
    with open(stdin or os.devnull, "rb") as fin:
        r = subprocess.run(args, env=env, stdin=fin, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0, r.returncode, r.stdout.decode(errors="replace").splitlines()


def requests(url):
    with urllib.request.urlopen(url + "/_emulator/requests") as r:
        return [json.loads(l) for l in r.read().decode().splitlines() if l.strip()]


def main():
    rows, res = [], {}
    tmp = tempfile.mkdtemp(prefix="crmsync-pbench-")
    for prov, obj, npull, pceil, pushes in CASES:
        if subprocess.run([BIN, "-p", prov, "status", "--help"], capture_output=True).returncode:
            continue
        proc, url, env = start(prov, f"{obj}={npull},users=3", "real")
        try:
            base = [BIN, "-q", "-p", prov, "--base-url", url, "--no-progress"]
            t, rc, out = run(base + ["pull", obj], env)
            pull_rate = len(out) / t if t else 0
            res[prov] = {"object": obj, "pulled": len(out), "pull_s": t, "pull_per_s": pull_rate, "pull_exit": rc}
            rows.append((f"{prov} pull {obj} ({len(out)})", f"{pull_rate:.0f}/s" + (f" = {pull_rate / pceil * 100:.0f}% of {pceil:.0f}" if pceil else ""),
                         ">= 90%" if pceil else "(no ceiling)"))
            for mode, npush, wceil in pushes:
                path = os.path.join(tmp, "in")
                with open(path, "w") as f:
                    for i in range(npush):
                        rec = {"name": f"Bench Org {mode} {i}"} if obj == "accounts" else \
                              {"first_name": "Bench", "last_name": f"P{i}",
                               "email_addresses": [{"email_address": f"pb-{mode}-{i}@bench.example", "primary": True}]}
                        f.write(json.dumps(rec) + "\n")
                # A fresh window for each run: a run started right after
                # another first waits out that one's calls (which it learns
                # from the CRM's headers where it has them).
                time.sleep(2.5)
                before = len(requests(url))
                t2, rc2, out2 = run(base + ["push", obj, "--mode", mode], env, stdin=path)
                reqs = requests(url)[before:]
                n429 = sum(1 for q in reqs if q.get("status") == 429)
                created = sum(1 for l in out2 if '"sync_status":"created"' in l)
                failed = sum(1 for l in out2 if '"sync_status":"failed"' in l)
                push_rate = npush / t2 if t2 else 0
                res[prov]["push_" + mode] = {"pushed": npush, "push_s": t2, "push_per_s": push_rate, "created": created,
                                             "failed": failed, "requests": len(reqs), "answered_429": n429, "exit": rc2}
                rows.append((f"{prov} push {obj} --mode {mode} ({npush} new)",
                             f"{push_rate:.1f}/s" + (f" = {push_rate / wceil * 100:.0f}% of {wceil:.0f}" if wceil else "")
                             + f", {failed} failed, {n429}/{len(reqs)} 429", ">= 90%" if wceil else "(no ceiling)"))
        finally:
            proc.terminate()
            proc.wait()
    with open(os.path.join(ROOT, "bench", "providers.json"), "w") as f:
        json.dump(res, f, indent=2)
    w = max(len(r[0]) for r in rows) if rows else 10
    for name, val, target in rows:
        print(f"{name:<{w}}  {val:<40} target {target}")


if __name__ == "__main__":
    main()
