# Xeno: `make demo` and `make test` are the two entry points (README.md).
# Both install missing Debian packages first (scripts/deps.sh).
#
#   make            build everything into $(BUILD)
#   make test       every test; ends with "N passed, N failed, N skipped"
#   make test-asan  the test suite against an ASan+UBSan build of xeno-hv
#   make test-valgrind  the xeno-hv tests under valgrind
#   make bench      the benchmarks in bench/ (figures, not pass/fail)
#   make demo       a few guests and their counters

BUILD	?= build
CC	?= cc
CFLAGS	?= -O2 -g
WARN	:= -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2 -Wwrite-strings
XCFLAGS	:= $(CFLAGS) $(WARN) -std=gnu11 -D_GNU_SOURCE -Ixen/include -Ixen \
	   -Ivfr-rules -MMD -MP
LDLIBS	:= -lpthread

# xeno-hv is static and built against musl: about 100 KB of code, so a
# domain costs ~0.2 MiB of RSS instead of ~1 MiB with static glibc, starts
# faster, and copies into test hosts as one file.  The unit tests, the
# benchmarks and the sanitizer build link the same sources with glibc.
HV_CC	:= musl-gcc
HV_INC	:= $(BUILD)/musl-include
ifeq ($(SAN),1)
XCFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
HV_CC	:= $(CC)
HV_LDFLAGS := -fsanitize=address,undefined
else ifeq ($(VG),1)
# valgrind sees every allocation only through a dynamic libc it can wrap
HV_CC	:= $(CC)
HV_LDFLAGS :=
else
HV_LDFLAGS := -static
endif

# The runtime half of vfr-rules (no libpcap) is part of xeno-hv.
VFR_RT_SRCS := $(wildcard $(addprefix vfr-rules/,ir.c ref.c key.c ct.c bpf.c \
	   prog.c obj.c))
HV_SRCS	:= xen/opts.c xen/elf.c xen/pgtable.c xen/pvboot.c xen/stats.c \
	   xen/vmm.c xen/vcpu.c xen/hcall.c xen/lib/log.c xen/virtio/virtq.c \
	   xen/virtio/blk.c xen/virtio/net.c xen/virtio/ratelimit.c \
	   xen/dev.c xen/vif.c xen/vbd.c xen/virtio/fw.c xen/flowlog.c \
	   xen/ctl.c xen/hvmboot.c xen/uart.c xen/hvm.c xen/vpci.c \
	   xen/hvmdev.c xen/console.c $(VFR_RT_SRCS)
HV_OBJS	:= $(HV_SRCS:%.c=$(BUILD)/obj/%.o)
HV_BIN_OBJS := $(HV_SRCS:%.c=$(BUILD)/hvobj/%.o) $(BUILD)/hvobj/xen/main.o
HV_LIB	:= $(BUILD)/libxenohv.a
HV	:= $(BUILD)/xeno-hv

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

BENCH_BINS := $(BUILD)/bench/boot $(BUILD)/bench/burn-native \
	      $(BUILD)/bench/native-hello $(BUILD)/tools/nettool \
	      $(BUILD)/bench/blkio

.PHONY: all deps test test-asan test-valgrind bench demo clean format

all: $(HV) $(BUILD)/xeno-controld $(BUILD)/tests/hn_tool guests $(UNIT_BINS) $(BENCH_BINS) vfr fuzz-build

include xen/guests/guests.mk
include xen/guests/linux/linux.mk
include vfr-rules/vfr.mk
include tests/fuzz/fuzz.mk

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -c -o $@ $<

