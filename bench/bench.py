#!/usr/bin/env python3
"""make bench: crmsync's speed and memory against the local emulator.

Rows (issue 5):
  1. pull 100k contacts: crmsync wall time / a raw keep-alive loop (bench/rawloop)
  2. CPU per record, pull and push: crmsync / the official HubSpot Node SDK
  3. peak RSS of pull and push at 10k, 100k (and 1M with --big)
  4. push 20k contacts at HubSpot's real limits (190 calls / 10 s) with 100 ms latency
  5. push --links: a 10k push against a store of 1M links, beside the same push with no store
Figures go to stdout as a table and to bench/results.json.
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, os.environ.get("CRMSYNC_BIN", "crmsync"))  # make bench: the release build
RAW = os.path.join(ROOT, "bench", "rawloop")
RSS = os.path.join(ROOT, "bench", "rss")


class Emu:
    def __init__(self, records, *extra):
        args = [sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), "hubspot", "--records", records, *extra]
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = re.match(r"listening on (\S+)", self.p.stdout.readline()).group(1)
        self.env = dict(os.environ, **dict(kv.split("=", 1) for kv in self.p.stdout.readline().split()))
        self.env["XDG_CONFIG_HOME"] = "/nonexistent"

    def requests(self):
        with urllib.request.urlopen(self.url + "/_emulator/requests") as r:
            return [json.loads(l) for l in r.read().decode().splitlines() if l.strip()]

    def stop(self):
        self.p.terminate()
        self.p.wait()


def measure(args, env, stdin=None, stdout=subprocess.DEVNULL):
    """Runs args under bench/rss (a small C parent: a child forked from
    Python would inherit Python's size in ru_maxrss); returns
    (exit, wall s, cpu s, peak RSS KiB)."""
    fin = open(stdin, "rb") if stdin else subprocess.DEVNULL
    r = subprocess.run([RSS] + args, env=env, stdin=fin, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if stdin:
        fin.close()
    m = re.search(r"^RSS (\d+) ([\d.]+) ([\d.]+)$", r.stderr, re.M)
    return r.returncode, float(m.group(3)), float(m.group(2)), int(m.group(1))


def crm(emu, *args):
    return [BIN, "-q", "-p", "hubspot", "--base-url", emu.url, "--no-progress", *args]


def contacts_file(n, path, tag):
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"first_name": "Bench", "last_name": f"Person {i}", "title": "Tester",
                                "email_addresses": [{"email_address": f"{tag}{i}@bench.example", "primary": True}]}) + "\n")


def node_client():
    """The official SDK (npm registry), installed into bench/node_modules
    from bench/package.json; returns the folder, or None without npm."""
    d = os.path.join(ROOT, "bench")
    r = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund"], cwd=d, capture_output=True, text=True)
    return d if r.returncode == 0 else None


def where_row(rows, res):
    """pull --where: the calls follow the matches, not the CRM.  10k
    contacts, a filter that matches a few hundred: search calls against
    ceil(matches / 200), HubSpot's search page."""
    emu = Emu("contacts=10000,accounts=10,deals=1,leads=1,users=2", "--rate-limits", "off")
    emu.env["CRMSYNC_RATE_LIMITS"] = "off"
    out = subprocess.run(crm(emu, "pull", "contacts", "--where", "city = London"), env=emu.env,
                         capture_output=True).stdout
    matches = out.count(b"\n")
    calls = sum(1 for q in emu.requests() if q.get("path", "").startswith("/crm/v3/objects/contacts"))
    emu.stop()
    floor = max(1, -(-matches // 200))
    res["where_pull"] = {"records": 10000, "matches": matches, "calls": calls, "pages_needed": floor}
    rows.append(("pull --where (10k contacts): calls / matches", f"{calls} calls for {matches} matches "
                 f"(ceil(matches/200) = {floor})", "calls <= pages + 1"))


def links_store(path, n):
    """A links store of n linked pairs (Salesforce contact <-> HubSpot
    contact), none of them the pushed records': the schema from crmsync
    itself, the rows in one transaction."""
    import sqlite3
    emu = Emu("contacts=1,accounts=1,deals=1,leads=1,users=1", "--rate-limits", "off")
    subprocess.run(crm(emu, "push", "contacts", "--links", path), env=emu.env, stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, check=True)
    emu.stop()
    db = sqlite3.connect(path)
    t = "2026-01-01T00:00:00Z"
    with db:
        db.executemany("INSERT INTO links (entity, object, provider, namespace, remote_id, linked_at, run_id)"
                       " VALUES (?, 'contacts', ?, ?, ?, ?, 'bench')",
                       ((e, prov, ns, f"{pre}{e}", t) for e in range(1, n + 1)
                        for prov, ns, pre in (("salesforce", "00DX", "003S"), ("hubspot", "4242", "9"))))
    db.close()


def links_row(rows, res, tmp):
    """push --links: looked up, never loaded: the store's size changes
    neither the peak RSS nor (much) the time of a push."""
    n, links = 10000, 1000000
    store, small = os.path.join(tmp, "links.db"), os.path.join(tmp, "links1k.db")
    t0 = time.time()
    links_store(store, links)
    built = time.time() - t0
    links_store(small, 1000)
    path = os.path.join(tmp, "foreign10k")
    with open(path, "w") as f:
        for i in range(n):
            f.write(json.dumps({"object": "contact", "provider": "salesforce", "remote_namespace": "00DX",
                                "remote_id": f"003B{i}", "first_name": "Bench", "last_name": f"Link {i}",
                                "email_addresses": [{"email_address": f"link{i}@bench.example", "primary": True}]}) + "\n")
    out = {}
    for what, extra in (("no_store", []), ("store_1k", ["--links", small]), ("store_1m", ["--links", store])):
        emu = Emu("contacts=10,accounts=2,deals=1,leads=1,users=2", "--rate-limits", "off")
        emu.env["CRMSYNC_RATE_LIMITS"] = "off"
        r = measure(crm(emu, "push", "contacts", *extra), emu.env, stdin=path)
        emu.stop()
        out[what] = {"exit": r[0], "wall_s": r[1], "cpu_s": r[2], "rss_kib": r[3]}
    res["links_push_10k"] = dict(out, links=links, store_build_s=built)
    a, k, b = out["no_store"], out["store_1k"], out["store_1m"]
    rows.append(("push 10k --links: RSS 1M links, 1k links, no store",
                 f"{b['rss_kib'] / 1024:.1f} MB, {k['rss_kib'] / 1024:.1f} MB, {a['rss_kib'] / 1024:.1f} MB",
                 "<= 16 MB, 1M ~ 1k"))
    rows.append(("  time", f"{b['wall_s']:.2f}s, {k['wall_s']:.2f}s, {a['wall_s']:.2f}s "
                 f"(exit {b['exit']}, {k['exit']}, {a['exit']})", "(indicative)"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--big", action="store_true", default=os.environ.get("BENCH_QUICK") != "1",
                    help="also 1M records (minutes); BENCH_QUICK=1 stops at 100k")
    ap.add_argument("--no-node", action="store_true")
    ap.add_argument("--only", choices=["where", "links"],
                    help="run one row: where = a filtered pull's calls, links = a push against 1M links")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="crmsync-bench-")
    res = {}
    rows = []
    try:
        if not a.only:
            # 1. pull 100k vs the raw loop (rate limits off).
            emu = Emu("contacts=100000,accounts=10,deals=1,leads=1,users=2", "--rate-limits", "off")
            # The emulator does not limit, so neither does crmsync's pacing: this
            # row measures the client's own cost against the raw loop.
            emu.env["CRMSYNC_RATE_LIMITS"] = "off"
            fields = subprocess.run(crm(emu, "fields", "contacts"), env=emu.env, capture_output=True, text=True).stdout
            names = [json.loads(l)["name"] for l in fields.splitlines()]
            url = emu.url + "/crm/v3/objects/contacts?limit=100&properties=" + "%2C".join(names)
            # Warm the emulator's page cache; the loop prints what it fetched.
            r0 = subprocess.run([RAW, url], env=emu.env, capture_output=True, text=True)
            fetched = re.match(r"(\d+) pages, (\d+) bytes", r0.stdout)
            # Alternate the two, three times each, and keep the best of each: the
            # machine's speed drifts (other tenants), and both should see it alike.
            raws, runs = [], []
            for _ in range(3):
                raws.append(measure([RAW, url], emu.env)[1])
                runs.append(measure(crm(emu, "pull", "contacts"), emu.env))
            raw = min(raws)
            best = min(runs, key=lambda r: r[1])
            res["pull_100k"] = {"crmsync_s": best[1], "raw_loop_s": raw, "ratio": best[1] / raw,
                                "crmsync_cpu_s": best[2], "rss_kib": best[3], "exit": best[0],
                                "raw_runs_s": raws, "crmsync_runs_s": [r[1] for r in runs]}
            rows.append(("pull 100k: crmsync / raw loop wall time", f"{best[1]:.2f}s / {raw:.2f}s = {best[1] / raw:.2f}", "<= 1.10"))
            if fetched:
                pages, nbytes = int(fetched.group(1)), int(fetched.group(2))
                res["emulator_serves"] = {"pages_per_s": pages / raw, "mb_per_s": nbytes / raw / 1e6,
                                          "records_per_s": 100000 / raw}
                rows.append(("  emulator serves (raw loop)", f"{pages / raw:.0f} pages/s, {nbytes / raw / 1e6:.0f} MB/s, "
                             f"{100000 / raw / 1000:.0f}k records/s", "(the floor)"))

            # 2. CPU per record vs the official Node SDK.  The SDK's figure is
            # process.cpuUsage() around the work, so it leaves out Node's own
            # start (loading modules); crmsync's leaves out its start the same
            # way: the CPU of a run with no records (loading shared libraries,
            # TLS set-up, the portal and fields calls), best of three.  The
            # machine's speed drifts by tens of percent within minutes, so the
            # push is measured in rounds, crmsync and the SDK back to back, and
            # the median of the rounds' ratios is reported; the pull likewise.
            idle = min(measure(crm(emu, "push", "contacts"), emu.env, stdin="/dev/null")[2] for _ in range(3))
            cpu_pull = max(0.0, best[2] - idle) / 100000
            nd = None if a.no_node or not shutil.which("npm") else node_client()
            env = dict(emu.env, PROPS=",".join(names))

            def node(*args):
                out = subprocess.run(["node", "hubspot_node.mjs", *args], cwd=nd, env=env, capture_output=True, text=True)
                return json.loads(out.stdout.strip().splitlines()[-1]) if out.returncode == 0 else None

            # The pull the same way: three rounds back to back (before the push
            # rounds add records), per record actually written.
            # (Counted once, untimed: the timed runs write to /dev/null, as the
            # SDK keeps its records in memory.)
            pulled = subprocess.run(crm(emu, "pull", "contacts"), env=emu.env, capture_output=True).stdout.count(b"\n")
            prounds = []
            for k in range(3 if nd else 0):
                cpu = measure(crm(emu, "pull", "contacts"), emu.env)[2]
                theirs = node("pull", emu.url)
                prounds.append((max(0.0, cpu - idle) / max(1, pulled), theirs["cpu_ms"] / 1000 / max(1, theirs["records"]) if theirs else None))
            rounds = []
            for k in range(5):
                contacts_file(10000, os.path.join(tmp, "push10k"), f"c{k}-")
                mine = max(0.0, measure(crm(emu, "push", "contacts"), emu.env, stdin=os.path.join(tmp, "push10k"))[2] - idle) / 10000
                env["NODE_TAG"] = f"n{k}-"
                theirs = node("push", emu.url, "10000") if nd else None
                rounds.append((mine, theirs["cpu_ms"] / 1000 / max(1, theirs["records"]) if theirs else None))
            med = lambda xs: sorted(xs)[len(xs) // 2]
            cpu_push = med([r[0] for r in rounds])
            res["cpu_per_record_us"] = {"crmsync_pull": cpu_pull * 1e6, "crmsync_push": cpu_push * 1e6,
                                        "crmsync_start_ms": idle * 1e3,
                                        "push_rounds_us": [[r[0] * 1e6, r[1] * 1e6 if r[1] else None] for r in rounds]}
            if prounds and all(r[1] for r in rounds + prounds):
                cpu_pull = med([r[0] for r in prounds])
                node_pull = med([r[1] for r in prounds])
                pratio = med([r[0] / r[1] for r in prounds])
                node_push = med([r[1] for r in rounds])
                ratio = med([r[0] / r[1] for r in rounds])
                res["cpu_per_record_us"].update({"crmsync_pull": cpu_pull * 1e6, "node_pull": node_pull * 1e6,
                                                 "node_push": node_push * 1e6, "push_ratio_median": ratio,
                                                 "pull_ratio_median": pratio,
                                                 "pull_rounds_us": [[r[0] * 1e6, r[1] * 1e6] for r in prounds]})
                rows.append(("CPU/record pull: crmsync / Node SDK", f"{cpu_pull * 1e6:.1f}us / {node_pull * 1e6:.1f}us; median of 3 rounds' ratios {pratio:.3f}", "<= 0.10"))
                rows.append(("CPU/record push: crmsync / Node SDK", f"{cpu_push * 1e6:.1f}us / {node_push * 1e6:.1f}us; median of 5 rounds' ratios {ratio:.3f}", "<= 0.10"))
                rows.append(("  push rounds' ratios", " ".join(f"{r[0] / r[1]:.3f}" for r in rounds), "(back to back)"))
                rows.append(("  crmsync's start, left out as Node's is", f"{idle * 1e3:.1f} ms CPU", "(each side's start)"))
            else:
                rows.append(("CPU/record pull, push (crmsync only)", f"{cpu_pull * 1e6:.1f}us, {cpu_push * 1e6:.1f}us", "Node SDK not run"))
            emu.stop()

            # 3. Peak RSS at several sizes.
            sizes = [10000, 100000] + ([1000000] if a.big else [])
            rss = {}
            for n in sizes:
                emu = Emu(f"contacts={n},accounts=10,deals=1,leads=1,users=2", "--rate-limits", "off")
                emu.env["CRMSYNC_RATE_LIMITS"] = "off"
                p = measure(crm(emu, "pull", "contacts"), emu.env)
                contacts_file(n, os.path.join(tmp, "push"), f"r{n}-")
                q = measure(crm(emu, "push", "contacts"), emu.env, stdin=os.path.join(tmp, "push"))
                rss[n] = {"pull_kib": p[3], "push_kib": q[3], "pull_s": p[1], "push_s": q[1], "pull_exit": p[0], "push_exit": q[0]}
                emu.stop()
            res["rss"] = rss
            for n in sizes:
                rows.append((f"peak RSS at {n // 1000}k: pull, push", f"{rss[n]['pull_kib'] / 1024:.1f} MB, {rss[n]['push_kib'] / 1024:.1f} MB", "<= 16 MB"))
            big = max(sizes)
            for k in ("pull_kib", "push_kib"):
                rows.append((f"RSS({big // 1000}k) / RSS(10k) {k[:4]}", f"{rss[big][k] / rss[10000][k]:.2f}", "<= 1.2"))

            # 4. Paced push at the real limits with 100 ms latency.
            emu = Emu("contacts=10,accounts=2,deals=1,leads=1,users=2", "--rate-limits", "real", "--latency-ms", "100")
            contacts_file(20000, os.path.join(tmp, "push20k"), "p")
            outp = os.path.join(tmp, "out20k")
            with open(outp, "w") as fo:
                r = measure(crm(emu, "push", "contacts"), emu.env, stdin=os.path.join(tmp, "push20k"), stdout=fo)
            reqs = emu.requests()
            n429 = sum(1 for q in reqs if q.get("status") == 429)
            failed = sum(1 for l in open(outp) if '"sync_status":"failed"' in l)
            rate = 20000 / r[1]
            res["paced_push_20k"] = {"wall_s": r[1], "records_per_s": rate, "ceiling": 1900, "requests": len(reqs),
                                     "answered_429": n429, "failed_records": failed, "exit": r[0]}
            rows.append(("push 20k at 190/10s + 100 ms: records/s", f"{rate:.0f}/s = {rate / 1900 * 100:.1f}% of 1900", ">= 95%"))
            rows.append(("  failed records, 429 share", f"{failed}, {n429}/{len(reqs)} = {n429 / max(1, len(reqs)) * 100:.2f}%", "0, <= 1%"))
            emu.stop()
        if a.only in (None, "where"):
            where_row(rows, res)
        if a.only in (None, "links"):
            links_row(rows, res, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not a.only:
        with open(os.path.join(ROOT, "bench", "results.json"), "w") as f:
            json.dump(res, f, indent=2)
    w = max(len(r[0]) for r in rows)
    for name, val, target in rows:
        print(f"{name:<{w}}  {val:<40} target {target}")


if __name__ == "__main__":
    main()
