#!/usr/bin/env python3
"""Writes the bash, zsh and fish completions of crmsync from what the binary
says: `crmsync --help` (commands, global options, providers) and
`crmsync CMD --help` (each command's options, their arguments and the
values the usage lines list).  One source, so the three shells never
disagree with the binary or with each other; case 0431 checks that the
committed files are this script's output.

  python3 completion/gen.py [--bin ./crmsync] [--out completion]
"""
import argparse, os, re, subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
OPT = re.compile(r"^\s+(?:-(\w), )?--([a-z][a-z0-9-]*)(?: ([A-Z]+))?\s+(.*)$")


def helptext(binary, *args):
    return subprocess.run([binary, *args, "--help"], capture_output=True, text=True, check=True).stdout


def options(lines):
    """Option lines -> [{short, long, arg, desc}] (continuation lines skipped)."""
    out = []
    for line in lines:
        m = OPT.match(line)
        if m:
            # A description that goes on to the next line ends here.
            out.append({"short": m.group(1), "long": m.group(2), "arg": m.group(3),
                        "desc": m.group(4).strip().rstrip(",;:").strip()})
    return out


def read_model(binary):
    top = helptext(binary)
    sections, cur = {}, None
    for line in top.splitlines():
        if re.match(r"^\S.*:$", line):
            cur = line[:-1]
            sections[cur] = []
        elif cur:
            if not line.strip():
                cur = None
            else:
                sections[cur].append(line)
    commands = []
    for line in sections["commands"]:
        name, desc = line.split(None, 1)
        commands.append((name, desc.strip()))
    glob = options(sections["global options"])
    prov = next(o for o in glob if o["long"] == "provider")
    providers = [p.strip() for p in re.match(r"([a-z, ]+)", prov["desc"]).group(1).split(",")]
    cmds = {}
    objects, lists_sub, match, usages = [], [], [], {}
    for name, _ in commands:
        text = helptext(binary, name)
        usage = text.split("\n\n", 1)[0]
        opts = [o for o in options(text.splitlines()) if o["long"] != "help"]
        # Options only the usage lines show ("[--rejects FILE]").
        for name_, arg in re.findall(r"\[--([a-z][a-z0-9-]*)(?: ([A-Za-z|]+))?\]", usage):
            if name_ != "help" and all(o["long"] != name_ for o in opts):
                opts.append({"short": None, "long": name_, "desc": "",
                             "arg": (arg if arg.isupper() else name_.upper()) if arg else None})
        usages[name] = usage
        # The values a usage line lists: [--format ndjson|singer]
        for o in opts:
            m = re.search(r"\[--" + re.escape(o["long"]) + r" ([a-z|]+)\]", usage)
            o["values"] = m.group(1).split("|") if m and "|" in m.group(1) else None
            if o["values"] and not o["arg"]:
                o["arg"] = o["long"].upper()  # "--format singer": a value all the same
        cmds[name] = opts
        m = re.search(r"\(((?:[a-z]+, )+[a-z]+)\)", text)
        if name == "pull" and m:
            objects = m.group(1).split(", ")
        if name == "lists":
            lists_sub = re.findall(r"crmsync lists ([a-z]+) LIST", usage)
        m = re.search(r"a unified key \(([a-z, ]+)\)", " ".join(text.split()))
        if name == "push" and m:
            match = [v.strip() for v in m.group(1).split(",")]
    for o in cmds.get("push", []):
        if o["long"] == "match":
            o["values"] = match
    return {"commands": commands, "global": glob, "providers": providers, "cmds": cmds,
            "objects": objects, "lists_sub": lists_sub, "usages": usages}


def with_object(model):
    """Commands whose first argument is an OBJECT."""
    return [c for c, _ in model["commands"] if re.search(r"crmsync " + c + " OBJECT", model["usages"][c])]


# ---- bash ----

