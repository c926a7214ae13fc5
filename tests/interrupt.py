#!/usr/bin/env python3
"""Interruption at random points (seeded): SIGINT or SIGTERM during pull
--state and during push, against an emulator with added latency.

Each run asserts: the exit code is 130/143 (or 0/1 if it finished first),
the process ended within 3 s of the signal, stdout is whole NDJSON lines,
a pull's state file is byte-identical unless the run finished, and every
push result line is true (a "created" record exists in the store; no record
was created twice).  Prints one line per run and exits non-zero on a failure.

  python3 tests/interrupt.py --bin ./crmsync [--runs N] [--seed S]
"""
import argparse, json, os, random, re, signal, subprocess, sys, tempfile, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "crmsync"))
    ap.add_argument("--runs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--provider", default="hubspot")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), a.provider,
                          "--records", "contacts=800,accounts=4,deals=2,leads=1,users=2", "--rate-limits", "off",
                          "--latency-ms", "15"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = re.match(r"listening on (\S+)", p.stdout.readline()).group(1)
    env = dict(os.environ, **dict(kv.split("=", 1) for kv in p.stdout.readline().split() if "=" in kv))
    env["XDG_CONFIG_HOME"] = "/nonexistent"

    def control(method, path, body=None):
        req = urllib.request.Request(url + "/_emulator/" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        return urllib.request.urlopen(req, timeout=30).read().decode()

    failures = 0
    tmp = tempfile.mkdtemp(prefix="crmsync-int-")
    try:
        for i in range(a.runs):
            control("POST", "reset", {})
            sig = rnd.choice([signal.SIGINT, signal.SIGTERM])
            delay = rnd.uniform(0.02, 0.6)
            kind = "pull" if i % 2 == 0 else "push"
            base = [a.bin, "-q", "-p", a.provider, "--base-url", url, "--no-progress"]
            state = os.path.join(tmp, f"st{i}")
            stdin = None
            if kind == "pull":
                with open(state, "w") as f:
                    json.dump({"version": 1, "entries": {f"{a.provider}/default/contacts": {"cursor": "2000-01-01T00:00:00Z"}}}, f)
                before = open(state, "rb").read()
                args = base + ["pull", "contacts", "--state", state]
            else:
                stdin = "".join(json.dumps({"first_name": "Int", "last_name": str(k),
                                            "email_addresses": [{"email_address": f"int{i}-{k}@example.com"}]}) + "\n"
                                for k in range(600))
                args = base + ["push", "contacts", "--batch-size", "50"]
            proc = subprocess.Popen(args, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            if stdin:
                proc.stdin.write(stdin.encode())
                proc.stdin.close()
                proc.stdin = None
            time.sleep(delay)
            t0 = time.monotonic()
            proc.send_signal(sig)
            out, err = proc.communicate(timeout=30)
            took = time.monotonic() - t0
            rc = proc.returncode
            why = []
            want = 128 + sig
            # Killed before main installed its handlers (a loaded machine
            # can take 50 ms to load the libraries): nothing was done, so
            # nothing can be half done; the checks below still apply.
            early = rc == -sig and not out
            if rc not in (want, 0, 1) and not early:
                why.append(f"exit {rc}, want {want}")
            if took > 3:
                why.append(f"took {took:.1f}s to stop")
            text = out.decode()
            if text and not text.endswith("\n"):
                why.append("last line cut")
            try:
                lines = [json.loads(l) for l in text.splitlines()]
            except ValueError:
                lines, _ = [], why.append("stdout not NDJSON")
            if kind == "pull":
                after = open(state, "rb").read()
                if rc == want and after != before:
                    why.append("state changed by an interrupted run")
                if rc == 0 and after == before:
                    why.append("finished run did not advance the state")
                ids = [l.get("remote_id") for l in lines]
                if len(ids) != len(set(ids)):
                    why.append("duplicate records")
            else:
                store = [json.loads(l) for l in control("GET", "records/contacts").splitlines() if l.strip()]
                have = {str(s["id"]) for s in store}
                emails = [s["properties"].get("email") for s in store if (s["properties"].get("email") or "").startswith(f"int{i}-")]
                if early and emails:
                    why.append("killed before it started, yet records were created")
                if len(emails) != len(set(emails)):
                    why.append("a record was created twice")
                for l in lines:
                    if l.get("sync_status") == "created" and str(l.get("remote_id")) not in have:
                        why.append(f"line {l.get('sync_line')} says created, the store lacks it")
                        break
                nums = [l.get("sync_line") for l in lines]
                if nums != sorted(nums):
                    why.append("result lines out of order")
            failures += bool(why)
            print(f"{'FAIL' if why else 'ok  '} interrupt {kind} {signal.Signals(sig).name} after {delay * 1000:.0f} ms"
                  + (": " + "; ".join(why) if why else f" (exit {rc}, {len(lines)} lines)"), flush=True)
    finally:
        p.terminate()
        p.wait()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
