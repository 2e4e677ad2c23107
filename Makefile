# posbridge: one non-recursive Makefile.
#
#   make            build posbridge and possim (installs missing build packages first)
#   make check      build and run every test (unit, end-to-end lanes, short fuzz runs;
#                   installs the test tools first: cmocka, tshark, socat, umockdev...)
#   make demo       run a complete virtual checkout lane and show its discrepancies
#   make fuzz       long libFuzzer runs of every harness (clang)
#   make soak       long reliability runs
#   make bench      benchmarks; figures go to docs/BENCHMARKS.md
#   make man        man pages from the programs' --help (build/man/)
#   make install    programs, man pages, systemd unit, examples, Wireshark dissectors
#                   (PREFIX, DESTDIR, WIRESHARK_PLUGIN_DIR)
#   make SANITIZE=1 check     the same with ASan+UBSan
#   make COVERAGE=1 check     the same with gcov instrumentation
#
# Layers (docs/DESIGN.md): protocols/ <- lane/ <- bridge/ (posbridge) and sim/ (possim).
# Each layer compiles with the include paths of the layers below it and its own, nothing
# else, so a wrong arrow (sim/ including a bridge/ header, a codec including the journal)
# fails to compile; possim does not link bridge/ objects at all (tests/e2e/test_layers.sh).
#
# New modules need no edit here: protocols/*.c, lane/*.c, bridge/*.c (except main.c) and
# sim/*.c (except main.c) are picked up by wildcard; every tests/test_*.c becomes one test
# binary.

CC       ?= cc
BUILD    ?= build
PREFIX   ?= /usr/local

# What the programs need to build (plain `make`), and what only the tests and benchmarks
# need (`make check`, `make bench`): pkg-config modules, commands, and the Debian
# packages behind them. Each set is installed when missing (as root), else named.
PKG_MODULES   := libserialport libusb-1.0 sqlite3 jansson inih ncursesw nettle
BUILD_DEB     := pkg-config libserialport-dev libusb-1.0-0-dev libsqlite3-dev \
                 libjansson-dev libinih-dev libncurses-dev nettle-dev
TEST_MODULES  := cmocka umockdev-1.0
TEST_COMMANDS := socat tshark umockdev-run tmux chromium logrotate groff
TEST_DEB      := libcmocka-dev socat tshark umockdev libumockdev-dev tmux chromium \
                 logrotate groff-base

WARN     := -Wall -Wextra -Werror -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
            -Wformat=2 -Wvla -Wpointer-arith -Wundef -Wno-unused-parameter
CFLAGS   ?= -O2 -g
CFLAGS   += -std=c11 -D_GNU_SOURCE $(WARN) -MMD -MP

# Include paths per layer; tests, benchmarks and fuzz harnesses see every layer.
INC_protocols := -Iprotocols
INC_lane      := -Iprotocols -Ilane
INC_bridge    := -Iprotocols -Ilane -Ibridge
INC_sim       := -Iprotocols -Ilane -Isim
INC_ALL       := -Iprotocols -Ilane -Ibridge -Isim
layer_inc      = $(or $(INC_$(firstword $(subst /, ,$(1)))),$(INC_ALL))
LDFLAGS  ?=

ifeq ($(SANITIZE),1)
BUILD    := build-san
CFLAGS   += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(COVERAGE),1)
BUILD    := build-cov
CFLAGS   += --coverage -O0
LDFLAGS  += --coverage
endif

# Lazily expanded: pkg-config runs in recipes, after the deps stamp has installed it.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKG_MODULES))
PKG_LIBS   = $(shell pkg-config --libs $(PKG_MODULES)) -lm
TEST_LIBS  = $(shell pkg-config --libs cmocka)

