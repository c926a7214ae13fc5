#!/usr/bin/env python3
"""README.md as a test: every fenced example runs, as written, against the
emulators.

For each block: a scratch HOME (XDG_CONFIG_HOME inside it), ./crmsync on
PATH as `crmsync`, the emulator of each provider the block names started
fresh, and the only things set are what a user sets: the API root
(CRMSYNC_BASE_URL, as for a sandbox) and the credentials the emulator
prints on its second line.  Each block runs under `bash -e -o pipefail`
with a time limit.  Prints `ok   readme block N (first line)` or
`FAIL readme block N (first line): why`; exits 1 when one failed.

  python3 tests/readme.py [--bin ./crmsync]
"""
import argparse, json, os, re, shutil, subprocess, sys, tempfile, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT = 120
PROVIDERS = ("hubspot", "salesforce", "pipedrive", "zoho", "sugarcrm", "copper")
CRON = re.compile(r"^((?:\S+\s+){5})(crmsync\b.*)$")

# Blocks that cannot run here, by their first line, and why.
SKIP = {
    "make demo": "builds and runs the whole suite (make check runs this script)",
    "export HUBSPOT_ACCESS_TOKEN=pat-na1-...     # a sandbox": "make check-live needs your own CRM account "
        "(make check runs its scenario against every emulator)",
}


def blocks(path):
    """The fenced blocks: (line number, text, the prose that follows)."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    out, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```"):
            start, body = i + 1, []
            i += 1
            while i < len(lines) and not lines[i].startswith("```"):
                body.append(lines[i])
                i += 1
            after = []
            for line in lines[i + 1:]:
                if line.startswith(("```", "#")):
                    break
                after.append(line)
            out.append((start, "\n".join(body), "\n".join(after)))
        i += 1
    return out


class Emulator:
    def __init__(self, name):
        self.p = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests", "emulator", "run.py"), name,
                                   "--port", "0"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line1, line2 = self.p.stdout.readline(), self.p.stdout.readline()
        m = re.match(r"listening on (\S+)", line1)
        if not m:
            raise RuntimeError(f"the {name} emulator did not start: {line1!r}")
        self.url = m.group(1)
        self.env = dict(w.split("=", 1) for w in line2.split() if "=" in w)

    def control(self, what, body):
        req = urllib.request.Request(self.url + "/_emulator/" + what, data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(req, timeout=30))

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def scratch_env(tmp, binary, emus):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("CRMSYNC_", "HUBSPOT_", "SALESFORCE_", "PIPEDRIVE_", "ZOHO_", "SUGARCRM_", "COPPER_"))}
    home = os.path.join(tmp, "home")
    bindir = os.path.join(tmp, "bin")
    os.makedirs(home)
    os.makedirs(bindir)
    env.update(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"), LC_ALL="C.UTF-8",
               PATH=bindir + os.pathsep + env.get("PATH", ""))
    for e in emus.values():
        env.update(e.env)
    exe = os.path.join(bindir, "crmsync")
    if len(emus) == 1:
        os.symlink(binary, exe)
        env["CRMSYNC_BASE_URL"] = next(iter(emus.values())).url
    elif emus:
        # Two CRMs in one block (a migration): one CRMSYNC_BASE_URL cannot
        # name both, so `crmsync` gives each -p NAME its emulator's URL, as
        # --base-url would.  Against real CRMs nothing is set: each
        # provider's API root is its default.
        with open(exe, "w") as f:
            f.write("#!/bin/sh\n")
            f.write('case " $* " in\n')
            for name, e in emus.items():
                f.write(f'*" -p {name} "*) CRMSYNC_BASE_URL={e.url}; export CRMSYNC_BASE_URL ;;\n')
            f.write("esac\n")
            f.write(f'exec "{binary}" "$@"\n')
        os.chmod(exe, 0o755)
    else:
        os.symlink(binary, exe)
    return env, home


def run(script, env, cwd):
    """Runs script in its own process group, ended with it: what a failed
    block left in the background (an emulator) does not outlive it."""
    p = subprocess.Popen(["bash", "-e", "-o", "pipefail", "-c", script], env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = p.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)
        out, err = p.communicate()
        return None, f"timed out after {TIMEOUT} s: {err.strip()[:1500]}"
    finally:
        try:
            os.killpg(p.pid, 9)
        except OSError:
            pass
    r = subprocess.CompletedProcess(p.args, p.returncode, out, err)
    why = "" if r.returncode == 0 else f"exit {r.returncode}: {r.stderr.strip()[:1500]}"
    return r, why


def providers_of(text):
    return [p for p in PROVIDERS if re.search(r"(-p|--provider)\s+" + p + r"\b|provider\s*=\s*" + p + r"\b", text)]


def shell_block(text, binary, emus, tmp):
    """A block of commands, run as written in a scratch folder.  The only
    edit: `export VAR=...` of a credential the emulator gives takes the
    emulator's value (the user's own token)."""
    env, home = scratch_env(tmp, binary, emus)
    creds = {k: v for e in emus.values() for k, v in e.env.items()}
    script = re.sub(r"^export ([A-Z_]+)=\S+", lambda m: f"export {m.group(1)}={creds[m.group(1)]}"
                    if m.group(1) in creds else m.group(0), text, flags=re.M)
    # A block that starts its own emulator and runs ./crmsync: from the
    # source tree, as the README says.
    own = "tests/emulator/run.py" in text
    cwd = ROOT if own else os.path.join(tmp, "work")
    os.makedirs(cwd, exist_ok=True)
    if own:
        env.pop("CRMSYNC_BASE_URL", None)
        for k in creds:
            env.pop(k, None)
    return run(script, env, cwd)[1]


def config_block(text, after, binary, emus, tmp):
    """A config file: written to the scratch XDG_CONFIG_HOME (mode 600, as
    the README says) and used by the command the prose gives after it.
    `token_cmd = pass show ...` becomes `token_cmd = echo TOKEN`: pass and
    its store are not here.  That is the only change."""
    env, home = scratch_env(tmp, binary, emus)
    token = next(v for e in emus.values() for k, v in e.env.items() if k.endswith(("_TOKEN", "_KEY")))
    for k in [k for e in emus.values() for k in e.env]:
        env.pop(k, None)  # the token comes from the file's command
    cfg = re.sub(r"^token_cmd\s*=\s*pass show .*$", f"token_cmd = echo {token}", text, flags=re.M)
    d = os.path.join(home, ".config", "crmsync")
    os.makedirs(d)
    with open(os.path.join(d, "config"), "w") as f:
        f.write(cfg + "\n")
    os.chmod(os.path.join(d, "config"), 0o600)
    m = re.search(r"`(crmsync [^`]+)`", after)
    if not m:
        return "no command after the config block"
    cwd = os.path.join(tmp, "work")
    os.makedirs(cwd)
    r, why = run(m.group(1), env, cwd)
    if not why and not r.stdout.strip():
        why = f"{m.group(1)} printed nothing"
    return why


def cron_block(line, binary, emus, tmp):
    """A crontab line: its command runs twice; in between the CRM changes
    one record and gains none; the second run appends that record and
    otherwise only records of the look-back window, never the whole set
    again.  The folder the output goes to is the user's to make (the README
    says so); crmsync makes the state file's."""
    cmd = CRON.match(line).group(2)
    env, home = scratch_env(tmp, binary, emus)
    m = re.search(r">>\s*(\S+)", cmd)
    out = m.group(1).replace("~", home) if m else None
    if out:
        os.makedirs(os.path.dirname(out), exist_ok=True)
    cwd = os.path.join(tmp, "work")
    os.makedirs(cwd)
    r, why = run(cmd, env, cwd)
    if why:
        return "first run: " + why
    first = open(out, encoding="utf-8").read().splitlines() if out else []
    if not first:
        return "the first run appended nothing"
    recs = [json.loads(x) for x in first]
    latest = max(x["remote_updated_at"] for x in recs)
    obj = re.search(r"pull (\w+)", cmd).group(1)
    emu = next(iter(emus.values()))
    changed = recs[0]["remote_id"]
    emu.control(f"touch/{obj}", {"ids": [changed]})
    r, why = run(cmd, env, cwd)
    if why:
        return "second run: " + why
    second = [json.loads(x) for x in open(out, encoding="utf-8").read().splitlines()[len(first):]]
    ids = [x["remote_id"] for x in second]
    if changed not in ids:
        return f"the second run did not append the changed record {changed} ({len(second)} lines)"
    # The look-back (60 s for HubSpot) may bring back what changed just
    # before the cursor; anything else is a repeat that should not be.
    old = [x["remote_id"] for x in second if x["remote_id"] != changed and x["remote_updated_at"] < latest
           and not within_lookback(x["remote_updated_at"], latest)]
    if old:
        return f"the second run appended {len(old)} unchanged records again: {old[:5]}"
    return ""


