# The guest SDK and the PV guests.
#
# A make fragment: the top-level Makefile includes it, and it also works
# alone, from the repository root:
#
#	make -f xen/guests/guests.mk guests
#
# Everything here is named GUEST_* or guests so that it cannot clash with
# the including Makefile, and it never touches that Makefile's CC/CFLAGS:
# guests are freestanding programs for a different machine (CPL 3, no
# libc), built with the host gcc whatever the host tools are.

BUILD ?= build

# Whether this file is the whole build, before the include changes the list.
GUEST_MK := $(lastword $(MAKEFILE_LIST))
GUEST_STANDALONE := $(if $(filter-out $(GUEST_MK),$(MAKEFILE_LIST)),,1)
GUEST_DIR := $(patsubst %/,%,$(dir $(GUEST_MK)))
GUEST_SAVED_GOAL := $(.DEFAULT_GOAL)

GUEST_CC ?= gcc
GUEST_AR ?= ar
GUEST_OUT := $(BUILD)/guests
GUEST_OBJDIR := $(GUEST_OUT)/obj

# The flags that decide the code burn.h compiles to: bench/ builds its host
# copy of the work kernel with these so the two rates are comparable.
GUEST_OPT := -O2 -g -mno-avx -fno-stack-protector \
	-fno-asynchronous-unwind-tables
# -nostdinc keeps the host's libc headers out (they would compile and then
# fail to link); gcc's own freestanding headers (stdint.h, stdarg.h, ...)
# come back through -isystem.
GUEST_CPPFLAGS := -nostdinc \
	-isystem $(shell $(GUEST_CC) -print-file-name=include) \
	-I$(dir $(GUEST_DIR))include -I$(GUEST_DIR)/sdk
# One section per function and object lets the link drop what a guest
# does not use: smaller images load and boot faster.
GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-pie $(GUEST_OPT) \
	-ffunction-sections -fdata-sections \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wwrite-strings \
	$(GUEST_CPPFLAGS) -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,max-page-size=4096 -Wl,--gc-sections \
	-Wl,--orphan-handling=error \
	-T $(GUEST_DIR)/sdk/link.ld
GUEST_LDLIBS := -lgcc

GUEST_NAMES := hello cpuburn hypercall-storm hostile udp-echo pktgen blkbench
GUEST_ELFS := $(GUEST_NAMES:%=$(GUEST_OUT)/%.elf)
GUEST_SDK_SRCS := args.c blk.c hcall.c inet.c malloc.c net.c printf.c rand.c \
	sha256.c start.c string.c time.c vcpu.c vq.c
GUEST_SDK_OBJS := $(GUEST_SDK_SRCS:%.c=$(GUEST_OBJDIR)/sdk/%.o)
GUEST_SDK_LIB := $(GUEST_OUT)/libxeno.a
GUEST_CRT0 := $(GUEST_OBJDIR)/sdk/crt0.o
GUEST_MAIN_OBJS := $(GUEST_NAMES:%=$(GUEST_OBJDIR)/%.o)
GUEST_DEPS := $(GUEST_SDK_OBJS:.o=.d) $(GUEST_CRT0:.o=.d) \
	$(GUEST_MAIN_OBJS:.o=.d)

.PHONY: guests
guests: $(GUEST_ELFS)

# string.c implements memcpy and friends: gcc must not turn their loops
# back into calls to themselves.
$(GUEST_OBJDIR)/sdk/string.o: GUEST_CFLAGS += -fno-tree-loop-distribute-patterns

# Static pattern rules, so that no pattern rule of the including Makefile
# can compete for these targets.  Objects depend on this file because it
# holds their flags.
$(GUEST_SDK_OBJS) $(GUEST_MAIN_OBJS): $(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.c \
    $(GUEST_DIR)/guests.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_CRT0): $(GUEST_OBJDIR)/%.o: $(GUEST_DIR)/%.S $(GUEST_DIR)/guests.mk
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(GUEST_SDK_LIB): $(GUEST_SDK_OBJS)
	@mkdir -p $(@D)
	rm -f $@
	$(GUEST_AR) rcs $@ $^

# crt0 comes first and whole: _start is the entry point.  The library is
# an archive so a guest links only the parts of the SDK it uses.
$(GUEST_ELFS): $(GUEST_OUT)/%.elf: $(GUEST_OBJDIR)/%.o $(GUEST_CRT0) \
    $(GUEST_SDK_LIB) $(GUEST_DIR)/sdk/link.ld
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_CRT0) $< \
	    $(GUEST_SDK_LIB) $(GUEST_LDLIBS)

-include $(GUEST_DEPS)

# Alone, `make -f guests.mk` builds the guests; included, the fragment
# leaves the including Makefile's default goal alone.
ifeq ($(GUEST_STANDALONE),1)
.DEFAULT_GOAL := guests
else
.DEFAULT_GOAL := $(GUEST_SAVED_GOAL)
endif
