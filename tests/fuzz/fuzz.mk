# libFuzzer drivers for xeno-hv's parsers (tests/fuzz/fuzz_*.c).
#
# Included by the top Makefile; also usable alone from the top of the tree:
#   make -f tests/fuzz/fuzz.mk fuzz-build
#
#   make fuzz-build    build $(BUILD)/fuzz/fuzz_{elf,opts,stats,pgtable,virtq};
#                      without a clang that links -fsanitize=fuzzer it says
#                      so and builds nothing (tests/integration/fuzz_hv.sh
#                      then skips)
#   make fuzz          run each for FUZZ_SECONDS (default 60) on a corpus
#                      kept in $(BUILD)/fuzz/corpus/NAME, seeded from
#                      tests/fuzz/corpus/NAME; crashes go to
#                      $(BUILD)/fuzz/artifacts/NAME/
#
# The drivers compile the xen/*.c files they need themselves rather than
# linking $(BUILD)/libxenohv.a: libFuzzer needs the parsers built with
# clang's coverage instrumentation, and ASan/UBSan inside them.
# UBSan is made fatal (-fno-sanitize-recover) so libFuzzer sees undefined
# behaviour as a crash instead of a line on stderr.

FUZZ_MK		:= $(lastword $(MAKEFILE_LIST))
# A fragment must not become the default goal of the Makefile including it.
FUZZ_OLD_GOAL	:= $(.DEFAULT_GOAL)

BUILD		?= build
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_FLAGS	?=
FUZZ_DIR	:= $(BUILD)/fuzz
FUZZ_SAN	:= -fsanitize=fuzzer,address,undefined \
		   -fno-sanitize-recover=undefined -fno-omit-frame-pointer
# The project's warnings, less one: clang (unlike gcc) applies
# -Wformat-nonliteral to vsnprintf(fmt, ap) in va_list helpers that have
# no format attribute (log_errno in xen/lib/log.c).
FUZZ_WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
		   -Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral \
		   -Wwrite-strings
FUZZ_CFLAGS	:= -g -O1 $(FUZZ_SAN) $(FUZZ_WARN) -std=gnu11 -D_GNU_SOURCE \
		   -Ixen/include -Ixen -Ivfr-rules -Icontrold
