#!/usr/bin/env python3
"""make bench, part 2: pull and push rates of every other CRM against its
emulator at the CRM's real limits, as a fraction of the ceiling where the
CRM publishes one.  Prints a table; figures also go to bench/providers.json.

Ceilings (from ../shared/api/*.md, the limits the emulators enforce):
  pipedrive  push: one call per record, 40 calls / 2 s  -> 20 records/s
  copper     pull: 180 calls / min x 200 per page        -> 600 records/s
             push: bulk 10 per call, 3 calls / s         -> 30 records/s
  salesforce, zoho, sugarcrm: no per-second ceiling (daily budgets, credits,
             concurrency): rates are reported as measured.
"""
import json, os, re, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "crmsync")
QUICK = os.environ.get("BENCH_QUICK") == "1"

CASES = [
    # provider, object, pull seed, push count, pull ceiling, push ceiling
    ("salesforce", "contacts", 100000 if not QUICK else 20000, 20000 if not QUICK else 5000, None, None),
    ("pipedrive", "accounts", 2000, 300, None, 20.0),
    ("zoho", "contacts", 20000, 5000, None, None),
    ("sugarcrm", "contacts", 20000, 5000, None, None),
    ("copper", "contacts", 6000, 600, 600.0, 30.0),
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


def main():
    rows, res = [], {}
    tmp = tempfile.mkdtemp(prefix="crmsync-pbench-")
    for prov, obj, npull, npush, pceil, wceil in CASES:
        if subprocess.run([BIN, "-p", prov, "status", "--help"], capture_output=True).returncode:
            continue
        proc, url, env = start(prov, f"{obj}={npull},users=3", "real")
        try:
            base = [BIN, "-q", "-p", prov, "--base-url", url, "--no-progress"]
            t, rc, out = run(base + ["pull", obj], env)
            pull_rate = len(out) / t if t else 0
            path = os.path.join(tmp, "in")
            with open(path, "w") as f:
                for i in range(npush):
                    rec = {"name": f"Bench Org {i}"} if obj == "accounts" else \
                          {"first_name": "Bench", "last_name": f"P{i}",
                           "email_addresses": [{"email_address": f"pb{i}@bench.example", "primary": True}]}
                    f.write(json.dumps(rec) + "\n")
            t2, rc2, out2 = run(base + ["push", obj], env, stdin=path)
            created = sum(1 for l in out2 if '"sync_status":"created"' in l)
            failed = sum(1 for l in out2 if '"sync_status":"failed"' in l)
            push_rate = npush / t2 if t2 else 0
            res[prov] = {"object": obj, "pulled": len(out), "pull_s": t, "pull_per_s": pull_rate, "pull_exit": rc,
                         "pushed": npush, "push_s": t2, "push_per_s": push_rate, "created": created,
                         "failed": failed, "push_exit": rc2}
            rows.append((f"{prov} pull {obj} ({len(out)})", f"{pull_rate:.0f}/s" + (f" = {pull_rate / pceil * 100:.0f}% of {pceil:.0f}" if pceil else ""),
                         ">= 90%" if pceil else "(no ceiling)"))
            rows.append((f"{prov} push {obj} ({npush} new)", f"{push_rate:.1f}/s" + (f" = {push_rate / wceil * 100:.0f}% of {wceil:.0f}" if wceil else "")
                         + f", {failed} failed", ">= 90%" if wceil else "(no ceiling)"))
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
