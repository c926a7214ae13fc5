#!/usr/bin/env python3
"""Runs a command with its stderr on a pseudo-terminal, as a user at a
terminal would, and prints what it wrote there (\\r turned into \\n, the
erase-line sequence dropped), then `exit=N`.  Its stdout goes to OUT.

  python3 tests/ptyrun.py OUT COMMAND [ARGS...]
"""
import os, pty, subprocess, sys


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    master, slave = pty.openpty()
    with open(out, "wb") as f:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=slave)
    os.close(slave)
    data = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the last writer closed its side
            break
        if not chunk:
            break
        data += chunk
    rc = p.wait()
    os.close(master)
    text = data.decode("utf-8", "replace").replace("\r\n", "\n").replace("\x1b[K", "").replace("\r", "\n")
    lines = [l for l in text.split("\n") if l]
    sys.stdout.write("".join(l + "\n" for l in lines))
    print("exit=%d" % rc)


if __name__ == "__main__":
    main()
