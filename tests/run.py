#!/usr/bin/env python3
"""The crmsync test runner: every check of `make check`, data-driven.

Each folder tests/cases/NAME/ is one case:
  cmd       a bash script (tests/lib.sh is sourced first) whose stdout is
            compared with `expected`; it must exit 0
  expected  the exact stdout
  stdin     optional: fed to the script
  records   optional: the emulator's seed (--records), default below
  provider  optional: hubspot
  emulator  optional: extra emulator flags (default: --rate-limits off)
  slow      optional: the case mostly waits (rate limits, sleeps): it
            starts first, so the run does not end waiting on it
Cases run once with the normal binary and once with the ASan+UBSan one.
Other checks: headers compile alone, the emulator's self-test, the C unit
tests, valgrind on a pull and a push, the README's examples
(tests/readme.py), the cross-CRM migration matrix (tests/xcrm/run.py), its
round trips (tests/xcrm/roundtrip.py), two-way sync (tests/xcrm/twoway.py),
make check-live's scenario against each emulator (tests/live/scenario.py)
and the shared contract floor.
The last line is `N passed, N failed`.

  python3 tests/run.py [--bin B] [--asan-bin B] [--only SUBSTR] [--update]
"""
import argparse, concurrent.futures, json, os, re, shutil, subprocess, sys, tempfile, threading, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CASES = os.path.join(ROOT, "tests", "cases")
DEFAULT_RECORDS = "contacts=60,accounts=12,deals=12,leads=6,users=5"
passed, failed = 0, []
out_lock = threading.Lock()


def report(name, ok, detail=""):
    global passed
    with out_lock:
        if ok:
            passed += 1
            print(f"ok   {name}", flush=True)
        else:
            failed.append(name)
            print(f"FAIL {name}", flush=True)
            if detail:
                print("     " + detail.rstrip().replace("\n", "\n     ")[:4000], flush=True)


