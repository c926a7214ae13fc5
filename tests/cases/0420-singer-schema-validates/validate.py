#!/usr/bin/env python3
"""Checks a `crmsync pull --format singer` run: SCHEMA first, STATE last, and
every RECORD valid against the SCHEMA (a JSON Schema subset, stdlib only):
type (a name or a list, "null" unions), properties (every key of an object
that declares properties must be declared), items, enum, format date-time
and date; a schema without "type" takes any value.  Prints "ok: N records" or the first errors.

  validate.py FILE [STREAM]"""
import json, re, sys

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
TYPES = {
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def check(schema, v, path, errs):
    if not isinstance(schema, dict):
        errs.append(f"{path}: schema is not an object")
        return
    t = schema.get("type")
    if t is not None:
        ts = [t] if isinstance(t, str) else t
        if not any(TYPES[x](v) for x in ts):
            errs.append(f"{path}: {json.dumps(v)[:60]} is not {ts}")
            return
    if "enum" in schema and v not in schema["enum"]:
        errs.append(f"{path}: {v!r} not in enum")
    fmt = schema.get("format")
    if isinstance(v, str) and fmt in ("date-time", "date"):
        if not (DATE_TIME if fmt == "date-time" else DATE).match(v):
            errs.append(f"{path}: {v!r} is not a {fmt}")
    if isinstance(v, dict) and "properties" in schema:
        props = schema["properties"]
        for k, x in v.items():
            if k not in props:
                errs.append(f"{path}.{k}: not declared")
            else:
                check(props[k], x, f"{path}.{k}", errs)
        for k in schema.get("required", []):
            if k not in v:
                errs.append(f"{path}.{k}: required, missing")
    if isinstance(v, list) and t is not None:
        if "items" not in schema:
            errs.append(f"{path}: array without items schema")
        else:
            for i, x in enumerate(v):
                check(schema["items"], x, f"{path}[{i}]", errs)


def main():
    lines = [json.loads(l) for l in open(sys.argv[1])]
    errs = []
    if not lines or lines[0].get("type") != "SCHEMA":
        print("first message is not a SCHEMA")
        return
    sch = lines[0]
    stream = sys.argv[2] if len(sys.argv) > 2 else sch["stream"]
    if sch["stream"] != stream:
        errs.append(f"SCHEMA stream {sch['stream']}")
    for k in sch.get("key_properties", []):
        if "null" in sch["schema"]["properties"][k].get("type", []):
            errs.append(f"key {k} is nullable")
    if lines[-1].get("type") != "STATE":
        errs.append("last message is not a STATE")
    n = 0
    for i, m in enumerate(lines[1:-1], 2):
        if m.get("type") != "RECORD" or m.get("stream") != stream:
            errs.append(f"line {i}: {m.get('type')} {m.get('stream')}")
            continue
        n += 1
        e = []
        check(sch["schema"], m["record"], "record", e)
        for k in sch.get("key_properties", []):
            if k not in m["record"]:
                e.append(f"record.{k}: key missing")
        errs += [f"line {i}: {x}" for x in e]
    if errs:
        # One line per distinct problem (record line numbers aside).
        seen = []
        for x in errs:
            y = re.sub(r"^line \d+: ", "", re.sub(r"\[\d+\]", "[]", x))
            y = re.sub(r": .*? (is not|not in)", r": ... \1", y)
            if y not in seen:
                seen.append(y)
        print(f"INVALID {stream}: " + "; ".join(seen[:8]))
    else:
        print(f"ok: {stream} {n} records")


main()
