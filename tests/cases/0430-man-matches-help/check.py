"""Compares the options of each command in three places: `crmsync CMD --help`,
man/crmsync-CMD.1 (SYNOPSIS, and the tags of OPTIONS, each on its own) and the option table in
cmd/CMD.c; the global options likewise (`crmsync --help`, man/crmsync.1's
SYNOPSIS and GLOBAL OPTIONS, main.c's global_opts).  Prints one line per
command; a line naming an option present in one place and not another is a
failure.  --help itself is in every command's table but not in every usage
line, so it is left out of the commands' comparison."""
import os, re, subprocess, sys

binary, root = sys.argv[1], sys.argv[2]
LONG = re.compile(r"(?<![\w-])--([a-z][a-z0-9-]*)")


def helptext(*args):
    r = subprocess.run([binary, *args, "--help"], capture_output=True, text=True)
    return r.stdout


def help_options(text, section=None):
    """The usage block (up to its first blank line) and the option lines
    (`  -x, --name ARG  text`), not the prose, which may mention others."""
    lines = text.splitlines()
    opts, in_usage, in_section = set(), True, section is None
    for line in lines:
        if in_usage:
            if not line.strip():
                in_usage = False
            elif section is None:
                opts |= set(LONG.findall(line))
            continue
        if section is not None and re.match(r"^\S", line):
            in_section = line.startswith(section)
            continue
        m = re.match(r"^\s+(?:-\w, )?--([a-z][a-z0-9-]*)", line)
        if m and in_section:
            opts.add(m.group(1))
    return opts


def man_sections(path):
    sec, out = None, {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            m = re.match(r'^\.SH\s+"?([^"]*)"?', line)
            if m:
                sec = m.group(1).strip()
                continue
            out.setdefault(sec, []).append(line)
    return out


def unesc(t):
    return t.replace("\\-", "-").replace("\\fB", "").replace("\\fI", "").replace("\\fR", "")


def man_synopsis(path):
    """Every option of SYNOPSIS."""
    if not os.path.exists(path):
        return None
    opts = set()
    for line in man_sections(path).get("SYNOPSIS", []):
        opts |= set(LONG.findall(unesc(line)))
    return opts


def man_options(path, options_section):
    """The tags (the line after .TP) of the options section."""
    if not os.path.exists(path):
        return None
    opts = set()
    body = man_sections(path).get(options_section, [])
    for i, line in enumerate(body):
        if line.startswith(".TP") and i + 1 < len(body):
            opts |= set(LONG.findall(unesc(body[i + 1])))
    return opts


def table_options(path, name):
    with open(path, encoding="utf-8") as f:
        src = f.read()
    m = re.search(r"const struct option " + re.escape(name) + r"\[\]\s*=\s*\{(.*?)\};", src, re.S)
    return set(re.findall(r'\{\s*"([a-z0-9-]+)"', m.group(1))) if m else None


failures = 0


def compare(label, sources):
    global failures
    bad = []
    for where, opts in sources.items():
        if opts is None:
            bad.append(f"{where} is missing")
    known = {k: v for k, v in sources.items() if v is not None}
    every = set().union(*known.values()) if known else set()
    for opt in sorted(every):
        lacking = [w for w, v in known.items() if opt not in v]
        if lacking:
            have = [w for w, v in known.items() if opt in v]
            bad.append(f"--{opt} in {', '.join(have)}, not in {', '.join(lacking)}")
    if bad:
        failures += 1
        for b in bad:
            print(f"FAIL {label}: {b}")
    else:
        print(f"ok   {label}: {len(every)} options agree")


top = helptext()
compare("global options", {
    "crmsync --help": help_options(top, "global options"),
    # crmsync.1's SYNOPSIS says [GLOBAL OPTIONS] and names --help and
    # --version, which GLOBAL OPTIONS describes too.
    "man/crmsync.1 GLOBAL OPTIONS": man_options(os.path.join(root, "man", "crmsync.1"), "GLOBAL OPTIONS"),
    "cmd/main.c": table_options(os.path.join(root, "cmd", "main.c"), "global_opts"),
})

commands = re.findall(r"^  ([a-z]+)\s{2,}", top.split("commands:", 1)[1].split("\n\n", 1)[0], re.M)
for cmd in commands:
    srcs = {
        f"crmsync {cmd} --help": help_options(helptext(cmd)),
        f"man/crmsync-{cmd}.1 SYNOPSIS": man_synopsis(os.path.join(root, "man", f"crmsync-{cmd}.1")),
        f"man/crmsync-{cmd}.1 OPTIONS": man_options(os.path.join(root, "man", f"crmsync-{cmd}.1"), "OPTIONS"),
        f"cmd/{cmd}.c": table_options(os.path.join(root, "cmd", f"{cmd}.c"), f"{cmd}_options"),
    }
    compare(cmd, {k: (v - {"help"} if v is not None else None) for k, v in srcs.items()})

# The providers --help lists: each has its page, and crmsync.1's --provider
# names it.
m = re.search(r"--provider NAME\s+(.*?)\s+\(env", top)
providers = [p.strip() for p in m.group(1).split(",")] if m else []
pman = "\n".join(man_sections(os.path.join(root, "man", "crmsync.1")).get("GLOBAL OPTIONS", []))
pman = pman.split("-p, \\-\\-provider", 1)[-1].split(".TP", 1)[0]
missing = [p for p in providers if not os.path.exists(os.path.join(root, "man", f"crmsync-{p}.7"))]
unnamed = [p for p in providers if not re.search(r"\b" + p + r"\b", pman)]
for p in missing:
    failures += 1
    print(f"FAIL providers: no man/crmsync-{p}.7")
for p in unnamed:
    failures += 1
    print(f"FAIL providers: crmsync.1's --provider does not name {p}")
if not missing and not unnamed:
    print(f"ok   providers: {len(providers)} with a page, all named in crmsync.1")
sys.exit(1 if failures else 0)