class Emulator:
    def __init__(self, provider, records, extra):
        args = [sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), provider,
                "--port", "0", "--records", records] + extra
        self.p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line1 = self.p.stdout.readline().strip()
        line2 = self.p.stdout.readline().strip()
        m = re.match(r"listening on (http://127\.0\.0\.1:\d+)", line1)
        if not m:
            raise RuntimeError(f"emulator did not start: {line1!r}")
        self.url = m.group(1)
        self.env = dict(p.split("=", 1) for p in line2.split() if "=" in p)

    def reset(self):
        req = urllib.request.Request(self.url + "/_emulator/reset", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
        urllib.request.urlopen(req, timeout=30).read()

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


emulators = {}
emu_lock = threading.Lock()


def emulator(provider, records, extra):
    """One emulator per (thread, seed): cases running at once never share one."""
    key = (threading.get_ident(), provider, records, tuple(extra))
    with emu_lock:
        if key not in emulators:
            emulators[key] = Emulator(provider, records, extra)
        return emulators[key]


def read(path, default=None):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return default


def base_env(tmp):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRMSYNC_", "HUBSPOT_", "SALESFORCE_", "PIPEDRIVE_", "ZOHO_", "SUGARCRM_", "COPPER_"))}
    env["XDG_CONFIG_HOME"] = os.path.join(tmp, "xdg")
    env["HOME"] = tmp
    # Fast retries so fault cases take milliseconds, not minutes.
    env["CRMSYNC_RETRY_BASE_MS"] = "20"
    env["CRMSYNC_RETRY_MAX_MS"] = "300"
    env["CRMSYNC_TIMEOUT_MS"] = "3000"
    env["LC_ALL"] = "C.UTF-8"
    return env


def run_case(name, binary, label, update):
    d = os.path.join(CASES, name)
    provider = (read(os.path.join(d, "provider"), "hubspot") or "hubspot").strip()
    records = (read(os.path.join(d, "records"), DEFAULT_RECORDS) or DEFAULT_RECORDS).strip()
    extra = (read(os.path.join(d, "emulator"), "--rate-limits off") or "").split()
    emu = emulator(provider, records, extra)
    emu.reset()
    tmp = tempfile.mkdtemp(prefix="crmsync-case-")
    try:
        env = base_env(tmp)
        env.update(emu.env)
        env.update({"CRMSYNC": binary, "EMU": emu.url, "PROVIDER": provider, "CASE": d, "TMP": tmp,
                    "ROOT": ROOT})
        script = f'. "{ROOT}/tests/lib.sh"\ncd "$TMP"\n' + read(os.path.join(d, "cmd"), "")
        stdin = read(os.path.join(d, "stdin"), "")
        t0 = time.time()
        # Its own process group: whatever the script left running in the
        # background is ended with it, so nothing reaches the emulator after
        # the next case has reset it.
        proc = subprocess.Popen(["bash", "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
        try:
            out, errtext = proc.communicate(stdin, timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            proc.communicate()
            report(f"{label} {name}", False, "timed out after 180 s")
            return
        finally:
            try:
                os.killpg(proc.pid, 9)
            except OSError:
                pass
        r = subprocess.CompletedProcess(proc.args, proc.returncode, out, errtext)
        expected = read(os.path.join(d, "expected"))
        if update and label == "case":
            with open(os.path.join(d, "expected"), "w", encoding="utf-8") as f:
                f.write(r.stdout)
            expected = r.stdout
        ok = r.returncode == 0 and expected is not None and r.stdout == expected
        detail = ""
        if not ok:
            import difflib
            diff = "".join(difflib.unified_diff((expected or "").splitlines(True), r.stdout.splitlines(True),
                                                "expected", "actual", n=1))
            detail = f"script exit {r.returncode} ({time.time() - t0:.1f}s)\n{diff}\nstderr:\n{r.stderr[-2500:]}"
        elif "ERROR: AddressSanitizer" in r.stderr or "runtime error:" in r.stderr or "LeakSanitizer" in r.stderr:
            ok, detail = False, "sanitizer report:\n" + r.stderr[-3000:]
        report(f"{label} {name}", ok, detail)
        if os.environ.get("CRMSYNC_TEST_TIMES"):  # where make check's minutes go
            with open(os.environ["CRMSYNC_TEST_TIMES"], "a") as f:
                f.write(f"{time.time() - t0:.1f} {label} {name}\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run_cmd(name, args, timeout=600, env=None, cwd=ROOT):
    try:
        r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)
    except subprocess.TimeoutExpired:
        report(name, False, "timed out")
        return None
    report(name, r.returncode == 0, (r.stdout[-2000:] + r.stderr[-2000:]) if r.returncode else "")
    return r


def start_suite(name, script, pattern, binary, timeout, args=()):
    """Starts a script of tests/ that prints `ok  `/`FAIL` lines; each line
    matching pattern (groups: verdict, test name, -, detail) will be one
    test.  Its output goes to files, so it may run beside the cases."""
    out, err = tempfile.TemporaryFile("w+"), tempfile.TemporaryFile("w+")
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", *script), "--bin", binary, *args],
                         stdout=out, stderr=err, text=True)
    return (name, pattern, p, out, err, time.time() + timeout, timeout)


def finish_suite(s):
    name, pattern, p, out, err, deadline, timeout = s
    try:
        p.wait(max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        report(f"{name} ran", False, f"timed out after {timeout} s")
        return
    out.seek(0)
    err.seek(0)
    stdout, stderr = out.read(), err.read()
    for line in stdout.splitlines():
        m = re.match(pattern, line)
        if m:
            report(m.group(2), m.group(1) == "ok  ", "" if m.group(1) == "ok  " else m.group(4) or "")
    if p.returncode and "FAIL" not in stdout:
        report(f"{name} ran", False, stderr[-2000:])


def suite(name, script, pattern, binary, timeout):
    finish_suite(start_suite(name, script, pattern, binary, timeout))


def providers_built(binary):
    """Providers with an emulator module that the binary knows."""
    out = []
    for f in sorted(os.listdir(os.path.join(ROOT, "tests", "emulator"))):
        name = f[:-3]
        if not f.endswith(".py") or name in ("run", "core", "test_emulator") or name.startswith("_"):
            continue
        r = subprocess.run([binary, "-p", name, "fields", "--help"], capture_output=True, text=True)
        if r.returncode == 0:
            out.append(name)
    return out


def valgrind(binary, provider):
    if not shutil.which("valgrind"):
        report("valgrind available", False, "valgrind is not installed")
        return
    emu = emulator(provider, DEFAULT_RECORDS, ["--rate-limits", "off"])
    emu.reset()
    tmp = tempfile.mkdtemp(prefix="crmsync-vg-")
    env = base_env(tmp)
    env.update(emu.env)
    vg = ["valgrind", "-q", "--leak-check=full", "--show-leak-kinds=definite,indirect",
          "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99"]
    base = [binary, "-p", provider, "--base-url", emu.url, "--no-progress"]
    r = subprocess.run(vg + base + ["pull", "contacts", "--state", os.path.join(tmp, "st")],
                       capture_output=True, text=True, env=env, timeout=300)
    report(f"valgrind {provider} pull (no leaks, no errors)", r.returncode == 0 and r.stdout.count("\n") > 10, r.stderr[-3000:])
    lines = r.stdout.splitlines()[:30] + ['{"first_name":"Val","last_name":"Grind","email_addresses":[{"email_address":"vg@example.com"}]}', "{bad json"]
    r = subprocess.run(vg + base + ["push", "contacts"], input="\n".join(lines) + "\n",
                       capture_output=True, text=True, env=env, timeout=300)
    report(f"valgrind {provider} push (no leaks, no errors)", r.returncode == 1 and r.stdout.count("\n") == 32, r.stderr[-3000:])
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "crmsync"))
    ap.add_argument("--asan-bin")
    ap.add_argument("--only")
    ap.add_argument("--update", action="store_true", help="write each case's actual stdout as expected")
    ap.add_argument("--quick", action="store_true", help="cases only, normal binary")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    background = []
    try:
        if not a.quick and not a.only:
            run_cmd("headers compile alone", ["make", "-s", "headers"])
            selftest = os.path.join(ROOT, "tests", "emulator", "test_emulator.py")
            if os.path.exists(selftest):
                run_cmd("emulator self-test", [sys.executable, selftest])
            # The fuzz corpora and every crash found, replayed under ASan+UBSan.
            fz = os.path.join(ROOT, "tests", "fuzz")
            for t in sorted(os.listdir(os.path.join(fz, "corpus"))):
                exe = os.path.join(ROOT, "build-asan", "fuzz", "replay_" + t)
                if os.path.exists(exe):
                    run_cmd(f"fuzz corpus replay: {t}", [exe, os.path.join(fz, "corpus", t), os.path.join(fz, "crashes", t)])
        names = sorted(n for n in os.listdir(CASES) if os.path.isdir(os.path.join(CASES, n)))
        if a.only:
            names = [n for n in names if a.only in n]
        # Each worker thread has its own emulators.
        # The two long suites run beside the cases, which leave the
        # machine half idle (they mostly wait on emulators).
        if not a.quick and not a.only:
            # The fault matrix: one test per provider x fault cell.
            background.append(start_suite("fault matrix", ["matrix", "run.py"],
                                          r"(ok  |FAIL) (matrix .*?)(: (.*))?$", binary, 900))
            # Every ordered pair of CRMs migrates its records: no pair may
            # fail more records or lose more values than its baseline.
            background.append(start_suite("xcrm", ["xcrm", "run.py"], r"(ok  |FAIL) (xcrm \S+)(: (.*))?$",
                                          binary, 900))
            # make check-live's scenario against each emulator, so it cannot rot.
            background.append(start_suite("live scenario", ["live", "scenario.py"],
                                          r"(ok  |FAIL) (live scenario \S+):( (.*))?$", binary, 600,
                                          ["--emulators"]))
            # A -> B -> A then a cycle with no edits: nothing written, and
            # every --dry-run predicts its real run (tests/xcrm/roundtrip.json).
            background.append(start_suite("roundtrip", ["xcrm", "roundtrip.py"],
                                          r"(ok  |FAIL) (roundtrip \S+)(: (.*))?$", binary, 900))
            # Two-way sync as the contract's two cron lines, three pairs side
            # by side (tests/xcrm/twoway.json).
            background.append(start_suite("twoway", ["xcrm", "twoway.py"],
                                          r"(ok  |FAIL) (twoway \S+)(: (.*))?$", binary, 600))
            # No secret in any output, per provider.
            background.append(start_suite("secrets", ["secrets.py"], r"(ok  |FAIL) (secrets \S+)(: (.*))?$",
                                          binary, 600))
            # Every example of README.md, run as written against the emulators.
            background.append(start_suite("readme", ["readme.py"],
                                          r"(ok  |FAIL) (readme block \d+ \(.*?\))(: (.*))?$", binary, 900))
        jobs = [(n, binary, "case") for n in names]
        if a.asan_bin and not a.quick:
            jobs += [(n, os.path.abspath(a.asan_bin), "asan") for n in names]
        # Cases marked `slow` (they wait on rate limits or sleeps) start
        # first, so none of them is what the run waits for at its end.
        jobs.sort(key=lambda j: not os.path.exists(os.path.join(CASES, j[0], "slow")))
        # Four at a time on two cores: most of a case's time is waiting
        # (emulator delays, rate limits), not CPU.
        workers = 1 if a.update else int(os.environ.get("CRMSYNC_TEST_JOBS", "4"))
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as ex:
            for f in [ex.submit(run_case, n, b, label, a.update) for n, b, label in jobs]:
                f.result()
        if not a.quick and not a.only:
            for b in background:
                finish_suite(b)
            contract = os.path.join(os.path.dirname(ROOT), "shared", "contract-tests", "e2e.py")

            def floor(prov):
                valgrind(binary, prov)
                if os.path.exists(contract):
                    run_cmd(f"contract floor: {prov}", [sys.executable, contract, prov])

            # Two at a time (two cores): signals at random (seeded) points of
            # pull and push, then valgrind and the contract floor per provider.
            with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
                tail = [ex.submit(suite, "interrupt", ["interrupt.py"],
                                  r"(ok  |FAIL) (interrupt \S+ \S+ after \d+ ms)()(.*)$", binary, 600)]
                tail += [ex.submit(floor, prov) for prov in providers_built(binary)]
                for f in tail:
                    f.result()
    finally:
        for b in background:
            if b[2].poll() is None:
                b[2].kill()
        for e in emulators.values():
            e.stop()
    if failed:
        print("failed: " + ", ".join(failed))
    print(f"{passed} passed, {len(failed)} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