PROTO_SRC  := $(wildcard protocols/*.c)
LANE_SRC   := $(wildcard lane/*.c)
BRIDGE_SRC := $(filter-out bridge/main.c,$(wildcard bridge/*.c))
SIM_SRC    := $(filter-out sim/main.c,$(wildcard sim/*.c))
TEST_SRC   := $(wildcard tests/test_*.c)
FUZZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIBLANE    := $(BUILD)/liblane.a
LIBPB      := $(BUILD)/libposbridge.a
LIBSIM     := $(BUILD)/libpossim.a
POSBRIDGE  := $(BUILD)/posbridge
POSSIM     := $(BUILD)/possim
TESTS      := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
FUZZ_SHORT := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz-short/%,$(FUZZ_SRC))
DEPS_STAMP := $(BUILD)/.deps-ok
TEST_DEPS_STAMP := $(BUILD)/.test-deps-ok

.PHONY: FORCE all deps test-deps check check-unit check-fuzz check-e2e check-scenarios demo fuzz soak bench clean install man
.DELETE_ON_ERROR:
.SECONDARY:

all: $(POSBRIDGE) $(POSSIM)

# ---- dependencies: install what is missing, or say exactly how -------------------------
# $(call need,WHAT,MODULES,COMMANDS,PACKAGES): true when every pkg-config module and
# command is there; else apt-get installs PACKAGES (root) or the command is printed.
need = missing=; \
  for m in $(2); do pkg-config --exists $$m 2>/dev/null || missing="$$missing $$m"; done; \
  for c in $(3); do PATH=$$PATH:/usr/sbin command -v $$c >/dev/null 2>&1 || missing="$$missing $$c"; done; \
  if [ -n "$$missing" ]; then \
    echo "posbridge: missing $(1) dependencies:$$missing; Debian packages: $(4)"; \
    if [ "$$(id -u)" = 0 ]; then \
      DEBIAN_FRONTEND=noninteractive apt-get update -q && \
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(4) || exit 1; \
    else \
      echo "posbridge: not root; run:  sudo apt-get update && sudo apt-get install -y $(4)"; \
      exit 1; \
    fi; \
  fi

deps: $(DEPS_STAMP)
$(DEPS_STAMP): Makefile
	@mkdir -p $(@D)
	@$(call need,build,$(PKG_MODULES),pkg-config,$(BUILD_DEB))
	@touch $@

test-deps: $(TEST_DEPS_STAMP)
$(TEST_DEPS_STAMP): Makefile | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@$(call need,test,$(TEST_MODULES),$(TEST_COMMANDS),$(TEST_DEB))
	@touch $@

# ---- objects ---------------------------------------------------------------------------
$(BUILD)/%.o: %.c | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) $(call layer_inc,$<) $(PKG_CFLAGS) -c $< -o $@

# What both programs share: the codecs and the engine of one lane.
$(LIBLANE): $(call obj,$(PROTO_SRC) $(LANE_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBPB): $(call obj,$(BRIDGE_SRC))
	@rm -f $@
	$(AR) rcs $@ $^

$(LIBSIM): $(call obj,$(SIM_SRC)) $(BUILD)/.empty.o
	@rm -f $@
	$(AR) rcs $@ $^

$(BUILD)/.empty.o: | $(DEPS_STAMP)
	@mkdir -p $(@D)
	echo 'extern int possim_empty_unit; int possim_empty_unit;' | $(CC) -x c -c - -o $@

$(POSBRIDGE): $(call obj,bridge/main.c) $(LIBPB) $(LIBLANE)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(POSSIM): $(call obj,sim/main.c) $(LIBSIM) $(LIBLANE)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# ---- tests -----------------------------------------------------------------------------
# Test objects need cmocka's header: the test dependencies come first.
$(call obj,$(TEST_SRC) $(FUZZ_SRC) tests/fuzz/driver.c): | $(TEST_DEPS_STAMP)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(LIBSIM) $(LIBPB) $(LIBLANE)
	$(CC) $(LDFLAGS) -o $@ $^ $(TEST_LIBS) $(PKG_LIBS)

# Short fuzz runs for make check: each harness linked with a deterministic driver
# (corpus replay plus seeded mutations), built by the ordinary compiler.
$(BUILD)/fuzz-short/%: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/driver.o $(LIBSIM) $(LIBPB) $(LIBLANE)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The scenario library runs after the rest, alone: its lanes keep real protocol time,
# and a machine busy with the other suites makes a simulated terminal miss it.
# Tests write only inside their own directories: every test runs with HOME and the XDG
# directories inside the build tree, so a default path (the journal of a `posbridge
# report` without --journal, chromium's profile) never lands in the user's home or, as
# root, in /var/lib/posbridge. The check fails if a product path outside was touched.
TEST_HOME := $(abspath $(BUILD))/test-home
CHECKS := check check-unit check-fuzz check-e2e check-scenarios
$(CHECKS): export HOME := $(TEST_HOME)
$(CHECKS): export XDG_STATE_HOME := $(TEST_HOME)/.local/state
$(CHECKS): export XDG_CONFIG_HOME := $(TEST_HOME)/.config
$(CHECKS): export XDG_CACHE_HOME := $(TEST_HOME)/.cache
$(CHECKS): export XDG_RUNTIME_DIR := $(TEST_HOME)/run
STRAY_PATHS := /var/lib/posbridge /run/posbridge /var/log/posbridge

check: check-unit check-fuzz check-e2e
	@$(MAKE) --no-print-directory check-scenarios IN_CHECK=1
	@stray=$$(find $(STRAY_PATHS) -newer $(TEST_HOME)/.started 2>/dev/null); \
	if [ -n "$$stray" ]; then echo "posbridge: FAIL: tests wrote outside their directories:"; \
	  echo "$$stray"; exit 1; fi
	@echo "posbridge: all checks passed"

$(TEST_HOME)/.started: FORCE
	@mkdir -p $(TEST_HOME)/run && chmod 700 $(TEST_HOME)/run
	@[ -n "$(IN_CHECK)" ] && [ -e $@ ] || touch $@
FORCE:
check-unit check-fuzz check-e2e check-scenarios: $(TEST_HOME)/.started

check-unit: $(TESTS) all
	@fail=0; pass=0; for t in $(TESTS); do \
	  echo "== $$t"; \
	  if POSBRIDGE=$(CURDIR)/$(POSBRIDGE) POSSIM=$(CURDIR)/$(POSSIM) $$t; then pass=$$((pass+1)); \
	  else echo "FAILED: $$t"; fail=$$((fail+1)); fi; \
	done; echo "unit test programs: $$pass passed, $$fail failed"; test $$fail = 0

FUZZ_SHORT_RUNS ?= 20000
check-fuzz: $(FUZZ_SHORT)
	@for f in $(FUZZ_SHORT); do \
	  n=$$(basename $$f); \
	  $$f -runs=$(FUZZ_SHORT_RUNS) tests/fuzz/corpus/$${n#fuzz_} || exit 1; \
	done

check-e2e: all $(TEST_DEPS_STAMP)
	@if [ -x tests/e2e/run.sh ]; then \
	  POSBRIDGE=$(CURDIR)/$(POSBRIDGE) POSSIM=$(CURDIR)/$(POSSIM) tests/e2e/run.sh; \
	else echo "check-e2e: no end-to-end suite yet"; fi

# The scenario library, each file a real lane (possim register -> posbridge -> possim
# terminal over ptys), judged against the journal; one protocol per core; then all of it
# again over loopback TCP (possim run --link tcp), four lanes at a time. Then the
# journal of each kept lane, `posbridge decode` of its capture and `possim play` of the
# same file must list the same transactions (tests/scenarios_agree.sh).
SCENARIO_PROTOCOLS := concert zvt pax mispos
SCENARIO_FILES = $(foreach p,$(SCENARIO_PROTOCOLS),$(wildcard captures/scenarios/$(p)-*.scn))
check-scenarios: all $(TEST_DEPS_STAMP)
	@rm -rf $(BUILD)/scenario-runs; mkdir -p $(BUILD)/scenario-runs/tcp; \
	pids=; for p in $(SCENARIO_PROTOCOLS); do \
	  mkdir -p $(BUILD)/scenario-runs/$$p; \
	  $(POSSIM) run --quiet --keep --run-dir $(BUILD)/scenario-runs/$$p \
	    --posbridge $(POSBRIDGE) --junit $(BUILD)/scenarios-$$p.xml \
	    captures/scenarios/$$p-*.scn > $(BUILD)/scenarios-$$p.log 2>&1 & pids="$$pids $$!"; \
	done; fail=0; for pid in $$pids; do wait $$pid || fail=1; done; \
	for p in $(SCENARIO_PROTOCOLS); do echo "== scenario library: $$p"; cat $(BUILD)/scenarios-$$p.log; done; \
	for p in $(SCENARIO_PROTOCOLS); do echo "== play, run and decode agree: $$p"; \
	  POSBRIDGE=$(POSBRIDGE) POSSIM=$(POSSIM) tests/scenarios_agree.sh \
	    $(BUILD)/scenario-runs/$$p captures/scenarios/$$p-*.scn || fail=1; \
	done; \
	echo "== scenario library over loopback TCP"; \
	$(POSSIM) run --quiet --link tcp -j 4 --keep --run-dir $(BUILD)/scenario-runs/tcp \
	  --posbridge $(POSBRIDGE) --junit $(BUILD)/scenarios-tcp.xml $(SCENARIO_FILES) || fail=1; \
	POSBRIDGE=$(POSBRIDGE) POSSIM=$(POSSIM) tests/scenarios_agree.sh \
	  $(BUILD)/scenario-runs/tcp $(SCENARIO_FILES) > $(BUILD)/agree-tcp.log || \
	  { cat $(BUILD)/agree-tcp.log; fail=1; }; tail -1 $(BUILD)/agree-tcp.log; \
	test $$fail = 0

# ---- long runs -------------------------------------------------------------------------
FUZZ_SECONDS ?= 120
fuzz: | $(DEPS_STAMP)
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install -y clang"; exit 1; }
	$(MAKE) BUILD=build-fuzz CC=clang \
	  CFLAGS="-O2 -g -fsanitize=fuzzer-no-link,address,undefined -std=c11 -D_GNU_SOURCE" \
	  LDFLAGS="-fsanitize=address,undefined" build-fuzz/libposbridge.a build-fuzz/libpossim.a build-fuzz/liblane.a
	@mkdir -p build-fuzz/bin
	@for h in $(FUZZ_SRC); do \
	  n=$$(basename $$h .c); \
	  clang -O2 -g -std=c11 -D_GNU_SOURCE $(INC_ALL) $(PKG_CFLAGS) \
	    -fsanitize=fuzzer,address,undefined $$h build-fuzz/libpossim.a build-fuzz/libposbridge.a build-fuzz/liblane.a \
	    $(PKG_LIBS) -o build-fuzz/bin/$$n || exit 1; \
	  mkdir -p build-fuzz/corpus/$$n; \
	  echo "== $$n for $(FUZZ_SECONDS) s"; \
	  build-fuzz/bin/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    build-fuzz/corpus/$$n tests/fuzz/corpus/$${n#fuzz_} || exit 1; \
	done

soak: all $(TEST_DEPS_STAMP)
	@if [ -x tests/soak/run.sh ]; then tests/soak/run.sh; else echo "soak: no soak suite yet"; exit 1; fi

bench: all $(TEST_DEPS_STAMP)
	@if [ -x bench/run.sh ]; then bench/run.sh; else echo "bench: no benchmarks yet"; exit 1; fi

demo: all
	@if [ -x sim/demo.sh ]; then POSBRIDGE=$(CURDIR)/$(POSBRIDGE) POSSIM=$(CURDIR)/$(POSSIM) sim/demo.sh; \
	else echo "demo: the virtual lane arrives with possim (issue 4); not built yet"; exit 1; fi

# ---- man pages and install ---------------------------------------------------------------
MAN := $(BUILD)/man/posbridge.1 $(BUILD)/man/possim.1
$(BUILD)/man/posbridge.1: $(POSBRIDGE) docs/man.sh
	@mkdir -p $(@D)
	docs/man.sh $(POSBRIDGE) "bridge a cash register and a card payment terminal, record what was asked and charged" $@
$(BUILD)/man/possim.1: $(POSSIM) docs/man.sh
	@mkdir -p $(@D)
	docs/man.sh $(POSSIM) "simulate a card payment terminal or a cash register, with faults" $@
man: $(MAN)

# The unit names the installed program; examples (config, udev rule, logrotate) are
# copied where an integrator looks for them, never activated. The Wireshark dissectors
# go to share/posbridge/wireshark/ and into Wireshark's global Lua plugin folder for this
# prefix (tshark -G folders: "Global Lua Plugins"; /usr/lib/<multiarch>/wireshark/plugins
# for PREFIX=/usr). Wireshark does not look under /usr/local: there, set
# WIRESHARK_PLUGIN_DIR, or copy the file into ~/.local/lib/wireshark/plugins/
# (docs/CAPTURE.md). WIRESHARK_PLUGIN_DIR= (empty) installs the share/ copy only.
DOCDIR := $(DESTDIR)$(PREFIX)/share/doc/posbridge
MULTIARCH = $(shell $(CC) -print-multiarch 2>/dev/null)
WIRESHARK_PLUGIN_DIR ?= $(PREFIX)/lib$(if $(MULTIARCH),/$(MULTIARCH))/wireshark/plugins
install: all man
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/lib/systemd/system $(DOCDIR)/examples \
	  $(DESTDIR)$(PREFIX)/share/posbridge/wireshark
	install -m 0755 $(POSBRIDGE) $(POSSIM) $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 $(MAN) $(DESTDIR)$(PREFIX)/share/man/man1/
	sed 's|/usr/local/bin/|$(PREFIX)/bin/|' contrib/posbridge@.service \
	  > $(DESTDIR)$(PREFIX)/lib/systemd/system/posbridge@.service
	install -m 0644 contrib/60-posbridge.rules contrib/lane1.ini.example \
	  contrib/posbridge.logrotate $(DOCDIR)/examples/
	install -m 0644 README.md docs/*.md $(DOCDIR)/
	install -m 0644 contrib/wireshark/posbridge.lua $(DESTDIR)$(PREFIX)/share/posbridge/wireshark/
	$(if $(WIRESHARK_PLUGIN_DIR),install -d $(DESTDIR)$(WIRESHARK_PLUGIN_DIR))
	$(if $(WIRESHARK_PLUGIN_DIR),install -m 0644 contrib/wireshark/posbridge.lua $(DESTDIR)$(WIRESHARK_PLUGIN_DIR)/)

clean:
	rm -rf build build-san build-cov build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# `make -s print-VAR` prints a variable (tests/e2e/test_layers.sh reads the layers' paths).
print-%:
	@echo '$($*)'
