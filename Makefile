# vaultfs - GNU make.  CFLAGS, CPPFLAGS, LDFLAGS and LDLIBS are yours;
# the project's own flags live in VAULT_* variables.
#
#   make                 build bin/vaultfs and bin/vaultctl
#   make check           install missing packages, build, run every test
#   make check-asan      the same under AddressSanitizer + UBSan
#   make demo            create, mount and show a demo vault
#   make bench           benchmarks against native, passthrough, gocryptfs
#   make bench-audit     the access log's cost on small files (A/B)
#   make fuzz            libFuzzer binaries (clang) in build/fuzz/
#   make install         PREFIX, DESTDIR, BINDIR, MANDIR honoured

PKG_CONFIG ?= pkg-config
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
CC ?= cc
PROVE ?= prove

# SANITIZE=address,undefined builds into its own tree.
ifneq ($(SANITIZE),)
O ?= build/san
SAN_FLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
OUT_BIN ?= $(O)/bin
else
O ?= build
OUT_BIN ?= bin
endif

PKGS = fuse3 libsodium libzstd
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)

VAULT_CFLAGS = -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Wshadow \
	-Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -fPIE -pthread \
	$(PKG_CFLAGS) $(SAN_FLAGS)
ifeq ($(DEVELOPER),1)
VAULT_CFLAGS += -Werror -Wformat=2 -Wconversion -Wno-sign-conversion
endif
VAULT_LDFLAGS = -pie -Wl,-z,relro,-z,now -pthread $(SAN_FLAGS)
VAULT_LIBS = $(PKG_LIBS)

ALL_CFLAGS = $(VAULT_CFLAGS) $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(VAULT_LDFLAGS) $(LDFLAGS)
ALL_LIBS = $(VAULT_LIBS) $(LDLIBS)