# every tests/fuzz/fuzz_NAME.c is a driver
FUZZ_NAMES	:= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS	:= $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_HDRS	:= xen/xen.h $(wildcard xen/include/xeno/*.h) controld/controld.h

# Can $(FUZZ_CC) link a libFuzzer program?  (Debian: clang, libclang-rt-dev.)
FUZZ_PROBE	= printf '%s\n' \
		  'int LLVMFuzzerTestOneInput(const unsigned char *, unsigned long);' \
		  'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)' \
		  '{ (void)d; (void)n; return 0; }' | \
		  $(FUZZ_CC) $(FUZZ_SAN) -x c -o $(FUZZ_DIR)/.probe - \
		  >/dev/null 2>&1

.PHONY: fuzz-build fuzz-bins fuzz

fuzz-build:
	@mkdir -p $(FUZZ_DIR)
	@if $(FUZZ_PROBE); then \
		rm -f $(FUZZ_DIR)/.probe; \
		$(MAKE) --no-print-directory -f $(FUZZ_MK) BUILD=$(BUILD) \
		    fuzz-bins; \
	else \
		rm -f $(FUZZ_DIR)/.probe; \
		echo "fuzz-build: SKIP: $(FUZZ_CC) cannot link" \
		    "-fsanitize=fuzzer (install clang and libclang-rt-dev);" \
		    "fuzzers not built"; \
	fi

fuzz-bins: $(FUZZ_BINS)
	@:

# Each driver with the xen/ sources it calls into (no more: a driver that
# links only what it fuzzes shows its coverage plainly).  xen/lib/log.c is
# err_set(), the parsers' error reporting.
$(FUZZ_DIR)/fuzz_elf: xen/elf.c xen/pvboot.c xen/pgtable.c xen/lib/log.c
$(FUZZ_DIR)/fuzz_opts: xen/opts.c xen/lib/log.c
$(FUZZ_DIR)/fuzz_stats: xen/stats.c xen/lib/log.c
$(FUZZ_DIR)/fuzz_pgtable: xen/pgtable.c
$(FUZZ_DIR)/fuzz_hvmboot: xen/hvmboot.c xen/elf.c xen/lib/log.c
$(FUZZ_DIR)/fuzz_uart: xen/uart.c
$(FUZZ_DIR)/fuzz_vpci: xen/vpci.c
$(FUZZ_DIR)/fuzz_vmreq: controld/request.c xen/lib/log.c
$(FUZZ_DIR)/fuzz_vmreq: FUZZ_LIBS := -ljson-c
$(FUZZ_DIR)/fuzz_apireq: controld/request.c controld/token.c xen/lib/log.c
$(FUZZ_DIR)/fuzz_apireq: FUZZ_LIBS := -ljson-c -lcrypto
$(FUZZ_DIR)/fuzz_virtq: xen/virtio/virtq.c xen/virtio/virtq.h
$(FUZZ_DIR)/fuzz_blk: xen/virtio/blk.c xen/virtio/virtq.c xen/opts.c xen/lib/log.c
$(FUZZ_DIR)/fuzz_net: xen/virtio/net.c xen/virtio/ratelimit.c \
    xen/virtio/virtq.c xen/opts.c xen/lib/log.c

# vfr-rules: the runtime half alone, or with the language (and libpcap).
FUZZ_VFR_RT	:= $(wildcard $(addprefix vfr-rules/,ir.c ref.c key.c ct.c bpf.c \
		   prog.c obj.c))
FUZZ_VFR_LANG	:= $(filter-out $(FUZZ_VFR_RT) vfr-rules/vfrc.c vfr-rules/capture.c, \
		   $(wildcard vfr-rules/*.c))
$(FUZZ_DIR)/fuzz_vfr_key: $(FUZZ_VFR_RT)
$(FUZZ_DIR)/fuzz_vfr_obj: $(FUZZ_VFR_RT)
$(FUZZ_DIR)/fuzz_vfr_diff: $(FUZZ_VFR_RT)
$(FUZZ_DIR)/fuzz_vfr_parse: $(FUZZ_VFR_RT) $(FUZZ_VFR_LANG)
$(FUZZ_DIR)/fuzz_vfr_parse: FUZZ_LIBS := -lpcap

$(FUZZ_BINS): $(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_HDRS) \
    $(wildcard vfr-rules/*.h) $(FUZZ_MK)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $(filter %.c,$^) $(FUZZ_LIBS)

# Stops at the first fuzzer that finds something; its report ends with
# the path of the input (under $(FUZZ_DIR)/artifacts/NAME/).
fuzz: fuzz-build
	@set -e; for n in $(FUZZ_NAMES); do \
		test -x $(FUZZ_DIR)/fuzz_$$n || { \
		    echo "fuzz: $(FUZZ_DIR)/fuzz_$$n not built (see above)"; \
		    exit 1; }; \
		mkdir -p $(FUZZ_DIR)/corpus/$$n $(FUZZ_DIR)/artifacts/$$n; \
		seeds=tests/fuzz/corpus/$$n; test -d $$seeds || seeds=; \
		echo "fuzz: fuzz_$$n for $(FUZZ_SECONDS) s"; \
		$(FUZZ_DIR)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) \
		    -rss_limit_mb=2048 -timeout=25 -print_final_stats=1 \
		    -artifact_prefix=$(FUZZ_DIR)/artifacts/$$n/ $(FUZZ_FLAGS) \
		    $(FUZZ_DIR)/corpus/$$n $$seeds; \
	done

ifeq ($(firstword $(MAKEFILE_LIST)),$(FUZZ_MK))
.DEFAULT_GOAL	:= fuzz-build
else
.DEFAULT_GOAL	:= $(FUZZ_OLD_GOAL)
endif
