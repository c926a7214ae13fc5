#!/usr/bin/env python3
"""The live scenario: crmsync's contract checked against one CRM account.

    python3 tests/live/scenario.py --bin ./crmsync -p PROVIDER [--profile NAME]
                                   [--base-url URL] [--report FILE] [--pause-ms N]
    python3 tests/live/scenario.py --bin ./crmsync --emulators

One scenario, two targets.  `make check-live PROVIDER=NAME` runs it against
the real CRM (credentials from the environment or the config profile, as
crmsync reads them; nothing on the command line).  `make check` runs it
against each emulator (`--emulators`: all six side by side, each through
--base-url), so the live check cannot rot.

Steps: status and fields of every object; pull of every object with
--limit, --since and --state; push create, upsert, update and delete of a
few contacts and accounts (a custom field where one exists); a deal with a
stage and a probability; list add and remove where the CRM has lists; a
cross-check through another CRM's emulator (pull from the target, push into
the emulator, pull back, push into the target: nothing is created there).
It prints `ok   STEP` or `FAIL STEP: the CRM's answer`; the last line is
`N passed, N failed` (exit 0 only when nothing failed).

Safe on a real account:
- Everything it writes carries the run's marker `crmsync-live-<run id>` (in
  names and emails), and it writes only records it created (updates and
  deletes go by the ids its own creates returned; an upsert matches on a
  marker email or name).  Lists: on a real account only the static list
  named by LIVE_LIST=ID (one the user made for the check) gets its own
  contact added and removed; without LIVE_LIST the list step is skipped.
- Everything it created is deleted at the end, also after a failed step, an
  error or SIGINT/SIGTERM: first by the ids it was given, then a sweep of
  what changed since the run began for the marker (a write whose answer was
  lost by the interruption).
- It refuses an account that `crmsync status` does not call a sandbox
  (`"sandbox": true`; false or null = production or cannot tell) unless
  LIVE_OK=1 is in the environment.
- It pauses after each crmsync run for as long as that run made calls
  (--pause-ms per call, default 1000 against a real CRM: 60 calls a minute).

The report (--report, default ./crmsync-live-PROVIDER-RUNID.json, its path
printed at the end) holds per step ok/FAIL with exit codes and error codes,
the API versions crmsync used (from its request log), and, against a real
CRM, every step whose answer differed from the emulator's (the same
scenario is run against a local emulator first).  No secret and no record
content beyond the markers: only ids, counts, codes and key names.
"""
import argparse, concurrent.futures, datetime, json, os, re, secrets, shutil, signal, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import providers  # noqa: E402  (the CRMs: crmsync --help's, with an emulator)
OBJECTS = ("accounts", "contacts", "users", "leads", "deals")
# Objects it writes, in the order they are deleted (a deal before its account).
WRITTEN = ("deals", "contacts", "accounts")
VERSION_RX = re.compile(r"^(/(?:[A-Za-z_-]+/)*?v\d+(?:[._]\d+)*)(?:/|$)")


class Stop(BaseException):
    """SIGINT or SIGTERM: not an Exception, so no step swallows it."""


def now_iso(delta_s=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=delta_s)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def start_emulator(provider, account="sandbox"):
    """An emulator of provider on a free port: (process, url, env)."""
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), provider,
                          "--port", "0", "--records", "contacts=3,accounts=2,deals=2,leads=1,users=2",
                          "--account", account, "--rate-limits", "off"],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True)
    m = re.match(r"listening on (\S+)", p.stdout.readline())
    if not m:
        p.kill()
        raise RuntimeError(f"the {provider} emulator did not start")
    env = dict(kv.split("=", 1) for kv in p.stdout.readline().split() if "=" in kv)
    return p, m.group(1), env


