"""The providers the tests and benchmarks run against: those crmsync is
built with, in its own order (its --help's `-p, --provider NAME` line),
that have an emulator (tests/emulator/NAME.py).  The one list of CRMs of
the Python scripts, so that adding a CRM edits none of them.

  import providers; providers.names("./crmsync")
"""
import os, re, subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def names(binary, emulated=True):
    out = subprocess.run([binary, "--help"], capture_output=True, text=True, check=True).stdout
    m = re.search(r"--provider NAME\s+([a-z0-9_, ]+?) \(env", out)
    if not m:
        raise RuntimeError(f"{binary} --help lists no providers")
    found = [n.strip() for n in m.group(1).split(",")]
    if emulated:
        found = [n for n in found if os.path.exists(os.path.join(ROOT, "tests", "emulator", n + ".py"))]
    return found