def gen_bash(m):
    g = m["global"]
    gopts = " ".join(w for o in g for w in ([f"-{o['short']}"] if o["short"] else []) + [f"--{o['long']}"])
    gargs = "|".join(w for o in g if o["arg"] for w in ([f"-{o['short']}"] if o["short"] else []) + [f"--{o['long']}"])
    after = " ".join(w for o in g if o["long"] not in ("help", "version")
                     for w in ([f"-{o['short']}"] if o["short"] else []) + [f"--{o['long']}"])
    allopts = [o for o in g] + [o for c in m["cmds"].values() for o in c]
    files = sorted({f"--{o['long']}" for o in allopts if o["arg"] == "FILE"})
    free = sorted({f"--{o['long']}" for o in allopts if o["arg"] and o["arg"] != "FILE" and not o.get("values")
                   and o["long"] not in ("provider", "profile")})
    per_cmd, byopt = [], {}
    for c, _ in m["commands"]:
        opts = m["cmds"][c]
        per_cmd.append(f"        {c}) opts='{' '.join('--' + o['long'] for o in opts + [{'long': 'help'}])}'; "
                       f"args='{'|'.join('--' + o['long'] for o in opts if o['arg'])}' ;;")
        for o in opts:
            if o.get("values"):
                byopt.setdefault(o["long"], []).append((c, o["values"]))
    # One branch per option, whichever commands take it (fields and pull
    # both have --format, with their own values).
    values = []
    for long_, per in byopt.items():
        conds = "\n".join(f"                [[ $cmd == {c} ]] && COMPREPLY=($(compgen -W '{' '.join(v)}' -- \"$cur\"))"
                          for c, v in per)
        values.append(f"            --{long_})\n{conds}\n                return ;;")
    positional = []
    for c in with_object(m):
        positional.append(f"        {c}) ((npos == 0)) && COMPREPLY=($(compgen -W \"$objects\" -- \"$cur\")) ;;")
    if m["lists_sub"]:
        positional.append(f"        lists) ((npos == 0)) && COMPREPLY=($(compgen -W '{' '.join(m['lists_sub'])}' -- \"$cur\")) ;;")
    with open(os.path.join(HERE, "bash.in"), encoding="utf-8") as f:
        t = f.read()
    rep = {
        "@GLOBAL_OPTS@": gopts, "@GLOBAL_ARGS@": gargs, "@GLOBAL_AFTER@": after,
        "@COMMANDS@": " ".join(c for c, _ in m["commands"]), "@OBJECTS@": " ".join(m["objects"]),
        "@PROVIDERS@": " ".join(m["providers"]), "@FILE_OPTS@": "|".join(files), "@FREE_OPTS@": "|".join(free),
        "@VALUES@": "\n".join(values), "@PER_CMD@": "\n".join(per_cmd), "@POSITIONAL@": "\n".join(positional),
    }
    for k, v in rep.items():
        t = t.replace(k, v)
    return t


# ---- zsh ----

def zq(s):
    """A description inside a zsh _arguments spec: no [ ] : and no quote."""
    return s.replace("'", "").replace("[", "(").replace("]", ")").replace(":", "").replace("\\", "")


def zspec(o, providers, after=False):
    if o["arg"] == "FILE":
        action = ":file:_files"
    elif o["long"] == "provider":
        action = f":provider:({' '.join(providers)})"
    elif o["long"] == "profile":
        action = ":profile:_crmsync_profiles"
    elif o.get("values"):
        action = f":{o['arg'].lower()}:({' '.join(o['values'])})"
    elif o["arg"]:
        action = f":{o['arg'].lower()}: "
    else:
        action = ""
    desc = f"[{zq(o['desc'])}]" if o["desc"] else ""
    if o["short"]:
        return f"'(-{o['short']} --{o['long']})'{{-{o['short']},--{o['long']}}}'{desc}{action}'"
    return f"'--{o['long']}{desc}{action}'"


def gen_zsh(m):
    P = m["providers"]
    out = ["#compdef crmsync",
           "# zsh completion for crmsync(1).  Generated by completion/gen.py from",
           "# `crmsync --help`: do not edit, run `python3 completion/gen.py`.",
           "",
           "# Profile names of the configuration file in use.",
           "(( $+functions[_crmsync_profiles] )) ||",
           "_crmsync_profiles() {",
           "  local cfg=${CRMSYNC_CONFIG:-${XDG_CONFIG_HOME:-$HOME/.config}/crmsync/config}",
           "  local -a names",
           "  [[ -r $cfg ]] || return 1",
           "  names=(${(f)\"$(sed -n 's/^[[:space:]]*\\[[[:space:]]*\\(profile[[:space:]][[:space:]]*\\)\\{0,1\\}\\([^]]*[^][:space:]]\\)[[:space:]]*\\].*/\\2/p' \"$cfg\")\"})",
           "  names=(${names:#default})",
           "  _describe -t profiles 'profile' names",
           "}",
           "",
           "_crmsync() {",
           "  local curcontext=$curcontext state line ret=1",
           "  local -a global after commands",
           "  global=("]
    for o in m["global"]:
        out.append("    " + zspec(o, P))
    out.append("  )")
    out.append("  # Global options may follow the command too (not -h and --version).")
    out.append("  after=(")
    for o in m["global"]:
        if o["long"] not in ("help", "version"):
            out.append("    " + zspec(o, P))
    out.append("  )")
    out.append("  commands=(")
    for c, d in m["commands"]:
        out.append(f"    '{c}:{zq(d)}'")
    out.append("  )")
    out += ["  _arguments -C -s $global ': :->command' '*:: :->args' && ret=0",
            "  case $state in",
            "    command)",
            "      _describe -t commands 'crmsync command' commands && ret=0 ;;",
            "    args)",
            "      curcontext=${curcontext%:*:*}:crmsync-$words[1]:",
            "      case $words[1] in"]
    objs = " ".join(m["objects"])
    for c, _ in m["commands"]:
        specs = [zspec(o, P) for o in m["cmds"][c]] + ["'(-h --help)'{-h,--help}'[this help]'"]
        if c in with_object(m):
            specs.append(f"'1:object:({objs})'")
        elif c == "lists" and m["lists_sub"]:
            specs.append(f"'1:list command:({' '.join(m['lists_sub'])})'")
            specs.append("'2:list: '")
        out.append(f"        {c})")
        out.append("          _arguments -s $after \\")
        for s in specs[:-1]:
            out.append(f"            {s} \\")
        out.append(f"            {specs[-1]} && ret=0 ;;")
    out += ["      esac ;;",
            "  esac",
            "  return ret",
            "}",
            "",
            '_crmsync "$@"',
            ""]
    return "\n".join(out)


