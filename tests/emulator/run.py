#!/usr/bin/env python3
"""Start one CRM emulator for crmsync.

    python3 tests/emulator/run.py PROVIDER [--port N] [--records OBJECT=N,...] [--seed N]
                                           [--latency-ms N] [--rate-limits real|off]
                                           [--burst N] [--daily-limit N] [--account sandbox|production]

Prints "listening on http://127.0.0.1:PORT" then the demo credentials (as
NAME=VALUE pairs) on stdout, and serves until SIGTERM or SIGINT.
A provider is the module tests/emulator/PROVIDER.py exposing create(options);
adding a CRM means adding one module. See core.py for the interface and the
control API (/_emulator/...).
"""

import argparse
import gc
import importlib
import os
import re
import signal
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

NOT_PROVIDERS = {"run", "core", "test_emulator"}


def known_providers():
    return sorted(f[:-3] for f in os.listdir(HERE)
                  if f.endswith(".py") and f[:-3] not in NOT_PROVIDERS and re.match(r"^[a-z]+\.py$", f))


class _Stop(BaseException):
    """Raised by SIGTERM/SIGINT.  Not an Exception: socketserver catches
    those around accepting a request (and would swallow the stop when the
    signal lands there, leaving the emulator running)."""


def _stop(signum, frame):
    raise _Stop()


def main(argv=None):
    ap = argparse.ArgumentParser(
        prog="run.py", description="Local CRM API emulator for crmsync's tests and demo.",
        epilog="Control API (never authenticated): GET /_emulator/records/OBJECT, GET /_emulator/requests, "
               "POST|GET /_emulator/faults, POST /_emulator/reset, POST /_emulator/touch/OBJECT, "
               "POST /_emulator/clock, GET|POST /_emulator/account. Providers: " + ", ".join(known_providers()))
    ap.add_argument("provider", metavar="PROVIDER", help="CRM to emulate: " + ", ".join(known_providers()))
    ap.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default 0: any free port)")
    ap.add_argument("--records", default="",
                    help="seed sizes, e.g. contacts=1000,accounts=100,deals=50,leads=10,users=5 "
                         "(unified or provider object names)")
    ap.add_argument("--seed", type=int, default=1, help="seed of the deterministic data (default 1)")
    ap.add_argument("--latency-ms", type=int, default=0, help="sleep this long before each answer")
    ap.add_argument("--rate-limits", choices=("real", "off"), default="real",
                    help="real: the provider's documented limits and 429s (default); off: never 429")
    ap.add_argument("--burst", type=int, default=None,
                    help="test override of the provider's burst limit (HubSpot: calls per rolling 10 s, default 190)")
    ap.add_argument("--daily-limit", type=int, default=None,
                    help="test override of the provider's daily call limit (HubSpot default 1000000)")
    ap.add_argument("--account", choices=("sandbox", "production"), default="sandbox",
                    help="the account it plays: a sandbox/test account (default) or a production one, "
                         "as the CRM's API tells it (status's \"sandbox\")")
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    if args.provider not in known_providers():
        sys.stderr.write("run.py: unknown provider %r (known: %s)\n" % (args.provider, ", ".join(known_providers())))
        return 2

    import core
    try:
        args.records = core.parse_records_option(args.records)
    except ValueError as e:
        sys.stderr.write("run.py: %s\n" % e)
        return 2
    args.clock = core.Clock()
    module = importlib.import_module(args.provider)
    gc.disable()   # seeding allocates millions of long-lived objects: no point scanning them
    try:
        provider = module.create(args)
    except ValueError as e:
        sys.stderr.write("run.py: %s\n" % e)
        return 2
    provider.account = args.account
    if hasattr(provider, "account_changed"):
        provider.account_changed()
    gc.freeze()    # and keep the seeded heap out of every later collection
    gc.enable()

    app = core.App(provider, args.clock, args.latency_ms)
    try:
        server = core.Server(("127.0.0.1", args.port), app)
    except OSError as e:
        sys.stderr.write("run.py: cannot listen on 127.0.0.1:%d: %s\n" % (args.port, e.strerror))
        return 2
    url = "http://127.0.0.1:%d" % server.server_address[1]
    app.url = url

    try:
        sys.stdout.write("listening on %s\n%s\n" % (url, provider.credentials(url)))
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    try:
        server.serve_forever(poll_interval=0.2)
    except _Stop:
        pass
    finally:
        try:
            server.server_close()
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    try:
        code = main()
    except _Stop:
        code = 0
    try:
        sys.stdout.flush()
    except (BrokenPipeError, OSError):
        pass
    os._exit(code)   # do not wait for keep-alive worker threads
