#!/usr/bin/env python3
"""make bench, part 3: pull at 200 ms of latency per CRM, read alone
(CRMSYNC_PULL_PARTS=1) and in parts side by side (the default), in
records/s, as a share of the CRM's read ceiling, and its calls per 1,000
records against the floor its page size allows.

Ceilings at 200 ms (../shared/api/*.md §9/§10/§16; the emulators enforce the
per-second limits with --rate-limits real):
  hubspot     list 100/page, 190 calls / 10 s             -> 1,900 records/s
  salesforce  2,000/page, no per-second limit: 4 in flight -> 40,000 records/s
  pipedrive   v2 500/page, 10 tokens a page, 80 tokens/2 s on the emulated
              plan: 8 pages / 2 s                          -> 2,000 records/s
  zoho        200/page, concurrency 10 (sub-concurrency) -> 10,000 records/s
  sugarcrm    1,000/page (max_num as crmsync asks), no cap; 4 in flight
              (§16: 2-4)                                   -> 20,000 records/s
              (the emulator's time to serve 1,000 rows, not the latency,
              then bounds it)
  copper      200/page, 180 calls / min = 3/s              -> 600 records/s
Only the ceiling's pages per second are counted, not the server's own
time: the figures are a floor of what a real CRM would allow.
BENCH_PULL_ONLY=1 runs just these rows (bench/providers.py calls it too).
"""
import json, os, re, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, os.environ.get("CRMSYNC_BIN", "crmsync"))
QUICK = os.environ.get("BENCH_QUICK") == "1"
LATENCY_MS = 200

# provider, object, records, ceiling records/s, records a page (the floor: 1000/page calls per 1,000)
CASES = [
    ("hubspot", "contacts", 3000, 1900.0, 100),
    ("salesforce", "contacts", 10000, 40000.0, 2000),
    ("pipedrive", "accounts", 3000, 2000.0, 500),
    ("zoho", "contacts", 3000, 10000.0, 200),
    ("sugarcrm", "contacts", 3000 if QUICK else 6000, 20000.0, 1000),
    ("copper", "contacts", 1200, 600.0, 200),
]


def start(provider, records):
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), provider,
                          "--records", records, "--rate-limits", "real", "--latency-ms", str(LATENCY_MS)],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = re.match(r"listening on (\S+)", p.stdout.readline()).group(1)
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in p.stdout.readline().split() if "=" in kv))
    env["XDG_CONFIG_HOME"] = "/nonexistent"
    return p, url, env


def requests(url):
    with urllib.request.urlopen(url + "/_emulator/requests") as r:
        return [json.loads(l) for l in r.read().decode().splitlines() if l.strip()]


def main():
    rows, res = [], {}
    only = sys.argv[1:]
    for prov, obj, n, ceil, per_page in CASES:
        if only and prov not in only:
            continue
        proc, url, env = start(prov, f"{obj}={n},users=3")
        try:
            base = [BIN, "-q", "-p", prov, "--base-url", url, "--no-progress", "pull", obj]
            res[prov] = {}
            for label, parts in (("alone", "1"), ("parts", "")):
                time.sleep(2.5)  # a fresh rate window for each run
                before = len(requests(url))
                t0 = time.monotonic()
                r = subprocess.run(base, env=dict(env, CRMSYNC_PULL_PARTS=parts), stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL)
                t = time.monotonic() - t0
                got = r.stdout.count(b"\n")
                calls = len(requests(url)) - before
                rate = got / t if t else 0
                res[prov][label] = {"records": got, "s": t, "per_s": rate, "calls": calls, "exit": r.returncode}
                rows.append((f"{prov} pull {obj} at {LATENCY_MS} ms, {label} ({got})",
                             f"{rate:.0f}/s = {rate / ceil * 100:.0f}% of {ceil:.0f}; "
                             f"{calls * 1000 / max(got, 1):.1f} calls/1,000 (floor {1000 / per_page:.1f})",
                             ">= 90%" if label == "parts" else ""))
        finally:
            proc.terminate()
            proc.wait()
    with open(os.path.join(ROOT, "bench", "pull_parts.json"), "w") as f:
        json.dump(res, f, indent=2)
    w = max(len(r[0]) for r in rows) if rows else 10
    for name, val, target in rows:
        print(f"{name:<{w}}  {val:<52} {('target ' + target) if target else ''}")


if __name__ == "__main__":
    main()