class Scenario:
    def __init__(self, a):
        self.a = a
        self.provider = a.provider
        self.run_id = a.run_id or (datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dt%H%M%S") +
                                   "-" + secrets.token_hex(3))
        self.marker = "crmsync-live-" + self.run_id
        self.started = now_iso()
        self.sweep_since = now_iso(-120)   # the sweep looks back a little (clock skew)
        self.pause = a.pause_ms / 1000.0
        self.steps = []                    # {"step", "ok", ...}: the report's and the signature's
        self.created = {o: [] for o in WRITTEN}
        self.versions = set()
        self.calls = 0
        self.tmp = tempfile.mkdtemp(prefix="crmsync-live-")
        self.info = {}

    # -------------------------------------------------------- running crmsync
    def crm(self, args, records=None, base_url=None, provider=None, env=None, profile=True):
        """Runs crmsync; returns (exit code, output lines as JSON, stderr without the request log)."""
        cmd = [self.a.bin, "-v", "--no-progress"]
        if provider or self.provider:
            cmd += ["-p", provider or self.provider]
        if profile and self.a.profile and not provider:
            cmd += ["--profile", self.a.profile]
        url = base_url if provider else self.a.base_url
        if url:
            cmd += ["--base-url", url]
        text = "".join(json.dumps(r) + "\n" for r in records) if records is not None else None
        e = dict(os.environ)
        e.update(env or {})
        r = subprocess.run(cmd + args, input=text, capture_output=True, text=True, env=e, timeout=600)
        err, calls = [], 0
        for line in r.stderr.splitlines():
            m = re.search(r"http: [A-Z]+ https?://[^/\s]+(/\S*) ->", line)
            if m:
                calls += 1
                if not provider:
                    v = VERSION_RX.match(m.group(1).split("?")[0])
                    if v:
                        self.versions.add(v.group(1))
            elif ": http: " not in line:
                err.append(line)
        if not provider:
            self.calls += calls
        # Far inside every CRM's rate limit: a pause per call made (one a
        # second by default: 60 a minute, where Copper allows 180 and
        # HubSpot 100 per 10 s), whatever the calls of each run were.
        if self.pause and calls:
            time.sleep(self.pause * calls)
        out = []
        for line in r.stdout.splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"unparsed": True})
        return r.returncode, out, "\n".join(err)

    # ------------------------------------------------------------- the steps
    def step(self, name, ok, rc=None, out=(), err="", note=None):
        """Records one step and prints its line.  The detail keeps codes, never record values."""
        s = {"step": name, "ok": bool(ok)}
        if rc is not None:
            s["exit"] = rc
        statuses = [r.get("sync_status") for r in out if isinstance(r, dict) and r.get("sync_status")]
        if statuses:
            s["statuses"] = statuses
        errs = [{k: r["sync_error"].get(k) for k in ("code", "http_status", "field")}
                for r in out if isinstance(r, dict) and isinstance(r.get("sync_error"), dict)]
        if errs:
            s["errors"] = errs
        warns = sorted({w.get("code", "") + ":" + str(w.get("field", "")) for r in out if isinstance(r, dict)
                        for w in (r.get("sync_warnings") or []) if isinstance(w, dict)})
        if warns:
            s["warnings"] = warns
        if note:
            s["note"] = note
        self.steps.append(s)
        if ok:
            print(f"ok   {name}" + (f" ({note})" if note else ""), flush=True)
        else:
            answer = "; ".join(f"{e.get('code')} (http {e.get('http_status')})" +
                               (f" {r['sync_error'].get('message', '')[:300]}" if r.get("sync_error") else "")
                               for r in out if isinstance(r, dict) and r.get("sync_error")
                               for e in [r["sync_error"]])
            last = err.strip().splitlines()[-1] if err.strip() else ""
            parts = [f"exit {rc}" if rc is not None else "", f"statuses {statuses}" if statuses else "",
                     answer, last, note or ""]
            print(f"FAIL {name}: " + "; ".join(p for p in parts if p), flush=True)
            s["answer"] = last[:500]
        return ok

    def remember(self, obj, out):
        for r in out:
            if r.get("sync_status") == "created" and r.get("remote_id"):
                self.created[obj].append(str(r["remote_id"]))

    def push(self, obj, records, mode=None, expect=None, name=None, extra=()):
        args = ["push", obj] + (["--mode", mode] if mode else []) + list(extra)
        rc, out, err = self.crm(args, records)
        self.remember(obj, out)
        got = [r.get("sync_status") for r in out]
        ok = rc == 0 and (expect is None or got == expect)
        self.step(name or f"push {obj} {mode or 'upsert'}", ok, rc, out, err,
                  None if ok or expect is None else f"expected {expect}")
        return out

    def check_sandbox(self):
        rc, out, err = self.crm(["status"])
        st = out[0] if out else {}
        self.info["sandbox"] = st.get("sandbox")
        for k in ("api_version", "api_domain", "account_type", "org_type"):
            if st.get(k) is not None:
                self.info[k] = st[k]
        self.step("status", rc == 0 and st.get("connected") is True, rc, [], err or st.get("message", ""))
        if rc != 0:
            return False
        if not self.provider:
            self.provider = st.get("provider")
        if st.get("sandbox") is True:
            return True
        what = "a production account" if st.get("sandbox") is False else "an account the API cannot tell from production"
        if os.environ.get("LIVE_OK") == "1":
            print(f"note {self.provider} says this is {what}; LIVE_OK=1 given: running anyway", flush=True)
            return True
        self.step("sandbox", False, note=f"{self.provider} says this is {what}: refusing to write to it "
                  "(run against a sandbox or test account, or set LIVE_OK=1 if this account is one)")
        return False

    def read_steps(self):
        self.objects = []
        for o in OBJECTS:
            rc, out, err = self.crm(["fields", o])
            if rc == 64:
                self.step(f"fields {o}", True, rc, note="the CRM has no such object")
                continue
            self.objects.append(o)
            self.step(f"fields {o}", rc == 0 and len(out) > 0, rc, [], err)
            if o == "contacts":
                self.custom = next((f["name"] for f in out if f.get("custom") and not f.get("read_only")
                                    and f.get("type") in ("string", "text", "varchar")), None)
            if o == "deals":
                st = next((f for f in out if f.get("unified") == "stage"), None) or {}
                opts = [x for x in (st.get("options") or []) if isinstance(x, dict) and x.get("label")]
                self.stage = next((x["label"] for x in opts if x.get("status", "OPEN") == "OPEN"),
                                  opts[0]["label"] if opts else None)
        state = os.path.join(self.tmp, "state.json")
        for o in self.objects:
            rc, out, err = self.crm(["pull", o, "--limit", "3"])
            self.step(f"pull {o} --limit", rc == 0 and len(out) <= 3, rc, [], err)
            self.sig_keys(f"pull {o} --limit", out)
            rc, out, err = self.crm(["pull", o, "--limit", "3", "--since", now_iso(-30 * 86400)])
            self.step(f"pull {o} --since", rc == 0, rc, [], err)
            rc, out, err = self.crm(["pull", o, "--limit", "3", "--state", state])
            self.step(f"pull {o} --state", rc == 0, rc, [], err)

    def sig_keys(self, name, out):
        """The keys a pulled record has (for the emulator comparison), never its values."""
        if out and self.steps and self.steps[-1]["step"] == name:
            self.steps[-1]["keys"] = sorted(out[0].keys())

    def write_steps(self):
        m = self.marker
        accounts = [{"name": f"{m} account {i}", "description": "crmsync make check-live"} for i in (1, 2)]
        out = self.push("accounts", accounts, "create", ["created", "created"])
        acc = [r.get("remote_id") for r in out]
        contacts = []
        for i in (1, 2):
            c = {"first_name": "Live", "last_name": f"{m} contact {i}", "title": "Tester",
                 "email_addresses": [{"email_address": f"{m}-c{i}@example.com", "email_address_type": "WORK",
                                      "primary": True}]}
            if acc and acc[0]:
                c["account"] = acc[0]
            if self.custom:
                c["remote_fields"] = {self.custom: m}
            contacts.append(c)
        out = self.push("contacts", contacts, "create", ["created", "created"],
                        name="push contacts create" + (" (custom field)" if self.custom else ""))
        con = [r.get("remote_id") for r in out]
        if self.a.index_wait_s:
            time.sleep(self.a.index_wait_s)   # the CRM's search index catches up before upserts
        up = [dict(contacts[0], title="Lead Tester"),
              {"first_name": "Live", "last_name": f"{m} contact 3",
               "email_addresses": [{"email_address": f"{m}-c3@example.com", "primary": True}]}]
        self.push("contacts", up, None, ["updated", "created"])
        if len(con) > 1 and con[1]:
            self.push("contacts", [{"remote_id": con[1], "title": "Chief Tester"}], "update", ["updated"])
        # A city: a value every CRM's account keeps (Pipedrive has no description).
        city = [{"city": "Testville", "address_type": "BILLING"}]
        self.push("accounts", [dict(accounts[0], addresses=city)], None, ["updated"])
        if len(acc) > 1 and acc[1]:
            self.push("accounts", [{"remote_id": acc[1], "name": f"{m} account 2 renamed"}], "update", ["updated"])
        if "deals" in self.objects:
            d = {"name": f"{m} deal", "amount": 1000, "probability": 40,
                 "close_date": (datetime.date.today() + datetime.timedelta(days=30)).isoformat()}
            if self.stage:
                d["stage"] = self.stage
            if acc and acc[0]:
                d["account"] = acc[0]
            out = self.push("deals", [d], "create", ["created"], name="push deals create (stage, probability)")
            if out and out[0].get("remote_id") and out[0].get("sync_status") == "created":
                self.push("deals", [{"remote_id": out[0]["remote_id"], "status": "WON"}], "update", ["updated"],
                          name="push deals update (won)")
        self.list_steps(con[0] if con else None)
        self.cross_check()
        # The deletes, in the scenario's own right (cleanup deletes whatever is left).
        for obj in WRITTEN:
            ids = list(self.created[obj])
            if not ids:
                continue
            rc, out, err = self.crm(["push", obj, "--mode", "delete"], [{"remote_id": i} for i in ids])
            for r in out:
                if r.get("sync_status") == "deleted" and str(r.get("remote_id")) in self.created[obj]:
                    self.created[obj].remove(str(r["remote_id"]))
            self.step(f"push {obj} delete", rc == 0 and all(r.get("sync_status") == "deleted" for r in out)
                      and len(out) == len(ids), rc, out, err)

    def list_steps(self, contact):
        rc, out, err = self.crm(["lists"])
        if rc == 64:
            self.step("lists", True, rc, note="the CRM has no lists")
            return
        self.step("lists", rc == 0, rc, [], err)
        static = [l for l in out if l.get("dynamic") is False and l.get("remote_id")]
        if rc or not static or not contact:
            self.step("lists add/remove", rc == 0 and not static, note="no static list to add to")
            return
        lid = str(static[0]["remote_id"])
        if not self.a.base_url:
            # A real account: never touch a list the user did not name.
            lid = os.environ.get("LIVE_LIST", "")
            if not lid:
                self.step("lists add/remove", True, note="skipped: set LIVE_LIST=ID to a static list made for the check")
                return
        rc, out, err = self.crm(["lists", "add", lid], [{"remote_id": contact}])
        self.step("lists add", rc == 0 and [r.get("sync_status") for r in out] in (["updated"], ["created"]),
                  rc, out, err)
        rc, out, err = self.crm(["lists", "remove", lid], [{"remote_id": contact}])
        self.step("lists remove", rc == 0 and [r.get("sync_status") for r in out] in (["updated"], ["deleted"]),
                  rc, out, err)

    def mine(self, out, obj):
        """The pulled records that carry this run's marker (name or email)."""
        keep = []
        for r in out:
            if r.get("remote_deleted"):
                continue
            texts = [r.get("name") or "", r.get("last_name") or ""] + \
                    [e.get("email_address") or "" for e in r.get("email_addresses") or [] if isinstance(e, dict)]
            if any(self.marker in t for t in texts):
                keep.append(r)
        return keep

    def cross_check(self):
        other = next(p for p in providers.names(self.a.bin) if p != self.provider)
        try:
            p, url, env = start_emulator(other)
        except RuntimeError as e:
            self.step(f"cross-check via {other}", False, note=str(e))
            return
        try:
            rc, out, err = self.crm(["pull", "contacts", "--since", self.sweep_since])
            ours = self.mine(out, "contacts")
            if not self.step(f"cross-check: pull contacts from {self.provider}", rc == 0 and len(ours) == 3, rc,
                             [], err, None if rc or len(ours) == 3 else f"{len(ours)} marker contacts, not 3"):
                return
            rc, out, err = self.crm(["push", "contacts"], ours, base_url=url, provider=other, env=env)
            self.step(f"cross-check: push into the {other} emulator",
                      rc == 0 and all(r.get("sync_status") == "created" for r in out), rc, out, err)
            rc, out, err = self.crm(["pull", "contacts"], base_url=url, provider=other, env=env)
            back = self.mine(out, "contacts")
            rc2, out2, err2 = self.crm(["push", "contacts"], back)
            self.remember("contacts", out2)
            self.step(f"cross-check: back into {self.provider} (matched, nothing created)",
                      rc == 0 and rc2 == 0 and len(back) == 3 and
                      all(r.get("sync_status") in ("updated", "unchanged") for r in out2), rc2, out2, err2 or err)
        finally:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()

    # ------------------------------------------------------------- cleanup
    def cleanup(self):
        """Deletes every record this run created: by id, then a marker sweep."""
        left = []
        for obj in WRITTEN:
            ids = self.created[obj]
            if ids:
                rc, out, err = self.crm(["push", obj, "--mode", "delete"], [{"remote_id": i} for i in ids])
                left += [f"{obj}/{r.get('remote_id')}" for r in out if r.get("sync_status") != "deleted"]
                if rc not in (0, 1):
                    left += [f"{obj}/{i}" for i in ids[len(out):]]
                self.created[obj] = []
        if not hasattr(self, "objects"):
            return not left   # refused before anything was written
        swept = 0
        for obj in WRITTEN:
            if obj not in self.objects:
                continue
            rc, out, err = self.crm(["pull", obj, "--since", self.sweep_since])
            ours = [{"remote_id": r["remote_id"]} for r in self.mine(out, obj) if r.get("remote_id")]
            if rc != 0:
                left.append(f"{obj}: the sweep could not pull ({err.strip()[-200:]})")
            if ours:
                swept += len(ours)
                rc, out, err = self.crm(["push", obj, "--mode", "delete"], ours)
                left += [f"{obj}/{r.get('remote_id')}" for r in out if r.get("sync_status") != "deleted"]
        self.step("cleanup", not left, note=(f"left behind: {', '.join(left)}" if left else
                                             f"every record of {self.marker} deleted" +
                                             (f" ({swept} found by the sweep)" if swept else "")))
        return not left

    def run(self):
        interrupted = None
        try:
            if self.check_sandbox():
                self.custom, self.stage = None, None
                self.read_steps()
                if self.a.fail_after:
                    raise RuntimeError(f"--fail-after {self.a.fail_after}: a simulated crash")
                self.write_steps()
        except Stop:
            interrupted = "interrupted"
            print("note interrupted: deleting what this run created", flush=True)
        except Exception as e:   # a bug or a crash mid-run: the records still go
            self.step("scenario", False, note=f"{type(e).__name__}: {e}")
        finally:
            # No second signal stops the cleanup half-way.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            self.pause = min(self.pause, 1.0)
            self.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)
        return interrupted


