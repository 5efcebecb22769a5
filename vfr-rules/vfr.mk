# vfr-rules, included by the top Makefile.
#
# The runtime half (VFR_RT_SRCS, in the Makefile: IR checks, keys, the
# reference interpreter, the classifier, BPF, object loading) is built
# into xeno-hv with musl and into libxenohv.a.  The language half (every
# other vfr-rules/*.c but the xeno-vfrc main) needs libpcap for
# pcap_compile() and goes into libvfr.a with the runtime, for xeno-vfrc,
# the unit tests and the benchmarks.

VFR_LANG_SRCS	:= $(filter-out $(VFR_RT_SRCS) vfr-rules/vfrc.c, \
		   $(wildcard vfr-rules/*.c))
VFR_LIB		:= $(BUILD)/libvfr.a
VFRC		:= $(BUILD)/xeno-vfrc

.PHONY: vfr
vfr: $(VFR_LIB) $(if $(wildcard vfr-rules/vfrc.c),$(VFRC))

# Link as $(VFR_LIB) $(HV_LIB) -lpcap: the runtime objects are in HV_LIB.
$(VFR_LIB): $(VFR_LANG_SRCS:%.c=$(BUILD)/obj/%.o)
	@rm -f $@
	$(AR) rcs $@ $^

$(VFRC): vfr-rules/vfrc.c $(VFR_LIB) $(HV_LIB)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -o $@ $< $(VFR_LIB) $(HV_LIB) -lpcap $(LDLIBS)

# bench/vfr: the classifier against the reference interpreter.
VFR_BENCH	:= $(if $(wildcard bench/vfr/classify.c),$(BUILD)/bench/vfr-classify)
vfr: $(VFR_BENCH)
$(BUILD)/bench/vfr-classify: bench/vfr/classify.c $(VFR_LIB) $(HV_LIB)
	@mkdir -p $(@D)
	$(CC) $(XCFLAGS) -o $@ $< $(VFR_LIB) $(HV_LIB) -lpcap $(LDLIBS)