def within_lookback(t, latest, seconds=60):
    from datetime import datetime
    p = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00"))
    return (p(latest) - p(t)).total_seconds() <= seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "crmsync"))
    ap.add_argument("--readme", default=os.path.join(ROOT, "README.md"))
    a = ap.parse_args()
    binary = os.path.abspath(a.bin)
    failed = 0
    for n, (lineno, text, after) in enumerate(blocks(a.readme), 1):
        first = text.strip().split("\n", 1)[0].strip()
        label = f"readme block {n} ({first[:60]})"
        skip = next((why for k, why in SKIP.items() if first.startswith(k)), None)
        if skip:
            print(f"skip {label}: {skip}", flush=True)
            continue
        names = providers_of(text) or ["hubspot"]
        if "tests/emulator/run.py" in text:
            names = []
        tmp = tempfile.mkdtemp(prefix="crmsync-readme-")
        emus = {}
        try:
            emus = {p: Emulator(p) for p in names}
            if first.startswith("[profile"):
                why = config_block(text, after, binary, emus, tmp)
            elif CRON.match(first):
                why = cron_block(first, binary, emus, tmp)
            else:
                why = shell_block(text, binary, emus, tmp)
        except Exception as e:  # a broken block must not hide the others
            why = f"{type(e).__name__}: {e}"
        finally:
            for e in emus.values():
                e.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        if why:
            failed += 1
            print(f"FAIL {label}: {why}".replace("\n", " | "), flush=True)
        else:
            print(f"ok   {label}", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
