# Makefile — builds gort: the library (static and shared), the LD_PRELOAD
# drop-in, the gortsh shell once cli/ has sources, the tools, the unit tests
# and the benchmarks. Sources are discovered, never listed: a new .c or .S
# file under lib/ is part of the library on the next `make`.
#
#   make                      build/libgort.a, libgort.so(.0), libgortmalloc.so (+ gortsh)
#   make test                 every test, plus the sanitizer builds; ends "N passed, N failed"
#   make test SAN=thread      unit tests of one sanitizer build only
#   make SAN=address,undefined   everything into build/san-address-undefined
#   make DEBUG=1              -O0 and GORT_DEBUG=1 checks
#   make V=1                  show full commands
#   make fuzz                 the fuzz harnesses: libFuzzer (build/fuzz/), AFL++ (build/afl/)
#   make fuzz-run FUZZ_SECONDS=N   fuzz each harness for N s (libFuzzer); afl-run AFL_SECONDS=N
#   make fuzz-replay          replay corpus/ through the harnesses with this build, no fuzzing
#   make coverage             line coverage of lib/ reached by the fuzz corpora
#   make bench                every benchmark against the peers, the table and build/bench/ratios.svg
#   make bench-sched          gort's scheduler against Go's (BENCH_ARGS=--quick for a smoke run)
#
# Variables: CC, CFLAGS, CPPFLAGS, LDFLAGS (appended to ours), SAN, DEBUG, V,
# BUILD_ROOT (output folder, default build), PREFIX (default /usr/local), DESTDIR,
# LIBDIR, INCLUDEDIR, BINDIR, MANDIR (default PREFIX/share/man).

.DEFAULT_GOAL := all
SHELL := /bin/bash

comma := ,
VERSION := $(shell sed -n 's/.*GORT_VERSION_STRING "\(.*\)"/\1/p' lib/include/gort.h 2>/dev/null)
ifeq ($(VERSION),)
  VERSION := 0.1.0
endif
SAN ?=
DEBUG ?=
V ?=
PREFIX ?= /usr/local
DESTDIR ?=
INCLUDEDIR ?= $(PREFIX)/include
LIBDIR ?= $(PREFIX)/lib
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man

# --------------------------------------------------------------- toolchain
# Sanitizer builds default to clang (its runtimes come from libclang-rt-14-dev);
# an explicit CC on the command line or in the environment always wins.
# Outputs: BUILD_ROOT (default build/) for the normal build, and one folder
# per sanitizer set below it. BUILD is derived, so every build of one run
# lands in its own folder whatever the caller passes down.
BUILD_ROOT ?= build
ifneq ($(strip $(SAN)),)
  DEFAULT_CC := clang
  override BUILD := $(BUILD_ROOT)/san-$(subst $(comma),-,$(strip $(SAN)))
else
  DEFAULT_CC := gcc
  override BUILD := $(BUILD_ROOT)
endif
ifeq ($(origin CC),default)
  CC := $(DEFAULT_CC)
endif
AR ?= ar

ifeq ($(V),1)
  Q :=
  say :=
else
  Q := @
  say = @printf '  %-7s %s\n' '$(1)' '$(2)';
endif

# ------------------------------------------------------------------- flags
GORT_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -fPIC -fvisibility=hidden -pthread
GORT_CPPFLAGS := -Ilib -Ilib/include
GORT_LDFLAGS := -pthread
# Shared objects must resolve every symbol themselves; sanitizer runtimes are
# provided by the executable instead, so the check is left out there.
SO_LDFLAGS := -shared -pthread -Wl,--no-undefined

ifneq ($(strip $(SAN)),)
  GORT_CFLAGS += -fsanitize=$(SAN) -fno-omit-frame-pointer -fno-sanitize-recover=all -O1 -g
  GORT_LDFLAGS += -fsanitize=$(SAN)
  SO_LDFLAGS := -shared -pthread -fsanitize=$(SAN)
  ifneq ($(filter address,$(subst $(comma), ,$(SAN))),)
    GORT_CPPFLAGS += -DGORT_SAN_ADDRESS=1
  endif
  ifneq ($(filter thread,$(subst $(comma), ,$(SAN))),)
    GORT_CPPFLAGS += -DGORT_SAN_THREAD=1
  endif
  ifneq ($(filter undefined,$(subst $(comma), ,$(SAN))),)
    GORT_CPPFLAGS += -DGORT_SAN_UNDEFINED=1
  endif