def signature(steps):
    return {s["step"]: {k: s.get(k) for k in ("ok", "exit", "statuses", "errors", "keys")} for s in steps}


def emulator_reference(a):
    """The same scenario against a local emulator of the provider: its steps."""
    p, url, env = start_emulator(a.provider)
    try:
        rep = os.path.join(tempfile.mkdtemp(prefix="crmsync-live-ref-"), "report.json")
        e = dict(os.environ)
        e = {k: v for k, v in e.items() if not k.startswith(("CRMSYNC_", a.provider.upper() + "_"))}
        e.update(env)
        subprocess.run([sys.executable, os.path.abspath(__file__), "--bin", a.bin, "-p", a.provider,
                        "--base-url", url, "--report", rep, "--pause-ms", "0", "--index-wait-s", "0"],
                       env=e, capture_output=True, text=True, timeout=300)
        try:
            with open(rep) as f:
                return json.load(f)["steps"]
        finally:
            shutil.rmtree(os.path.dirname(rep), ignore_errors=True)
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None
    finally:
        p.terminate()


def cannot_tell(binary, prov, url, env):
    """The CRM's API cannot tell a sandbox from production: status says
    "sandbox": null."""
    r = subprocess.run([binary, "-p", prov, "--base-url", url, "--no-progress", "status"],
                       env=env, capture_output=True, text=True)
    try:
        return json.loads(r.stdout).get("sandbox", False) is None
    except ValueError:
        return False


