#!/usr/bin/env python3
"""The fault matrix: every fault of tests/matrix/faults.json against every
provider crmsync is built with that has an emulator (tests/providers.py),
with its wire profile from tests/matrix/providers.json, or its emulator
module's MATRIX dict (a provider with neither is a FAIL: its profile is
missing, not its faults).

Each cell asserts the exit code, that stdout is NDJSON with no duplicate
record, how many records came out ("all", "none" or "partial"), that the
state file was advanced or left byte-identical, and for push that the store
holds no duplicate and no line says "created" for a record the store lacks.
Prints one line per cell and a provider x fault table.

  python3 tests/matrix/run.py --bin ./crmsync [--provider P] [--only NAME]
"""
import argparse, concurrent.futures, importlib, json, os, re, shutil, subprocess, sys, tempfile, threading, urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import providers  # noqa: E402  (the CRMs: crmsync --help's, with an emulator)


class Emu:
    def __init__(self, provider):
        args = [sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), provider,
                "--records", "contacts=450,accounts=5,deals=2,leads=1,users=2", "--rate-limits", "off"]
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.url = re.match(r"listening on (\S+)", self.p.stdout.readline()).group(1)
        self.env = dict(kv.split("=", 1) for kv in self.p.stdout.readline().split() if "=" in kv)

    def call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url + "/_emulator/" + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read().decode()

    def stored(self, obj):
        return [json.loads(l) for l in self.call("GET", "records/" + obj).splitlines() if l.strip()]

    def stop(self):
        self.p.terminate()
        self.p.wait()


def subst(rule, prof):
    r = dict(rule)
    m = r.get("match", "")
    for k in ("pull_page", "write", "any"):
        m = m.replace("{" + k + "}", prof[k])
    r["match"] = m
    # A provider may word a status its own way (Salesforce's 403 for a
    # permission, as opposed to its 403 for the daily limit).
    body = prof.get("bodies", {}).get(str(r.get("status")))
    if body and "body" not in r:
        r["body"] = body
        r["content_type"] = "application/json"
    return r


def live_ids(emu, prof):
    out = subprocess.run(["jq", "-r", prof["stored_live"]], input=emu.call("GET", "records/contacts"),
                         capture_output=True, text=True).stdout.split()
    return set(out)


def cell(binary, provider, prof, emu, f, tmp):
    """Runs one fault; returns (ok, why)."""
    emu.call("POST", "reset", {})
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRMSYNC_")}
    env.update(emu.env)
    env.update({"XDG_CONFIG_HOME": os.path.join(tmp, "xdg"), "CRMSYNC_RETRY_BASE_MS": "10",
                "CRMSYNC_RETRY_MAX_MS": "200", "CRMSYNC_TIMEOUT_MS": "3000", "CRMSYNC_LOOKBACK_S": "0"})
    env.update(f.get("env", {}))
    if f.get("oauth"):
        env.pop(prof["token_env"], None)
        env.update(prof["refresh_env"])
    if f.get("bad_token"):
        env[prof["token_env"]] = "wrong-token"
    url = "http://127.0.0.1:1" if f.get("refused") else emu.url
    state = os.path.join(tmp, "state")
    base = [binary, "-p", provider, "--base-url", url, "--no-progress"]
    want_all = live_ids(emu, prof)
    stdin = None
    if f["cmd"] == "pull":
        # A first run sets a cursor in the past, so the faulted run is incremental.
        seed = {"version": 1, "entries": {f"{provider}/default/contacts": {"cursor": "2000-01-01T00:00:00Z"}}}
        with open(state, "w") as fh:
            json.dump(seed, fh)
        before = open(state, "rb").read()
        args = base + ["pull", "contacts", "--state", state]
    else:
        n = 10
        tmpl = json.dumps(prof["new_contact"])
        stdin = "".join(tmpl.replace("{i}", str(i)) + "\n" for i in range(n))
        before_store = emu.stored("contacts")
        args = base + ["push", "contacts"]
    if f["rules"]:
        emu.call("POST", "faults", [subst(r, prof) for r in f["rules"]])
    try:
        r = subprocess.run(args, input=stdin, capture_output=True, text=True, env=env, timeout=120)
    except subprocess.TimeoutExpired:
        return False, "timed out"
    exits = f["exit"] if isinstance(f["exit"], list) else [f["exit"]]
    if r.returncode not in exits:
        return False, f"exit {r.returncode}, want {exits}: {r.stderr.strip()[-300:]}"
    try:
        lines = [json.loads(l) for l in r.stdout.splitlines()]
    except ValueError as e:
        return False, f"stdout is not NDJSON: {e}"
    if r.returncode and not re.search(f.get("stderr", "."), r.stderr, re.I):
        return False, f"stderr does not say why: {r.stderr[-200:]!r}"
    if not r.stderr.startswith("crmsync: ") and r.returncode:
        return False, f"stderr is not a crmsync diagnostic: {r.stderr[:120]!r}"
    if f["cmd"] == "pull":
        ids = [l.get("remote_id") for l in lines]
        if len(ids) != len(set(ids)):
            return False, "duplicate records on stdout"
        got = set(ids)
        if f["records"] == "all" and got != want_all:
            return False, f"{len(got)} records, want {len(want_all)}"
        if f["records"] == "none" and got:
            return False, f"{len(got)} records, want none"
        if f["records"] == "partial" and not got <= want_all:
            return False, "records that the store does not have"
        after = open(state, "rb").read()
        if f["state"] == "same" and after != before:
            return False, "state file changed"
        if f["state"] == "advanced" and after == before:
            return False, "state file not advanced"
    else:
        store = emu.stored("contacts")
        emails = {}
        listed = subprocess.run(["jq", "-r", prof["stored_email"]], input=emu.call("GET", "records/contacts"),
                                capture_output=True, text=True).stdout.split()
        for e in listed:
            e = e.lower()
            if e.startswith("matrix"):
                emails[e] = emails.get(e, 0) + 1
        if any(v > 1 for v in emails.values()):
            return False, f"duplicates in the store: {emails}"
        ids = set(subprocess.run(["jq", "-r", prof["stored_live"]], input=emu.call("GET", "records/contacts"),
                                 capture_output=True, text=True).stdout.split())
        for l in lines:
            if l.get("sync_status") == "created" and str(l.get("remote_id")) not in ids:
                return False, f"line {l.get('sync_line')} says created but the store lacks {l.get('remote_id')}"
        if f["created"] == "all" and len(emails) != 10:
            return False, f"{len(emails)} of 10 records in the store"
        if f["created"] == "none" and emails:
            return False, "records were written"
        if len(lines) not in (0, 10) and r.returncode not in (69, 75, 77):
            return False, f"{len(lines)} result lines for 10 input lines"
    return True, ""


