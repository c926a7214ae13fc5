#!/bin/sh
# make bench: a release build, the raw-loop floor, then bench/bench.py.
set -e
cd "$(dirname "$0")/.."
cc -O2 -o bench/rawloop bench/rawloop.c $(pkg-config --cflags --libs libcurl)
cc -O2 -o bench/rss bench/rss.c
python3 bench/bench.py "$@"
python3 bench/providers.py
python3 bench/pull_parts.py
python3 bench/calls.py