def all_emulators(a):
    """make check: the scenario against each emulator, side by side."""
    def one(prov):
        p, url, env = start_emulator(prov)
        try:
            e = {k: v for k, v in os.environ.items() if not k.startswith(("CRMSYNC_", prov.upper() + "_"))}
            e.update(env)
            if cannot_tell(a.bin, prov, url, e):
                e["LIVE_OK"] = "1"   # its API cannot tell a sandbox: the scenario would refuse
            rep = os.path.join(tempfile.mkdtemp(prefix="crmsync-live-"), "report.json")
            t0 = time.time()
            r = subprocess.run([sys.executable, os.path.abspath(__file__), "--bin", a.bin, "-p", prov,
                                "--base-url", url, "--report", rep, "--pause-ms", "0", "--index-wait-s", "0"],
                               env=e, capture_output=True, text=True, timeout=300)
            # What the emulator holds after the run: no record of the marker.
            left = subprocess.run([a.bin, "-p", prov, "--base-url", url, "--no-progress", "pull", "contacts"],
                                  env=e, capture_output=True, text=True).stdout.count("crmsync-live-")
            fails = [l for l in r.stdout.splitlines() if l.startswith("FAIL")]
            ok = r.returncode == 0 and not fails and not left
            try:
                with open(rep) as f:
                    versions = " ".join(json.load(f)["api_versions"])
            except (OSError, ValueError, KeyError):
                versions = "?"
            shutil.rmtree(os.path.dirname(rep), ignore_errors=True)
            return prov, ok, (f"{r.stdout.splitlines()[-1] if r.stdout else r.stderr[-500:]} in {time.time() - t0:.1f}s"
                              f" (API {versions})"
                              if ok else "; ".join(fails)[:3000] + (f"; {left} marker contacts left" if left else "") +
                              (r.stderr[-1000:] if not fails else ""))
        finally:
            p.terminate()
    failed = 0
    crms = providers.names(a.bin)
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(crms)) as ex:
        for prov, ok, detail in ex.map(one, crms):
            failed += not ok
            print(f"{'ok  ' if ok else 'FAIL'} live scenario {prov}: {detail}", flush=True)
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=os.path.join(ROOT, "crmsync"))
    ap.add_argument("-p", "--provider", default=os.environ.get("CRMSYNC_PROVIDER"))
    ap.add_argument("--profile", help="a profile of crmsync's config file")
    ap.add_argument("--base-url", help="the API root (an emulator); none: the real CRM")
    ap.add_argument("--report", help="report file (default ./crmsync-live-PROVIDER-RUNID.json)")
    ap.add_argument("--pause-ms", type=int, help="pause per API call made (default 1000; 0 with --base-url)")
    ap.add_argument("--index-wait-s", type=float, help="wait for the CRM's search index before upserts "
                                                       "(default 10; 0 with --base-url)")
    ap.add_argument("--run-id", help=argparse.SUPPRESS)
    ap.add_argument("--fail-after", help=argparse.SUPPRESS)   # tests: crash after the read steps
    ap.add_argument("--emulators", action="store_true", help="run against each emulator (make check)")
    a = ap.parse_args()
    a.bin = os.path.abspath(a.bin)
    if a.emulators:
        return all_emulators(a)
    if not a.provider and not a.profile:
        ap.error("give -p PROVIDER (or --profile NAME)")
    if a.pause_ms is None:
        a.pause_ms = 0 if a.base_url else 1000
    if a.index_wait_s is None:
        a.index_wait_s = 0 if a.base_url else 10

    def stop(signum, frame):
        raise Stop()
    # Set, not inherited: a shell starts background jobs with SIGINT ignored.
    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    sc = Scenario(a)
    reference = None
    try:
        if not a.base_url and sc.provider:
            print(f"note running the scenario against the {sc.provider} emulator first, to compare", flush=True)
            reference = emulator_reference(a)
    except Stop:
        print("note interrupted before the live run began", flush=True)
        return 130
    interrupted = sc.run()
    passed = sum(s["ok"] for s in sc.steps)
    failed = len(sc.steps) - passed
    report = {
        "run_id": sc.run_id, "marker": sc.marker, "provider": sc.provider, "profile": a.profile,
        "target": "emulator" if a.base_url else "live", "started_at": sc.started, "finished_at": now_iso(),
        "crmsync": subprocess.run([a.bin, "--version"], capture_output=True, text=True).stdout.strip(),
        "api_versions": sorted(sc.versions), "api_calls": sc.calls, "account": sc.info, "interrupted": bool(interrupted),
        "steps": sc.steps, "passed": passed, "failed": failed,
    }
    if reference is not None:
        mine, ref = signature(sc.steps), signature(reference)
        report["differences_from_emulator"] = [
            {"step": k, "emulator": ref.get(k), "live": mine.get(k)}
            for k in sorted(set(mine) | set(ref)) if mine.get(k) != ref.get(k)]
    path = a.report or os.path.abspath(f"crmsync-live-{sc.provider or 'unknown'}-{sc.run_id}.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
        f.write("\n")
    print(f"report: {path}")
    print(f"{passed} passed, {failed} failed")
    if interrupted:
        return 130
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