LIB_SRC = $(filter-out vaultfs/main.c,$(wildcard vaultfs/*.c)) $(wildcard keys/*.c)
CTL_SRC = $(wildcard tools/*.c)
UNIT_SRC = $(wildcard tests/unit/t-*.c)
HELPER_SRC = $(wildcard tests/helpers/*.c)
FUZZ_SRC = $(wildcard tests/fuzz/fuzz-*.c)

LIB_OBJ = $(LIB_SRC:%.c=$(O)/%.o)
CTL_OBJ = $(CTL_SRC:%.c=$(O)/%.o)
LIB = $(O)/libvault.a
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(O)/tests/unit/%)
HELPER_BIN = $(HELPER_SRC:tests/helpers/%.c=$(O)/tests/helpers/%)
FUZZ_REPLAY = $(FUZZ_SRC:tests/fuzz/%.c=$(O)/tests/fuzz/%)

all: $(OUT_BIN)/vaultfs $(OUT_BIN)/vaultctl

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(LIB): $(LIB_OBJ)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(OUT_BIN)/vaultfs: $(O)/vaultfs/main.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(OUT_BIN)/vaultctl: $(CTL_OBJ) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(O)/tests/unit/%: $(O)/tests/unit/%.o $(O)/tests/unit/tap.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(O)/tests/helpers/%: $(O)/tests/helpers/%.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

# Fuzz targets built as plain programs that replay tests/fuzz/corpus/<name>/.
$(O)/tests/fuzz/%: $(O)/tests/fuzz/%.o $(O)/tests/fuzz/replay.o $(LIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(ALL_LIBS)

$(O)/tests/unit/tap.o: tests/tap.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/tests/fuzz/replay.o: tests/fuzz/replay.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

deps:
	@sh tools/install-deps.sh

test-progs: all $(UNIT_BIN) $(HELPER_BIN) $(FUZZ_REPLAY)

# LD_PRELOAD shim of the power-cut test (t4007): a shared object, built
# without sanitizers since it is loaded into whichever daemon runs.
SHIM_SO = $(O)/tests/shim/powercut.so
$(SHIM_SO): tests/shim/powercut.c
	@mkdir -p $(@D)
	$(CC) $(filter-out -fPIE $(SAN_FLAGS),$(ALL_CFLAGS)) -fPIC -shared \
	  -o $@ $< -ldl
test-progs: $(SHIM_SO)

# Every test, TAP, through prove.  VAULTFS_BIN tells scripts which build.
check: deps
	@$(MAKE) --no-print-directory test-progs
	VAULTFS_BIN=$(abspath $(OUT_BIN)) VAULTFS_BUILD=$(abspath $(O)) \
	  $(PROVE) --exec '' $(PROVE_FLAGS) $(UNIT_BIN) $(FUZZ_REPLAY) \
	  $(wildcard tests/integration/t[0-9]*.sh)

check-asan: deps
	@$(MAKE) --no-print-directory check SANITIZE=address,undefined

demo: deps
	@$(MAKE) --no-print-directory all
	@sh tests/demo.sh

# The bench also builds a benchmark-only vaultfs without the access log
# (-DVAULTFS_BENCH_NO_AUDIT, in its own tree, never installed) to show
# what the log costs.
BENCH_NOAUDIT_O = $(O)/bench-noaudit
BENCH_ENV = VAULTFS_BIN=$${VAULTFS_BIN:-$(abspath $(OUT_BIN))} \
  VAULTFS_NOAUDIT_BIN=$${VAULTFS_NOAUDIT_BIN:-$(abspath $(BENCH_NOAUDIT_O)/bin)}
bench-builds: deps
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory all O=$(BENCH_NOAUDIT_O) \
	  OUT_BIN=$(BENCH_NOAUDIT_O)/bin \
	  CPPFLAGS="$(CPPFLAGS) -DVAULTFS_BENCH_NO_AUDIT"

bench: bench-builds
	@$(BENCH_ENV) sh tests/bench/bench.sh

# The log's cost on the small-file rows alone, as an interleaved A/B of
# the same two builds (tests/bench/audit-ab.sh): steadier than audit%.
bench-audit: bench-builds
	@$(BENCH_ENV) sh tests/bench/audit-ab.sh

FUZZ_CC ?= clang
fuzz:
	@mkdir -p build/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "  FUZZ $$n"; \
	  $(FUZZ_CC) -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
	    $(PKG_CFLAGS) -o build/fuzz/$$n $$f $(LIB_SRC) $(PKG_LIBS) || exit 1; done

# Long runs for the record (issue 6): the fault-injection tests at full
# length (VAULTFS_TORTURE=1: thousands of storage mutations, more crash
# rounds, 10 GiB and 100,000 files), the concurrency tests against a
# ThreadSanitizer daemon (reports in build/tsan/tsan.*), the memory test
# against an AddressSanitizer daemon (LeakSanitizer), then every libFuzzer
# target for FUZZ_SECONDS each with ASan + UBSan.  Crashers are kept in
# tests/fuzz/crashers/; new corpus entries in build/fuzz/corpus/.
FUZZ_SECONDS ?= 600
TORTURE_TESTS = $(wildcard tests/integration/t4[0-9]*.sh)
TORTURE_ENV = VAULTFS_TORTURE=1 VAULTFS_TEST_TIMEOUT=1800
torture: deps
	@$(MAKE) --no-print-directory test-progs
	$(TORTURE_ENV) VAULTFS_BIN=$(abspath $(OUT_BIN)) \
	  VAULTFS_BUILD=$(abspath $(O)) $(PROVE) --exec '' $(PROVE_FLAGS) \
	  $(TORTURE_TESTS)
	@$(MAKE) --no-print-directory test-progs SANITIZE=thread O=build/tsan \
	  OUT_BIN=build/tsan/bin
	@rm -f build/tsan/tsan.*
	$(TORTURE_ENV) VAULTFS_BIN=$(abspath build/tsan/bin) \
	  VAULTFS_BUILD=$(abspath build/tsan) \
	  TSAN_OPTIONS="log_path=$(abspath build/tsan)/tsan halt_on_error=0" \
	  $(PROVE) --exec '' $(PROVE_FLAGS) \
	  $(wildcard tests/integration/t*-concurrency.sh)
	@if ls build/tsan/tsan.* >/dev/null 2>&1; then \
	  echo "ThreadSanitizer reports:"; cat build/tsan/tsan.*; exit 1; fi
	@$(MAKE) --no-print-directory test-progs SANITIZE=address,undefined \
	  O=build/san OUT_BIN=build/san/bin
	$(TORTURE_ENV) VAULTFS_BIN=$(abspath build/san/bin) \
	  VAULTFS_BUILD=$(abspath build/san) $(PROVE) --exec '' $(PROVE_FLAGS) \
	  tests/integration/t4006-memory.sh
	@$(MAKE) --no-print-directory fuzz
	@mkdir -p tests/fuzz/crashers; fail=0; \
	for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  mkdir -p build/fuzz/corpus/$$n; \
	  echo "  FUZZ $$n for $(FUZZ_SECONDS) s"; \
	  build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    -artifact_prefix=tests/fuzz/crashers/$$n- \
	    build/fuzz/corpus/$$n tests/fuzz/corpus/$$n \
	    >build/fuzz/$$n.log 2>&1 || { fail=1; tail -n 40 build/fuzz/$$n.log; }; \
	  grep -h -e '^Done' -e 'stat::number_of_executed_units' build/fuzz/$$n.log; \
	done; exit $$fail

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 755 bin/vaultfs bin/vaultctl $(DESTDIR)$(BINDIR)/
	install -m 644 man/vaultfs.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 man/vaultfs.8 man/vaultctl.8 $(DESTDIR)$(MANDIR)/man8/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/vaultfs $(DESTDIR)$(BINDIR)/vaultctl
	rm -f $(DESTDIR)$(MANDIR)/man5/vaultfs.5
	rm -f $(DESTDIR)$(MANDIR)/man8/vaultfs.8 $(DESTDIR)$(MANDIR)/man8/vaultctl.8

lint:
	mandoc -Tlint -Wwarning man/*.[58]

clean:
	rm -rf build bin

.PHONY: all check check-asan demo bench bench-builds bench-audit fuzz torture install uninstall lint clean deps test-progs
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