# ---- fish ----

def fq(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_opt(o, cond, P):
    parts = ["complete -c crmsync"]
    if cond:
        parts.append(f"-n {fq(cond)}")
    if o["short"]:
        parts.append(f"-s {o['short']}")
    parts.append(f"-l {o['long']}")
    if o["arg"] == "FILE":
        parts.append("-r -F")
    elif o["long"] == "provider":
        parts.append(f"-x -a {fq(' '.join(P))}")
    elif o["long"] == "profile":
        parts.append("-x -a '(__crmsync_profiles)'")
    elif o.get("values"):
        parts.append(f"-x -a {fq(' '.join(o['values']))}")
    elif o["arg"]:
        parts.append("-x")
    if o["desc"]:
        parts.append(f"-d {fq(o['desc'])}")
    return " ".join(parts)


def gen_fish(m):
    P = m["providers"]
    cmds = " ".join(c for c, _ in m["commands"])
    out = ["# fish completion for crmsync(1).  Generated by completion/gen.py from",
           "# `crmsync --help`: do not edit, run `python3 completion/gen.py`.",
           "",
           "# Profile names of the configuration file in use.",
           "function __crmsync_profiles",
           "    set -l cfg $CRMSYNC_CONFIG",
           "    if test -z \"$cfg\"",
           "        set -l base $XDG_CONFIG_HOME",
           "        test -n \"$base\"; or set base $HOME/.config",
           "        set cfg $base/crmsync/config",
           "    end",
           "    test -r $cfg; or return",
           "    sed -n 's/^[[:space:]]*\\[[[:space:]]*\\(profile[[:space:]][[:space:]]*\\)\\{0,1\\}\\([^]]*[^][:space:]]\\)[[:space:]]*\\].*/\\2/p' $cfg | string match -v -- default",
           "end",
           "",
           "complete -c crmsync -f"]
    for c, d in m["commands"]:
        out.append(f"complete -c crmsync -n {fq('not __fish_seen_subcommand_from ' + cmds)} -a {c} -d {fq(d)}")
    out.append("# Global options, before or after the command (-h and --version before it).")
    for o in m["global"]:
        cond = ("not __fish_seen_subcommand_from " + cmds) if o["long"] in ("help", "version") else ""
        out.append(fish_opt(o, cond, P))
    objs = " ".join(m["objects"])
    singular = " ".join(x[:-1] for x in m["objects"])
    for c, _ in m["commands"]:
        for o in m["cmds"][c]:
            out.append(fish_opt(o, f"__fish_seen_subcommand_from {c}", P))
        out.append(f"complete -c crmsync -n {fq('__fish_seen_subcommand_from ' + c)} -s h -l help -d 'this help'")
        if c in with_object(m):
            out.append(f"complete -c crmsync -n {fq(f'__fish_seen_subcommand_from {c}; and not __fish_seen_subcommand_from {objs} {singular}')} -a {fq(objs)}")
    if m["lists_sub"]:
        subs = " ".join(m["lists_sub"])
        out.append(f"complete -c crmsync -n {fq(f'__fish_seen_subcommand_from lists; and not __fish_seen_subcommand_from {subs}')} -a {fq(subs)}")
    out.append("")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(os.path.dirname(HERE), "crmsync"))
    ap.add_argument("--out", default=HERE)
    a = ap.parse_args()
    m = read_model(os.path.abspath(a.bin))
    os.makedirs(a.out, exist_ok=True)
    for name, text in (("crmsync.bash", gen_bash(m)), ("_crmsync", gen_zsh(m)), ("crmsync.fish", gen_fish(m))):
        with open(os.path.join(a.out, name), "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    main()