$(HV_LIB): $(HV_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

# musl has no kernel headers of its own: lend it the system's linux/ and asm/.
$(HV_INC)/.stamp:
	@mkdir -p $(@D)
	ln -sfn /usr/include/linux $(@D)/linux
	ln -sfn /usr/include/asm-generic $(@D)/asm-generic
	ln -sfn /usr/include/$(shell $(CC) -dumpmachine)/asm $(@D)/asm
	@touch $@

$(BUILD)/hvobj/%.o: %.c $(HV_INC)/.stamp
	@mkdir -p $(@D)
	$(HV_CC) $(XCFLAGS) -idirafter $(HV_INC) -c -o $@ $<

$(HV): $(HV_BIN_OBJS)
	$(HV_CC) $(XCFLAGS) $(HV_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h $(HV_LIB)
	@mkdir -p $(@D) $(BUILD)/obj/tests
	$(CC) $(XCFLAGS) -MF $(BUILD)/obj/tests/$*.d -Itests/unit \
	    $(HV_LDFLAGS:-static=) -o $@ $< $(HV_LIB) $(LDLIBS)

# controld's pure parts (issue 6, in progress), tested without a daemon.
CTLD_PURE := controld/admission.c controld/request.c
CTLD_TESTS := $(BUILD)/tests/test_admission $(BUILD)/tests/test_vmreq
$(CTLD_TESTS): $(BUILD)/tests/%: tests/unit/%.c tests/unit/t.h \
    $(CTLD_PURE) controld/controld.h
	@mkdir -p $(@D) $(BUILD)/obj/tests
	$(CC) $(XCFLAGS) -Icontrold -MF $(BUILD)/obj/tests/$*.d \
	    -Itests/unit $(HV_LDFLAGS:-static=) -o $@ $< $(CTLD_PURE) \
	    xen/lib/log.c -ljson-c

# controld's parts that need OpenSSL or a host, tested alone.
CTLD_SSL_TESTS := $(BUILD)/tests/test_token $(BUILD)/tests/test_tls
$(CTLD_SSL_TESTS): $(BUILD)/tests/test_%: tests/unit/test_%.c tests/unit/t.h \
    controld/%.c controld/controld.h
	@mkdir -p $(@D) $(BUILD)/obj/tests
	$(CC) $(XCFLAGS) -Icontrold -MF $(BUILD)/obj/tests/test_$*.d \
	    -Itests/unit $(HV_LDFLAGS:-static=) -o $@ $< controld/$*.c \
	    xen/lib/log.c -lssl -lcrypto

$(BUILD)/tests/hn_tool: tests/tools/hn_tool.c controld/hostnet.c \
    controld/controld.h
	@mkdir -p $(@D) $(BUILD)/obj/tests
	$(CC) $(XCFLAGS) -Icontrold -MF $(BUILD)/obj/tests/hn_tool.d \
	    $(HV_LDFLAGS:-static=) -o $@ $< controld/hostnet.c xen/lib/log.c

# The embedded PostgreSQL and the migrations, against a real cluster.
$(BUILD)/tests/test_db: tests/unit/test_db.c tests/unit/t.h controld/db.c \
    controld/controld.h $(BUILD)/controld/migrations.c
	@mkdir -p $(@D) $(BUILD)/obj/tests
	$(CC) $(XCFLAGS) -Icontrold -I/usr/include/postgresql \
	    -MF $(BUILD)/obj/tests/test_db.d -Itests/unit \
	    $(HV_LDFLAGS:-static=) -o $@ $< controld/db.c \
	    $(BUILD)/controld/migrations.c xen/lib/log.c -lpq

# xeno-controld: glibc and dynamic (libevent, OpenSSL, libpq, json-c, all
# from Debian).  The SQL migrations in sql/ are compiled in.
CTLD	:= $(BUILD)/xeno-controld
CTLD_SRCS := controld/main.c controld/api.c controld/vm.c controld/sql.c \
	   controld/db.c controld/token.c controld/tls.c controld/hostnet.c \
	   $(CTLD_PURE)
CTLD_OBJS := $(CTLD_SRCS:%.c=$(BUILD)/obj/%.o) \
	   $(BUILD)/obj/controld/migrations.o
CTLD_CFLAGS := -Icontrold -I/usr/include/postgresql
CTLD_LIBS := -levent -levent_openssl -lssl -lcrypto -lpq -ljson-c

$(BUILD)/controld/migrations.c: scripts/embed-sql.sh $(wildcard sql/*.sql)
	@mkdir -p $(@D)
	sh scripts/embed-sql.sh $@ $(sort $(wildcard sql/*.sql))

$(BUILD)/obj/controld/%.o: controld/%.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CTLD_CFLAGS) -c -o $@ $<

$(BUILD)/obj/controld/migrations.o: $(BUILD)/controld/migrations.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) $(CTLD_CFLAGS) -c -o $@ $<

$(CTLD): $(CTLD_OBJS) $(HV_LIB)
	$(CC) $(XCFLAGS) $(HV_LDFLAGS:-static=) -o $@ $(CTLD_OBJS) $(HV_LIB) \
	    $(CTLD_LIBS) $(LDLIBS)

# Unit tests of the vfr-rules language also need the user-side library.
$(BUILD)/tests/test_vfr%: tests/unit/test_vfr%.c tests/unit/t.h $(HV_LIB) \
    $(VFR_LIB)
	@mkdir -p $(@D) $(BUILD)/obj/tests
	$(CC) $(XCFLAGS) -MF $(BUILD)/obj/tests/test_vfr$*.d -Itests/unit \
	    $(HV_LDFLAGS:-static=) -o $@ $< $(VFR_LIB) $(HV_LIB) -lpcap \
	    $(LDLIBS)

$(BUILD)/bench/boot: bench/boot/boot.c $(HV_LIB)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -o $@ $< $(HV_LIB) $(LDLIBS)

# The same work kernel as the cpuburn guest, same compiler and flags.
$(BUILD)/bench/burn-native: bench/boot/burn-native.c xen/guests/burn.h
	@mkdir -p $(@D)
	$(CC) $(GUEST_OPT) $(WARN) -Ixen/guests -o $@ $<

$(BUILD)/bench/native-hello: bench/boot/native-hello.c
	@mkdir -p $(@D)
	$(CC) -O2 -static -o $@ $<

$(BUILD)/bench/blkio: bench/blk/blkio.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -o $@ $<

# The host side of the network tests and benchmarks.
$(BUILD)/tools/nettool: tests/tools/nettool.c
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -o $@ $<

deps:
	@scripts/deps.sh

test: deps
	$(MAKE) all linux-guest
	BUILD=$(BUILD) tests/run.sh

test-asan: deps
	$(MAKE) BUILD=build/asan SAN=1 all
	BUILD=build/asan XENO_SAN=1 tests/run.sh

test-valgrind: deps
	$(MAKE) BUILD=build/valgrind VG=1 all
	BUILD=build/valgrind XENO_VALGRIND=1 tests/run.sh

bench: deps
	$(MAKE) all linux-guest
	BUILD=$(BUILD) bench/boot/run.sh
	BUILD=$(BUILD) bench/net/run.sh
	BUILD=$(BUILD) bench/blk/run.sh
	BUILD=$(BUILD) bench/vfr/run.sh
	BUILD=$(BUILD) bench/vfr/guest.sh
	BUILD=$(BUILD) bench/api/run.sh
	BUILD=$(BUILD) bench/hvm/run.sh

demo: deps
	$(MAKE) all
	BUILD=$(BUILD) scripts/demo.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
