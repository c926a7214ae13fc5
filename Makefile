# crmsync build.  `make` builds ./crmsync; `make check` runs every test;
# `make demo` shows the tool working against the local emulator.
# Missing build dependencies are installed with apt-get on Debian (as root).

PREFIX    ?= /usr/local
BINDIR    ?= $(PREFIX)/bin
MANDIR    ?= $(PREFIX)/share/man
COMPDIR   ?= $(PREFIX)/share/bash-completion/completions
ZSHDIR    ?= $(PREFIX)/share/zsh/site-functions
FISHDIR   ?= $(PREFIX)/share/fish/vendor_completions.d
CC        ?= cc
PKGS      := libcurl jansson inih sqlite3
WARN      := -std=c11 -Wall -Wextra -Werror -Wshadow -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS    ?= -O2 -g
GEN       := build/gen
CPPFLAGS  += -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Ilib -Iproviders -Icmd -I$(GEN)
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lpthread

LIB_SRC  := $(sort $(wildcard lib/*.c))
PROV_SRC := $(sort $(wildcard providers/*.c))
CMD_SRC  := $(sort $(wildcard cmd/*.c))
SRC      := $(LIB_SRC) $(PROV_SRC) $(CMD_SRC)
HDR      := $(wildcard lib/*.h providers/*.h cmd/*.h)

BUILD    ?= build
BIN      ?= crmsync
OBJ      := $(SRC:%.c=$(BUILD)/%.o)
ASAN_OBJ := $(SRC:%.c=build-asan/%.o)
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -DCRM_SELFCHECK

# Debian packages the build and the test suite need (pkg-config name : package).
APT_BUILD := pkg-config libcurl4-openssl-dev libjansson-dev libinih-dev libcsv-dev libsqlite3-dev
APT_TEST  := python3 jq valgrind curl iproute2 sqlite3

# make check builds two at a time (the machine CI runs on has two cores;
# .ci/run calls make check with no -j).
ifneq ($(filter check,$(MAKECMDGOALS)),)
MAKEFLAGS += -j2
endif

.PHONY: all deps check test asan demo install clean bench release headers valgrind fuzz fuzz-replay sdk-check check-live
all: deps $(BIN)

# Install what is missing, once: pkg-config tells whether the libraries are
# there; apt-get runs only when something is missing.
deps:
	@missing=""; \
	command -v pkg-config >/dev/null 2>&1 || missing="pkg-config"; \
	for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || missing="$$missing $$p"; done; \
	[ -f /usr/include/csv.h ] || missing="$$missing libcsv"; \
	for t in $(filter-out iproute2,$(APT_TEST)); do command -v $$t >/dev/null 2>&1 || missing="$$missing $$t"; done; \
	command -v ip >/dev/null 2>&1 || missing="$$missing iproute2"; \
	if [ -n "$$missing" ]; then \
		echo "crmsync: installing missing dependencies:$$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "crmsync: run as root or install: $(APT_BUILD) $(APT_TEST)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(APT_BUILD) $(APT_TEST) >/dev/null; \
	fi

# Every provider the sources define, PROVIDER(name) a line, for
# providers/registry.c: adding a CRM is adding its file, nothing else.
# Rewritten only when the list changes (registry.o alone depends on it).
$(GEN)/providers.gen.h: $(PROV_SRC)
	@mkdir -p $(GEN)
	@sed -n 's/^const struct provider provider_\([a-z0-9_]*\) = {.*/PROVIDER(\1)/p' $(PROV_SRC) > $@.tmp
	@cmp -s $@.tmp $@ && rm -f $@.tmp || mv $@.tmp $@

$(BUILD)/providers/registry.o build-asan/providers/registry.o: $(GEN)/providers.gen.h

$(BIN): $(OBJ)
	@echo "LD $@"
	@$(CC) $(CFLAGS) -o $@ $(OBJ) $(PKG_LIBS) $(LDFLAGS)

$(BUILD)/%.o: %.c $(HDR) | deps
	@mkdir -p $(dir $@)
	@echo "CC $<"
	@$(CC) $(WARN) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -c -o $@ $<

build-asan/crmsync: $(ASAN_OBJ)
	@echo "LD $@"
	@$(CC) $(ASAN_FLAGS) -o $@ $(ASAN_OBJ) $(PKG_LIBS)

build-asan/%.o: %.c $(HDR) | deps
	@mkdir -p $(dir $@)
	@echo "CC (asan) $<"
	@$(CC) $(WARN) $(ASAN_FLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -c -o $@ $<

asan: deps build-asan/crmsync

# Fuzzing (libFuzzer, clang): `make fuzz FUZZ_SECONDS=N` runs every target;
# new corpus inputs land in tests/fuzz/corpus/NAME, crashes in
# tests/fuzz/crashes/NAME.  `make check` replays both under ASan+UBSan.
# A provider's target is tests/fuzz/fuzz_provider.c built for it: one a
# providers/NAME.c, found as the registry finds them.
PROV_NAMES   := $(filter-out registry,$(notdir $(PROV_SRC:.c=)))
FUZZ_TARGETS := json jv ndjson config state time url pager $(PROV_NAMES)
FUZZ_SECONDS ?= 60
LIB_ASAN_OBJ := $(LIB_SRC:%.c=build-asan/%.o)
PROV_ASAN_OBJ := $(PROV_SRC:%.c=build-asan/%.o)
build-asan/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB_ASAN_OBJ) $(HDR)
	@mkdir -p $(dir $@)
	@echo "CC (asan) $@"
	@$(CC) $(WARN) $(ASAN_FLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -o $@ $< tests/fuzz/replay.c $(LIB_ASAN_OBJ) $(PKG_LIBS)

$(PROV_NAMES:%=build-asan/fuzz/replay_%): build-asan/fuzz/replay_%: tests/fuzz/fuzz_provider.c tests/fuzz/replay.c \
		$(LIB_ASAN_OBJ) $(PROV_ASAN_OBJ) $(HDR)
	@mkdir -p $(dir $@)
	@echo "CC (asan) $@"
	@$(CC) $(WARN) $(ASAN_FLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -DFUZZ_PROVIDER='"$*"' -o $@ $< tests/fuzz/replay.c \
		$(LIB_ASAN_OBJ) $(PROV_ASAN_OBJ) $(PKG_LIBS)

fuzz-replay: deps $(FUZZ_TARGETS:%=build-asan/fuzz/replay_%)

fuzz: deps $(GEN)/providers.gen.h
	@command -v clang >/dev/null && [ -n "$$(find /usr/lib/llvm-*/lib/clang -name 'libclang_rt.fuzzer*' 2>/dev/null | head -1)" ] || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq clang libclang-rt-14-dev >/dev/null; }
	@mkdir -p build-fuzz
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $$t for $(FUZZ_SECONDS)s"; \
		mkdir -p tests/fuzz/corpus/$$t tests/fuzz/crashes/$$t; \
		if [ -f tests/fuzz/fuzz_$$t.c ]; then src="tests/fuzz/fuzz_$$t.c $(LIB_SRC)"; \
		else src="-DFUZZ_PROVIDER=\"$$t\" tests/fuzz/fuzz_provider.c $(LIB_SRC) $(PROV_SRC)"; fi; \
		clang -g -O1 -fsanitize=fuzzer,address,undefined $(CPPFLAGS) $(PKG_CFLAGS) \
			-o build-fuzz/fuzz_$$t $$src $(PKG_LIBS) || exit 1; \
		./build-fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
			-artifact_prefix=tests/fuzz/crashes/$$t/ tests/fuzz/corpus/$$t 2>&1 | grep -E "stat::number_of_executed_units|ERROR|SUMMARY" ; \
	done

# Every header compiles on its own (STYLE.md: headers proven standalone).
headers: deps
	@for h in $(HDR); do \
		printf '#include "%s"\n' $$(basename $$h) | \
		$(CC) $(WARN) $(CPPFLAGS) $(PKG_CFLAGS) -x c -fsyntax-only - || { echo "header $$h does not compile alone"; exit 1; }; \
	done

check: all asan fuzz-replay
	@python3 tests/run.py --bin ./crmsync --asan-bin build-asan/crmsync

test: check

# The contract checked against your own CRM account (a sandbox or test one):
# `make check-live PROVIDER=hubspot [PROFILE=NAME] [LIVE_OK=1]`.  Credentials
# as crmsync reads them (environment or config profile).  It creates a few
# marked records, deletes them all at the end, and writes a report.
check-live: all
	@if [ -z "$(PROVIDER)$(PROFILE)" ]; then echo "usage: make check-live PROVIDER=NAME [PROFILE=NAME] [LIVE_OK=1]" >&2; exit 64; fi
	@LIVE_OK="$(LIVE_OK)" python3 tests/live/scenario.py --bin ./$(BIN) $(if $(PROVIDER),-p $(PROVIDER)) $(if $(PROFILE),--profile $(PROFILE))

demo: all
	@sh tests/demo.sh

# The release build that make bench measures: -O3 and link-time
# optimisation (lib/jv's small functions inlined into their callers).
RELEASE_CFLAGS := -O3 -g -flto=auto

release: deps
	@$(MAKE) --no-print-directory BUILD=build-release BIN=build-release/crmsync CFLAGS="$(RELEASE_CFLAGS)" build-release/crmsync

bench: all release
	@CRMSYNC_BIN=build-release/crmsync sh tests/bench.sh

# The official client libraries against the emulators (needs the npm registry).
sdk-check:
	@sh tests/sdk_check.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(COMPDIR) \
		$(DESTDIR)$(ZSHDIR) $(DESTDIR)$(FISHDIR)
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/crmsync
	install -m 644 man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/*.7 $(DESTDIR)$(MANDIR)/man7/
	install -m 644 completion/crmsync.bash $(DESTDIR)$(COMPDIR)/crmsync
	install -m 644 completion/_crmsync $(DESTDIR)$(ZSHDIR)/_crmsync
	install -m 644 completion/crmsync.fish $(DESTDIR)$(FISHDIR)/crmsync.fish

clean:
	rm -rf build build-asan build-fuzz build-sdk build-release crmsync