def emulator_profile(provider):
    """The MATRIX dict of tests/emulator/PROVIDER.py, or None."""
    sys.path.insert(0, os.path.join(ROOT, "tests", "emulator"))
    try:
        return getattr(importlib.import_module(provider), "MATRIX", None)
    except ImportError:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "crmsync"))
    ap.add_argument("--provider")
    ap.add_argument("--only")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    profs = json.load(open(os.path.join(HERE, "providers.json")))
    for p in providers.names(binary):
        if p not in profs:
            profs[p] = emulator_profile(p)
    profs = {p: profs[p] for p in providers.names(binary)}
    faults = json.load(open(os.path.join(HERE, "faults.json")))
    table, bad = {}, 0
    lock = threading.Lock()
    tmp = tempfile.mkdtemp(prefix="crmsync-matrix-")

    def run_provider(provider, prof):
        """Every fault against one provider (its own emulator and folder)."""
        nonlocal bad
        if a.provider and provider != a.provider:
            return
        if not os.path.exists(os.path.join(ROOT, "tests", "emulator", provider + ".py")):
            return
        if subprocess.run([binary, "-p", provider, "status", "--help"], capture_output=True).returncode:
            return
        if prof is None:
            with lock:
                bad += 1
            print(f"FAIL matrix {provider}: no fault profile (tests/matrix/providers.json or MATRIX in "
                  f"tests/emulator/{provider}.py)", flush=True)
            return
        ptmp = os.path.join(tmp, provider)
        os.makedirs(ptmp)
        emu = Emu(provider)
        try:
            for f in faults:
                if a.only and a.only not in f["name"]:
                    continue
                if f["name"] in prof.get("not_applicable", {}):
                    with lock:
                        table.setdefault(f["name"], {})[provider] = None
                        print(f"n/a  matrix {provider} {f['cmd']} {f['name']}: {prof['not_applicable'][f['name']]}",
                              flush=True)
                    continue
                ok, why = cell(binary, provider, prof, emu, f, ptmp)
                with lock:
                    table.setdefault(f["name"], {})[provider] = ok
                    bad += not ok
                    print(f"{'ok  ' if ok else 'FAIL'} matrix {provider} {f['cmd']} {f['name']}" +
                          (f": {why}" if why else ""), flush=True)
        finally:
            emu.stop()

    try:
        # Providers side by side: each cell mostly waits (retries, backoff).
        with concurrent.futures.ThreadPoolExecutor(max_workers=int(os.environ.get("CRMSYNC_MATRIX_JOBS", "3"))) as ex:
            for fut in [ex.submit(run_provider, p, prof) for p, prof in profs.items()]:
                fut.result()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    provs = sorted({p for row in table.values() for p in row})
    print("\n| fault | " + " | ".join(provs) + " |\n|---|" + "---|" * len(provs))
    for name, row in table.items():
        print(f"| {name} | " + " | ".join("pass" if row.get(p) else "n/a" if p in row and row[p] is None
                                          else ("FAIL" if p in row else "-") for p in provs) + " |")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
