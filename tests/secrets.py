#!/usr/bin/env python3
"""Secrets never leak, for every provider: each command runs with -v, with a
credential of a recognisable value that the emulator refuses, and again
with a fault in the way; the value must not appear in stdout, stderr, the
state file, the summary, the rejects file or the emulator's request log.
A credential given on the command line is refused (there is no option).
Prints one line per provider and exits non-zero on a leak.

  python3 tests/secrets.py --bin ./crmsync
"""
import argparse, json, os, re, subprocess, sys, tempfile, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SECRET = "tok-S3CRET-4711-do-not-print"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "crmsync"))
    a = ap.parse_args()
    profs = json.load(open(os.path.join(ROOT, "tests", "matrix", "providers.json")))
    bad = 0
    for prov, prof in profs.items():
        if subprocess.run([a.bin, "-p", prov, "status", "--help"], capture_output=True).returncode:
            continue
        p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), prov,
                              "--records", "contacts=20,accounts=3,deals=2,leads=2,users=2", "--rate-limits", "off"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        url = re.match(r"listening on (\S+)", p.stdout.readline()).group(1)
        demo = dict(kv.split("=", 1) for kv in p.stdout.readline().split() if "=" in kv)
        leaks = []
        try:
            with tempfile.TemporaryDirectory() as d:
                files = [os.path.join(d, n) for n in ("state", "summary", "rejects")]
                stdin = '{"first_name":"S","email_addresses":[{"email_address":"s@example.com"}]}\n{bad\n'
                cmds = [["status"], ["pull", "contacts", "--state", files[0], "--summary", files[1]],
                        ["fields", "contacts"], ["lists"],
                        ["push", "contacts", "--rejects", files[2], "--summary", files[1]]]
                envs = []
                # Every secret-looking variable of the provider gets the recognisable value.
                wrong = dict(demo)
                for k in list(wrong):
                    if re.search(r"TOKEN|KEY|SECRET|PASSWORD", k):
                        wrong[k] = SECRET
                wrong.setdefault(prof["token_env"], SECRET)
                envs.append(("refused credential", wrong, None))
                envs.append(("fault in the way", wrong,
                             [{"match": prof["any"], "status": 503, "times": 3}]))
                for label, extra, faults in envs:
                    if faults:
                        req = urllib.request.Request(url + "/_emulator/faults", data=json.dumps(faults).encode(),
                                                     method="POST", headers={"Content-Type": "application/json"})
                        urllib.request.urlopen(req, timeout=10).read()
                    for c in cmds:
                        env = {k: v for k, v in os.environ.items() if not k.startswith("CRMSYNC_")}
                        env.update(extra)
                        env.update({"XDG_CONFIG_HOME": os.path.join(d, "xdg"), "CRMSYNC_RETRY_BASE_MS": "10",
                                    "CRMSYNC_RETRY_MAX_MS": "50"})
                        r = subprocess.run([a.bin, "-v", "-p", prov, "--base-url", url, "--no-progress"] + c,
                                           input=stdin, capture_output=True, text=True, env=env, timeout=60)
                        seen = r.stdout + r.stderr
                        for f in files:
                            if os.path.exists(f):
                                seen += open(f, errors="replace").read()
                        if SECRET in seen:
                            leaks.append(f"{label}: {' '.join(c)}")
                log = urllib.request.urlopen(url + "/_emulator/requests", timeout=10).read().decode(errors="replace")
                if SECRET in log:
                    leaks.append("the emulator's request log")
                for argv in (["--token", SECRET, "status"], ["--token=" + SECRET, "status"],
                             ["status", "--token=" + SECRET], ["pull", "contacts", "--access-token=" + SECRET]):
                    r = subprocess.run([a.bin, "-p", prov] + argv, capture_output=True, text=True)
                    if r.returncode != 64 or SECRET in r.stdout + r.stderr:
                        leaks.append(f"{argv[0]} on argv was not refused quietly")
        finally:
            p.terminate()
            p.wait()
        bad += bool(leaks)
        print(f"{'FAIL' if leaks else 'ok  '} secrets {prov}" + (": " + "; ".join(leaks) if leaks else ""), flush=True)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
