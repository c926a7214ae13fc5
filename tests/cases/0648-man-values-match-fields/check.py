#!/usr/bin/env python3
"""Each crmsync-NAME.7 page's VALUES section names, per object, the
fields `crmsync fields OBJECT` reports as required (and writable) and the
option fields (unified key and provider field), read from each CRM's
emulator: the page cannot drift from the provider's tables.

  check.py CRMSYNC ROOT [--print]   (--print: the lists, to write a page)
"""
import json, os, re, subprocess, sys

PROVIDERS = ["hubspot", "salesforce", "pipedrive", "zoho", "sugarcrm", "copper"]
OBJECTS = ["accounts", "contacts", "leads", "deals"]


def facts(binary, root, prov):
    """{object: (required names, [(unified, name)])} from the emulator."""
    emu = subprocess.Popen([sys.executable, os.path.join(root, "tests", "emulator", "run.py"), prov, "--port", "0",
                            "--records", "accounts=1,contacts=1,deals=1,leads=1,users=1", "--rate-limits", "off"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = emu.stdout.readline().split()[-1]
        env = dict(os.environ, **dict(p.split("=", 1) for p in emu.stdout.readline().split() if "=" in p))
        out = {}
        for o in OBJECTS:
            r = subprocess.run([binary, "-p", prov, "--base-url", url, "--no-progress", "-q", "fields", o],
                               capture_output=True, text=True, env=env, timeout=120)
            if r.returncode == 64:
                continue
            fs = [json.loads(l) for l in r.stdout.splitlines() if l.strip()]
            req = [f["name"] for f in fs if f.get("required") and not f.get("read_only")]
            opt = [(f["unified"], f["name"]) for f in fs if f.get("unified") and f.get("options")]
            out[o] = (req, opt)
        return out
    finally:
        emu.terminate()
        emu.wait(10)


def section(page):
    """The VALUES section's paragraphs per object, roff escapes dropped."""
    text = open(page, encoding="utf-8").read()
    m = re.search(r"^\.SH VALUES\n(.*?)(?=^\.SH )", text, re.S | re.M)
    if not m:
        return None
    paras, cur = {}, None
    for line in m.group(1).splitlines():
        if line.startswith((".TP", ".PP", ".SS")):
            cur = None
        b = re.match(r"^\.B (\w+)$", line)
        if b and b.group(1) in OBJECTS and cur is None:
            cur = b.group(1)
            paras[cur] = ""
            continue
        if cur:
            paras[cur] += " " + re.sub(r"\\f[BIRP]|\\&|^\.[A-Z]+ ", "", line).replace("\\-", "-")
    return paras, m.group(1)


def main():
    binary, root = sys.argv[1], sys.argv[2]
    bad = 0
    for prov in PROVIDERS:
        f = facts(binary, root, prov)
        if "--print" in sys.argv:
            print(prov, json.dumps(f))
            continue
        s = section(os.path.join(root, "man", "crmsync-%s.7" % prov))
        if s is None:
            print("FAIL %s: no VALUES section" % prov)
            bad += 1
            continue
        paras, whole = s
        missing = []
        for o, (req, opt) in f.items():
            words = set(re.findall(r"@?\w+(?:\.\w+)*", paras.get(o, "")))
            missing += ["%s required %s" % (o, n) for n in req if n not in words]
            missing += ["%s option %s (%s)" % (o, u, n) for u, n in opt if u not in words or n not in words]
        for w in ("probability", "match"):
            if w not in whole:
                missing.append("the word " + w)
        if missing:
            bad += 1
            print("FAIL %s: the page does not name: %s" % (prov, "; ".join(missing)))
        else:
            print("ok   %s: %d required, %d option fields named" % (
                prov, sum(len(r) for r, _ in f.values()), sum(len(o) for _, o in f.values())))
    sys.exit(1 if bad else 0)


main()
