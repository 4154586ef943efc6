# promo - build, test, demo, bench, install.  See README.md.
#
#   make            programs into bin/
#   make test       install missing packages, build, run every test, then the
#                   same suite under AddressSanitizer+UBSan; ends "N passed, N failed"
#   make asan       the test suite under the sanitizers only
#   make demo       the pipeline on an embedded default configuration
#   make bench      the pipeline against promo-sim with 1,000 and 10,000
#                   trackers: bench/results.json and bench/results.png
#   make chaos      KILLS=1000 TRACKERS=50 DURATION=600: trackers through the
#                   chain while random stages are SIGKILLed; prints a summary
#   make fuzz       FUZZ_SECONDS=60: each libFuzzer harness in fuzz/ (clang)
#   make install    PREFIX=/usr/local DESTDIR=

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
BIN     ?= bin
PKGS    := libcjson yaml-0.1 libzmq libcurl libmicrohttpd libcrypto
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT     ?= -O2 -g
SAN     ?=
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
           -Wshadow -Wformat=2 -Wvla $(OPT) $(SAN) $(PKG_CFLAGS) -I.
LDFLAGS += $(SAN)
LDLIBS  += $(PKG_LIBS) -lm

# The layers, lowest first (README "Layout", docs/hacking.md): each is a
# library, and a program links them highest first, so that a call from a
# lower layer up into a higher one has nothing left to resolve it and fails
# to link; scripts/layers.sh checks the includes and the symbols as well.
LAYERS  := util domain ipc adapters
layer_lib = $(BUILD)/libpromo-$(1).a
$(foreach l,$(LAYERS),$(eval LIBOBJ_$(l) := $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(l)/*.c))))
LIB     := $(call layer_lib,adapters) $(call layer_lib,ipc) $(call layer_lib,domain) $(call layer_lib,util)
LIBOBJ  := $(foreach l,$(LAYERS),$(LIBOBJ_$(l)))

# program name : source folder
PROGS   := promo-watcher:watcher promo-policy:policy promo-trigger:trigger \
           promo-monitor:monitor promo-promoter:promoter promoctl:ctl \
           promo-sim:sim promo-webhook:webhook promo-pipe:pipe
HAVE    := $(foreach p,$(PROGS),$(if $(wildcard $(word 2,$(subst :, ,$(p)))/*.c),$(p)))
BINS    := $(foreach p,$(HAVE),$(BIN)/$(word 1,$(subst :, ,$(p))))

UNITSRC := $(wildcard tests/unit/test_*.c)
UNITS   := $(UNITSRC:tests/unit/%.c=$(BUILD)/tests/%)

.SECONDEXPANSION:
.PHONY: all deps test test-only unit asan demo bench chaos install clean
all: $(BINS) $(UNITS)

# -MMD -MP: each object also depends on every header it includes, its own
# folder's included (build/**/*.d).
$(BUILD)/%.o: %.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

$(BUILD)/libpromo-%.a: $$(LIBOBJ_$$*)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# promo-sim plays the external systems: it stands on the generic layer only
# and shares no code with adapters/ (it must not agree with them by
# construction).
LIBS_promo-sim := $(call layer_lib,util)

define prog_rule
$(BIN)/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard $(2)/*.c)) $(or $(LIBS_$(1)),$(LIB))
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS) -o $$@ $$^ $(LDLIBS)
endef
$(foreach p,$(HAVE),$(eval $(call prog_rule,$(word 1,$(subst :, ,$(p))),$(word 2,$(subst :, ,$(p))))))

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/tests/unit/unit.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/unit/unit.o: tests/unit/unit.c tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

deps:
	@sh scripts/deps.sh

# The README's test command: the suite, then the suite under the sanitizers.
test: deps
	@$(MAKE) -s all
	@$(MAKE) -s BUILD=build/asan BIN=build/asan/bin OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	@sh tests/run --bin bin --units build/tests --label plain \
	             --bin2 build/asan/bin --units2 build/asan/tests --label2 asan

test-only: all
	@sh tests/run --bin bin --units build/tests --label plain

asan: deps
	@$(MAKE) -s BUILD=build/asan BIN=build/asan/bin OPT="-O1 -g -fno-omit-frame-pointer" \
	    SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined" all
	@sh tests/run --bin build/asan/bin --units build/asan/tests --label asan

demo: deps
	@$(MAKE) -s all
	@sh scripts/demo.sh

# The long chaos run (tests/chaos/run.sh, docs/supervision.md); the short
# one is in the test suite (tests/bats/chaos.bats).
KILLS    ?= 1000
TRACKERS ?= 50
DURATION ?= 600
chaos: deps
	@$(MAKE) -s all
	@bash tests/chaos/run.sh --kills $(KILLS) --trackers $(TRACKERS) --duration $(DURATION) -v

bench:
	@sh scripts/deps.sh bench
	@$(MAKE) -s all
	@bash bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/doc/promo
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/promo/

clean:
	rm -rf build bin

# Fuzzing: the corpus replayers join `all` (so `make test` runs them); `make
# fuzz FUZZ_SECONDS=60` runs the libFuzzer harnesses. See docs/fuzzing.md.
include fuzz/Makefile.inc