endif
ifeq ($(DEBUG),1)
  GORT_CFLAGS += -O0
  GORT_CPPFLAGS += -DGORT_DEBUG=1
endif

ALL_CFLAGS = $(GORT_CPPFLAGS) $(CPPFLAGS) $(GORT_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(GORT_LDFLAGS) $(LDFLAGS)
DEPFLAGS = -MMD -MP

# ----------------------------------------------------------------- sources
# Files named *_<arch>.c or *_<arch>.S are built only on that architecture.
ARCH := $(shell $(CC) -dumpmachine 2>/dev/null | cut -d- -f1)
KNOWN_ARCHES := x86_64 aarch64 riscv64 i386 i686 arm
OTHER_ARCHES := $(filter-out $(ARCH),$(KNOWN_ARCHES))
arch_filter = $(filter-out $(foreach a,$(OTHER_ARCHES),%_$(a).c %_$(a).S),$(1))

find_src = $(shell find $(1) -path lib/preload -prune -o -type f -name '$(2)' -print 2>/dev/null | LC_ALL=C sort)

LIB_SRCS := $(call arch_filter,$(call find_src,lib,*.c) $(call find_src,lib,*.S))
PRELOAD_SRCS := $(sort $(wildcard lib/preload/*.c))
CLI_SRCS := $(sort $(wildcard cli/*.c))
TOOL_SRCS := $(sort $(wildcard tools/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c))
# Shared test code: tests/support/*.c and any tests/unit/*.c not named test_*.
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c) \
	$(filter-out $(TEST_SRCS),$(wildcard tests/unit/*.c)))
BENCH_SRCS := $(sort $(wildcard bench/*.c))
EXAMPLE_SRCS := $(sort $(wildcard examples/*.c))
HEADERS := $(sort $(wildcard lib/include/*.h))

obj = $(patsubst %,$(BUILD)/obj/%.o,$(basename $(1)))
LIB_OBJS := $(call obj,$(LIB_SRCS))
PRELOAD_OBJS := $(call obj,$(PRELOAD_SRCS))
CLI_OBJS := $(call obj,$(CLI_SRCS))
TEST_SUPPORT_OBJS := $(call obj,$(TEST_SUPPORT_SRCS))

LIBA := $(BUILD)/libgort.a
# The shared library carries a versioned SONAME, recorded by the programs
# that link it; libgort.so, what -lgort finds, links to it.
SOVERSION := 0
LIBSO := $(BUILD)/libgort.so
LIBSO_REAL := $(LIBSO).$(SOVERSION)
PRELOADSO := $(BUILD)/libgortmalloc.so
GORTSH := $(if $(CLI_SRCS),$(BUILD)/gortsh)
TOOLS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRCS))
TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(TEST_SRCS))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRCS))
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRCS))
# The misuse suite (tests/misuse/): one program built against the C library
# (run under LD_PRELOAD) and against gort_* directly. -fno-builtin keeps the
# compiler from reasoning about (and folding away) the calls it misuses.
MISUSE := $(BUILD)/misuse/misuse_libc $(BUILD)/misuse/misuse_gort
MISUSE_CFLAGS = $(GORT_CPPFLAGS) $(CPPFLAGS) -std=gnu11 -O1 -g -Wall -Wextra -Werror -pthread \
	-fno-builtin $(filter -fsanitize=%,$(GORT_CFLAGS)) $(CFLAGS)

ALL_OBJS := $(LIB_OBJS) $(PRELOAD_OBJS) $(CLI_OBJS) $(TEST_SUPPORT_OBJS) \
	$(call obj,$(TOOL_SRCS) $(TEST_SRCS) $(BENCH_SRCS) $(EXAMPLE_SRCS))

# Naming every object as a prerequisite keeps those reached only through
# pattern rules (tests, tools) from being deleted as intermediates.
objects: $(ALL_OBJS)
	@:

# The allocation calls the fuzz_shell harness intercepts in cli/ (fuzz/fuzz_shell.c,
# hooks): part of the flags below, so changing the list rebuilds those objects.
FUZZ_SHELL_HOOKED := gort_alloc gort_calloc gort_aligned_alloc gort_realloc gort_free gort_shutdown

# ---------------------------------------------------------- flag tracking
# Objects depend on a stamp holding the compile command, rewritten only when
# it changes, so `make DEBUG=1` after `make` rebuilds instead of mixing flags.
NOBUILD_GOALS := clean format format-check uninstall print-build help
ifneq ($(filter-out $(NOBUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
  FLAGS_STAMP := $(BUILD)/.flags
  FLAGS_NOW := $(CC) $(ALL_CFLAGS) | $(ALL_LDFLAGS) | $(SO_LDFLAGS) | $(FUZZ_SHELL_HOOKED)
  $(shell mkdir -p $(BUILD) && \
	{ [ "$$(cat $(FLAGS_STAMP) 2>/dev/null)" = '$(FLAGS_NOW)' ] || \
	  printf '%s\n' '$(FLAGS_NOW)' > $(FLAGS_STAMP); })
endif

# ----------------------------------------------------------------- targets
.PHONY: all objects lib test-bins tools test test-unit test-aarch64 bench-bins bench bench-sched demo clean \
	format format-check install uninstall compdb print-build help

all: $(LIBA) $(LIBSO) $(PRELOADSO) $(GORTSH)
	@:

lib: $(LIBA) $(LIBSO)
	@:

tools: $(TOOLS)
	@:

test-bins: $(LIBA) $(TOOLS) $(TESTS) $(MISUSE) $(PRELOADSO) $(EXAMPLES)
	@:

$(BUILD)/misuse/misuse_libc: tests/misuse/misuse.c $(FLAGS_STAMP)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(MISUSE_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

$(BUILD)/misuse/misuse_gort: tests/misuse/misuse.c $(LIBA) $(FLAGS_STAMP)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(MISUSE_CFLAGS) -DMISUSE_GORT -o $@ $< $(LIBA) $(ALL_LDFLAGS)

bench-bins: $(BENCHES)
	@:

$(BUILD)/obj/%.o: %.c $(FLAGS_STAMP)
	$(call say,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S $(FLAGS_STAMP)
	$(call say,AS,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBA): $(LIB_OBJS)
	$(call say,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBSO_REAL): $(LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(SO_LDFLAGS) -Wl,-soname,$(notdir $@) $(LDFLAGS) -o $@ $^

$(LIBSO): $(LIBSO_REAL)
	$(Q)rm -f $@ && ln -s $(notdir $<) $@

# -Bsymbolic-functions: malloc and free reach gort_malloc and gort_free
# directly, not through the PLT (nothing is meant to interpose gort_* here).
$(PRELOADSO): $(LIB_OBJS) $(PRELOAD_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(SO_LDFLAGS) -Wl,-soname,libgortmalloc.so -Wl,-Bsymbolic-functions $(LDFLAGS) -o $@ $^

$(BUILD)/gortsh: $(CLI_OBJS) $(LIBA)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) $(LIBA) -lreadline

$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIBA)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(TEST_SUPPORT_OBJS) $(LIBA)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(LIBA) -lcriterion -lm

$(BUILD)/examples/%: $(BUILD)/obj/examples/%.o $(LIBA)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA)

$(BUILD)/bench/%: $(BUILD)/obj/bench/%.o $(LIBA)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $< $(LIBA) -lm

# Every test (normal build, then the sanitizer builds; SKIP_SAN=1 skips them,
# SAN=... runs that build's unit tests only). The `+` hands make's job server
# to the builds the script starts.
test:
	+@bash scripts/deps.sh test
	+@SAN='$(SAN)' bash scripts/run-tests.sh

# The unit tests of this build only, no dependency check.
# The aarch64 context switch, then the whole library with a scheduler smoke
# test (step and threaded mode), cross-built and run under qemu-user. Not
# part of `make test` (the cross toolchain is a large download); .ci/run
# runs it.
AARCH64_CC ?= aarch64-linux-gnu-gcc
AARCH64_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -static -pthread -Ilib -Ilib/include
AARCH64_LIB_SRCS := $(filter-out $(foreach a,$(filter-out aarch64,$(KNOWN_ARCHES)),%_$(a).c %_$(a).S),\
	$(call find_src,lib,*.c) $(call find_src,lib,*.S))
test-aarch64:
	+@bash scripts/deps.sh cross
	@mkdir -p $(BUILD)/cross
	$(AARCH64_CC) $(AARCH64_CFLAGS) \
		tests/cross/ctx_aarch64.c lib/sched/context_aarch64.S lib/sched/stack.c \
		lib/os/vmem.c lib/os/guard.c lib/os/lock.c lib/os/clock.c -lm -o $(BUILD)/cross/ctx_aarch64
	qemu-aarch64 $(BUILD)/cross/ctx_aarch64
	@qemu-aarch64 $(BUILD)/cross/ctx_aarch64 returns 2>/dev/null; rc=$$?; \
	 if [ $$rc -eq 134 ]; then echo "ok - entry returning aborts"; else echo "not ok - entry returning aborts (exit $$rc)"; exit 1; fi
	@qemu-aarch64 $(BUILD)/cross/ctx_aarch64 overflow 2>/dev/null; rc=$$?; \
	 if [ $$rc -eq 139 ]; then echo "ok - write below a stack faults"; else echo "not ok - write below a stack faults (exit $$rc)"; exit 1; fi
	$(AARCH64_CC) $(AARCH64_CFLAGS) tests/cross/sched_aarch64.c $(AARCH64_LIB_SRCS) -lm \
		-o $(BUILD)/cross/sched_aarch64
	qemu-aarch64 $(BUILD)/cross/sched_aarch64

test-unit:
	+@SAN='$(SAN)' UNIT_ONLY=1 bash scripts/run-tests.sh

# Every benchmark: the allocator workloads against glibc, jemalloc, mimalloc
# and tcmalloc, the scheduler's against Go, then the chart of the ratios
# (build/bench/ratios.svg). BENCH_ARGS=--quick for a smoke run. Always the
# normal build: timing a sanitizer build means nothing.
bench:
	+@bash scripts/deps.sh bench
	+@$(MAKE) --no-print-directory SAN= all bench-bins
	+@bash bench/run.sh $(BUILD_ROOT) $(BENCH_ARGS)
	+@bash bench/sched.sh --build '$(BUILD_ROOT)' $(BENCH_ARGS)
	@python3 bench/chart.py $(BUILD_ROOT)/bench

# The scheduler workloads, gort against Go; bench/sched.sh builds both
# programs (always the normal build, whatever SAN says).
bench-sched:
	+@bash scripts/deps.sh bench
	+@bash bench/sched.sh --build '$(BUILD_ROOT)' $(BENCH_ARGS)

# The shell's guided tour (examples/tour.gsh).
demo:
	+@bash scripts/deps.sh demo
	+@$(MAKE) --no-print-directory SAN='$(SAN)' all
ifneq ($(GORTSH),)
	$(GORTSH) --norc examples/tour.gsh
else
	+@$(MAKE) --no-print-directory SAN='$(SAN)' $(BUILD)/tools/tour
	@$(BUILD)/tools/tour
endif

clean:
	@case '$(BUILD_ROOT)' in ''|.|./|/|..|../) echo "clean: refusing BUILD_ROOT='$(BUILD_ROOT)'"; exit 1;; esac
	rm -rf '$(BUILD_ROOT)' compile_commands.json

# Generated files (DO NOT EDIT near the top) keep the generator's layout.
SOURCE_FILES = $(shell find lib cli tests bench tools fuzz -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null | LC_ALL=C sort)
GENERATED_FILES = $(if $(SOURCE_FILES),$(shell awk 'FNR <= 10 && /DO NOT EDIT/ { print FILENAME; nextfile }' $(SOURCE_FILES)))
FORMAT_FILES = $(filter-out $(GENERATED_FILES),$(SOURCE_FILES))

format:
	@command -v clang-format >/dev/null || { echo "format: clang-format is not installed (apt-get install clang-format)"; exit 1; }
	$(Q)$(if $(FORMAT_FILES),clang-format -i $(FORMAT_FILES),true)

format-check:
	@command -v clang-format >/dev/null || { echo "format-check: clang-format is not installed (apt-get install clang-format)"; exit 1; }
	@bad=0; for f in $(FORMAT_FILES); do \
		clang-format "$$f" | cmp -s - "$$f" || { echo "format-check: needs formatting: $$f"; bad=1; }; \
	done; \
	[ $$bad -eq 0 ] || { echo "format-check: run 'make format'"; exit 1; }

# compile_commands.json for editors and clang-tidy, recorded from a full build.
compdb:
	@command -v bear >/dev/null || { echo "compdb: bear is not installed (apt-get install bear)"; exit 1; }
	rm -rf $(BUILD)/obj
	bear -- $(MAKE) --no-print-directory all test-bins bench-bins

# gort.pc is written at every install, so it always names this PREFIX;
# folders under it are written from ${prefix}, so pkg-config's
# --define-variable=prefix=... moves them all.
install: all
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' \
		-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|g' \
		-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|g' \
		-e 's|@VERSION@|$(VERSION)|g' \
		gort.pc.in > $(BUILD)/gort.pc
	install -d $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/
	install -m 644 $(LIBA) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIBSO_REAL) $(PRELOADSO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(LIBSO_REAL)) $(DESTDIR)$(LIBDIR)/libgort.so
	install -m 644 $(BUILD)/gort.pc $(DESTDIR)$(LIBDIR)/pkgconfig/gort.pc
	$(if $(GORTSH),install -d $(DESTDIR)$(BINDIR) && install -m 755 $(GORTSH) $(DESTDIR)$(BINDIR)/)
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	install -m 644 man/gortsh.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 man/gort.3 $(DESTDIR)$(MANDIR)/man3/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/,$(notdir $(HEADERS)))
	rm -f $(DESTDIR)$(LIBDIR)/libgort.a $(DESTDIR)$(LIBDIR)/libgort.so \
		$(DESTDIR)$(LIBDIR)/libgort.so.$(SOVERSION) \
		$(DESTDIR)$(LIBDIR)/libgortmalloc.so $(DESTDIR)$(LIBDIR)/pkgconfig/gort.pc \
		$(DESTDIR)$(BINDIR)/gortsh $(DESTDIR)$(MANDIR)/man1/gortsh.1 $(DESTDIR)$(MANDIR)/man3/gort.3

print-build:
	@echo $(BUILD)

help:
	@sed -n '2,/^$$/s/^# \{0,1\}//p' Makefile

# ----------------------------------------------------------------- fuzzing
# Every fuzz/fuzz_*.c is a harness (LLVMFuzzerTestOneInput), built:
#   $(BUILD)/fuzz-replay/H  with this build's compiler and flags, linked with
#                           libgort.a and fuzz/run_inputs.c: replays files,
#                           no fuzzing (make fuzz-replay; what make test runs)
#   build/fuzz/H            clang, libFuzzer + ASan + UBSan; library objects
#                           in build/fuzz/obj with -fsanitize=fuzzer-no-link
#   build/afl/H             afl-clang-fast through AFL++'s libFuzzer driver
#                           (persistent mode, shared-memory input), ASan + UBSan
#   build/afl/H.cmplog      the same with AFL_LLVM_CMPLOG=1, no sanitizer (afl-fuzz -c)
# fuzz/run.sh runs them (make fuzz-run, afl-run, fuzz-merge); CONTRIBUTING.md
# has the details.
FUZZ_HARNESSES := $(patsubst fuzz/%.c,%,$(sort $(wildcard fuzz/fuzz_*.c)))
FUZZ_CC ?= clang
AFL_CC ?= afl-clang-fast
AFL_SAN ?= address,undefined
FUZZ_SECONDS ?= 60
AFL_SECONDS ?= 60
FUZZ_ROOT := $(BUILD_ROOT)/fuzz
AFL_ROOT := $(BUILD_ROOT)/afl

FUZZ_BASE_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -Werror -fvisibility=hidden -pthread \
	-fno-omit-frame-pointer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION=1 $(GORT_CPPFLAGS)
FUZZ_CFLAGS := $(FUZZ_BASE_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	-fsanitize-coverage-ignorelist=fuzz/coverage-ignore.txt \
	-fno-sanitize-recover=all -DGORT_SAN_ADDRESS=1 -DGORT_SAN_UNDEFINED=1
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined -pthread
AFL_SAN_CFLAGS := $(if $(strip $(AFL_SAN)),-fsanitize=$(AFL_SAN) -fno-sanitize-recover=all \
	$(if $(filter address,$(subst $(comma), ,$(AFL_SAN))),-DGORT_SAN_ADDRESS=1) \
	$(if $(filter undefined,$(subst $(comma), ,$(AFL_SAN))),-DGORT_SAN_UNDEFINED=1))
AFL_CFLAGS := $(FUZZ_BASE_CFLAGS) $(AFL_SAN_CFLAGS)
AFL_LDFLAGS := -fsanitize=fuzzer$(if $(strip $(AFL_SAN)),$(comma)$(AFL_SAN)) -pthread
AFL_CMPLOG_CFLAGS := $(FUZZ_BASE_CFLAGS)
AFL_CMPLOG_LDFLAGS := -fsanitize=fuzzer -pthread

fuzz_objs = $(patsubst %,$(1)/%.o,$(basename $(LIB_SRCS)))
FUZZ_LIB_OBJS := $(call fuzz_objs,$(FUZZ_ROOT)/obj)
AFL_LIB_OBJS := $(call fuzz_objs,$(AFL_ROOT)/obj)
AFL_CMPLOG_LIB_OBJS := $(call fuzz_objs,$(AFL_ROOT)/cmplog-obj)
FUZZ_BINS := $(addprefix $(FUZZ_ROOT)/,$(FUZZ_HARNESSES))
AFL_BINS := $(addprefix $(AFL_ROOT)/,$(FUZZ_HARNESSES))
AFL_CMPLOG_BINS := $(addsuffix .cmplog,$(AFL_BINS))
FUZZ_REPLAY_BINS := $(addprefix $(BUILD)/fuzz-replay/,$(FUZZ_HARNESSES))
# fuzz_shell alone also links the shell: cli/ but main.c and repl.c (readline),
# compiled with its allocation calls renamed to the harness's hooks (see
# fuzz/fuzz_shell.c), so in every tree these objects are fuzz_shell's own.
FUZZ_CLI_SRCS := $(filter-out cli/main.c cli/repl.c,$(CLI_SRCS))
FUZZ_SHELL_HOOKS := $(foreach f,$(FUZZ_SHELL_HOOKED), \
	-D$(f)=fuzz_shell_$(f))
FUZZ_CLI_OBJS := $(patsubst %,$(FUZZ_ROOT)/obj/%.o,$(basename $(FUZZ_CLI_SRCS)))
AFL_CLI_OBJS := $(patsubst %,$(AFL_ROOT)/obj/%.o,$(basename $(FUZZ_CLI_SRCS)))
AFL_CMPLOG_CLI_OBJS := $(patsubst %,$(AFL_ROOT)/cmplog-obj/%.o,$(basename $(FUZZ_CLI_SRCS)))
FUZZ_REPLAY_CLI_OBJS := $(patsubst %,$(BUILD)/obj/fuzz-shell/%.o,$(basename $(FUZZ_CLI_SRCS)))
FUZZ_ALL_OBJS := $(FUZZ_LIB_OBJS) $(AFL_LIB_OBJS) $(AFL_CMPLOG_LIB_OBJS) \
	$(FUZZ_CLI_OBJS) $(AFL_CLI_OBJS) $(AFL_CMPLOG_CLI_OBJS) $(FUZZ_REPLAY_CLI_OBJS) \
	$(foreach d,$(FUZZ_ROOT)/obj $(AFL_ROOT)/obj $(AFL_ROOT)/cmplog-obj, \
		$(patsubst %,$(d)/fuzz/%.o,$(FUZZ_HARNESSES))) \
	$(call obj,fuzz/run_inputs.c $(addprefix fuzz/,$(addsuffix .c,$(FUZZ_HARNESSES))))

# One stamp per fuzz tree, rewritten when its compile command changes.
FUZZ_GOALS := fuzz fuzz-libfuzzer fuzz-afl fuzz-run afl-run fuzz-merge
ifneq ($(filter $(FUZZ_GOALS) $(FUZZ_ROOT)/% $(AFL_ROOT)/%,$(MAKECMDGOALS)),)
  $(shell mkdir -p $(FUZZ_ROOT) $(AFL_ROOT) && \
	{ [ "$$(cat $(FUZZ_ROOT)/.flags 2>/dev/null)" = '$(FUZZ_CC) $(FUZZ_CFLAGS) | $(FUZZ_LDFLAGS)' ] || \
	  printf '%s\n' '$(FUZZ_CC) $(FUZZ_CFLAGS) | $(FUZZ_LDFLAGS)' > $(FUZZ_ROOT)/.flags; } && \
	{ [ "$$(cat $(AFL_ROOT)/.flags 2>/dev/null)" = '$(AFL_CC) $(AFL_CFLAGS) | $(AFL_LDFLAGS)' ] || \
	  printf '%s\n' '$(AFL_CC) $(AFL_CFLAGS) | $(AFL_LDFLAGS)' > $(AFL_ROOT)/.flags; })
endif

.PHONY: fuzz fuzz-libfuzzer fuzz-afl fuzz-replay fuzz-run afl-run fuzz-merge coverage

fuzz:
	+@bash scripts/deps.sh fuzz
	+@$(MAKE) --no-print-directory fuzz-libfuzzer fuzz-afl

fuzz-libfuzzer: $(FUZZ_BINS)
	@:

fuzz-afl: $(AFL_BINS) $(AFL_CMPLOG_BINS)
	@:

fuzz-replay: $(FUZZ_REPLAY_BINS)
	@:

fuzz-run: fuzz-libfuzzer
	@bash fuzz/run.sh libfuzzer '$(FUZZ_SECONDS)' '$(FUZZ_ROOT)' $(FUZZ_HARNESSES)

afl-run:
	+@bash scripts/deps.sh fuzz
	+@$(MAKE) --no-print-directory fuzz-afl
	@bash fuzz/run.sh afl '$(AFL_SECONDS)' '$(AFL_ROOT)' $(FUZZ_HARNESSES)

fuzz-merge: fuzz-libfuzzer
	@bash fuzz/run.sh merge 0 '$(FUZZ_ROOT)' $(FUZZ_HARNESSES)

# Line coverage of lib/ reached by the corpora (clang source-based coverage,
# its own build under $(BUILD_ROOT)/coverage): scripts/coverage.sh.
coverage:
	+@bash scripts/deps.sh fuzz
	+@COVERAGE_ROOT='$(BUILD_ROOT)/coverage' bash scripts/coverage.sh

$(FUZZ_ROOT)/obj/%.o: %.c $(FUZZ_ROOT)/.flags fuzz/coverage-ignore.txt
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_ROOT)/obj/%.o: %.S $(FUZZ_ROOT)/.flags fuzz/coverage-ignore.txt
	$(call say,AS,$@)
	@mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(FUZZ_BINS): $(FUZZ_ROOT)/%: $(FUZZ_ROOT)/obj/fuzz/%.o $(FUZZ_LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^

$(AFL_ROOT)/obj/%.o: %.c $(AFL_ROOT)/.flags fuzz/coverage-ignore.txt
	$(call say,AFL-CC,$@)
	@mkdir -p $(@D)
	$(Q)AFL_QUIET=1 AFL_LLVM_DENYLIST=$(abspath fuzz/coverage-ignore.txt) $(AFL_CC) $(AFL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(AFL_ROOT)/obj/%.o: %.S $(AFL_ROOT)/.flags fuzz/coverage-ignore.txt
	$(call say,AFL-AS,$@)
	@mkdir -p $(@D)
	$(Q)AFL_QUIET=1 AFL_LLVM_DENYLIST=$(abspath fuzz/coverage-ignore.txt) $(AFL_CC) $(AFL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(AFL_ROOT)/cmplog-obj/%.o: %.c $(AFL_ROOT)/.flags fuzz/coverage-ignore.txt
	$(call say,AFL-CL,$@)
	@mkdir -p $(@D)
	$(Q)AFL_QUIET=1 AFL_LLVM_CMPLOG=1 AFL_LLVM_DENYLIST=$(abspath fuzz/coverage-ignore.txt) $(AFL_CC) $(AFL_CMPLOG_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(AFL_ROOT)/cmplog-obj/%.o: %.S $(AFL_ROOT)/.flags fuzz/coverage-ignore.txt
	$(call say,AFL-CL,$@)
	@mkdir -p $(@D)
	$(Q)AFL_QUIET=1 AFL_LLVM_CMPLOG=1 AFL_LLVM_DENYLIST=$(abspath fuzz/coverage-ignore.txt) $(AFL_CC) $(AFL_CMPLOG_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(AFL_BINS): $(AFL_ROOT)/%: $(AFL_ROOT)/obj/fuzz/%.o $(AFL_LIB_OBJS)
	$(call say,AFL-LD,$@)
	$(Q)AFL_QUIET=1 $(AFL_CC) $(AFL_LDFLAGS) -o $@ $^

$(AFL_CMPLOG_BINS): $(AFL_ROOT)/%.cmplog: $(AFL_ROOT)/cmplog-obj/fuzz/%.o $(AFL_CMPLOG_LIB_OBJS)
	$(call say,AFL-LD,$@)
	$(Q)AFL_QUIET=1 AFL_LLVM_CMPLOG=1 $(AFL_CC) $(AFL_CMPLOG_LDFLAGS) -o $@ $^

$(FUZZ_REPLAY_BINS): $(BUILD)/fuzz-replay/%: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/fuzz/run_inputs.o $(LIBA)
	$(call say,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter-out $(LIBA),$^) $(LIBA)

# The shell's objects, added to fuzz_shell's prerequisites (and so to $^).
ifneq ($(filter fuzz_shell,$(FUZZ_HARNESSES)),)
$(FUZZ_ROOT)/fuzz_shell: $(FUZZ_CLI_OBJS)
$(AFL_ROOT)/fuzz_shell: $(AFL_CLI_OBJS)
$(AFL_ROOT)/fuzz_shell.cmplog: $(AFL_CMPLOG_CLI_OBJS)
$(BUILD)/fuzz-replay/fuzz_shell: $(FUZZ_REPLAY_CLI_OBJS)
$(FUZZ_CLI_OBJS): FUZZ_CFLAGS += $(FUZZ_SHELL_HOOKS)
$(AFL_CLI_OBJS): AFL_CFLAGS += $(FUZZ_SHELL_HOOKS)
$(AFL_CMPLOG_CLI_OBJS): AFL_CMPLOG_CFLAGS += $(FUZZ_SHELL_HOOKS)
endif

# fuzz_alloc, fuzz_misuse and fuzz_harden also link the heap's shadow model
# (fuzz/shadow_*.c, described in fuzz/shadow.h), built in each tree as the
# harnesses are.
FUZZ_SHADOW_HARNESSES := fuzz_alloc fuzz_misuse fuzz_harden
FUZZ_SHADOW_SRCS := $(sort $(wildcard fuzz/shadow_*.c))
shadow_objs = $(patsubst %,$(1)/%.o,$(basename $(FUZZ_SHADOW_SRCS)))
$(addprefix $(FUZZ_ROOT)/,$(FUZZ_SHADOW_HARNESSES)): $(call shadow_objs,$(FUZZ_ROOT)/obj)
$(addprefix $(AFL_ROOT)/,$(FUZZ_SHADOW_HARNESSES)): $(call shadow_objs,$(AFL_ROOT)/obj)
$(addsuffix .cmplog,$(addprefix $(AFL_ROOT)/,$(FUZZ_SHADOW_HARNESSES))): \
	$(call shadow_objs,$(AFL_ROOT)/cmplog-obj)
$(addprefix $(BUILD)/fuzz-replay/,$(FUZZ_SHADOW_HARNESSES)): $(call shadow_objs,$(BUILD)/obj)
FUZZ_ALL_OBJS += $(foreach d,$(FUZZ_ROOT)/obj $(AFL_ROOT)/obj $(AFL_ROOT)/cmplog-obj $(BUILD)/obj, \
	$(call shadow_objs,$(d)))

$(BUILD)/obj/fuzz-shell/%.o: %.c $(FLAGS_STAMP)
	$(call say,CC,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(FUZZ_SHELL_HOOKS) $(DEPFLAGS) -c $< -o $@

# Dependency files are only read when building, so `make clean` stays quick.
ifneq ($(filter-out $(NOBUILD_GOALS),$(or $(MAKECMDGOALS),all)),)
-include $(ALL_OBJS:.o=.d)
-include $(FUZZ_ALL_OBJS:.o=.d)
endif
