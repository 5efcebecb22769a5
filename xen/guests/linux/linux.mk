# HVM Linux guests: Debian's stock kernel and our busybox initramfs.
#
#	make linux-guest   ->  $(BUILD)/guests/linux/{vmlinuz,vmlinux,initrd.img}
#
# vmlinux is the uncompressed kernel inside vmlinuz, which xeno-hv boots
# directly (no decompressor run in the guest).
#
# A make fragment included by the top-level Makefile.  `all` does not
# build it: the first run downloads the kernel package (about 70 MB).
# Everything here is named LINUX_* or linux-* so it cannot clash with the
# including Makefile.

BUILD ?= build

LINUX_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
LINUX_OUT := $(BUILD)/guests/linux

.PHONY: linux-guest linux-kernel
linux-guest: linux-kernel $(LINUX_OUT)/initrd.img $(LINUX_OUT)/vmlinux

# fetch-kernel.sh runs every time: it asks apt's local index which kernel
# linux-image-amd64 means now (a second when nothing changed), and
# rewrites vmlinuz, kver and root/.deb only when they change, so the rules
# below see a new kernel by its timestamps.
linux-kernel:
	$(LINUX_DIR)/fetch-kernel.sh $(LINUX_OUT)

# root/.deb names the package the module tree was unpacked from.
$(LINUX_OUT)/vmlinuz $(LINUX_OUT)/kver $(LINUX_OUT)/root/.deb: linux-kernel ;

$(LINUX_OUT)/initrd.img: $(LINUX_OUT)/root/.deb $(LINUX_DIR)/init \
    $(LINUX_DIR)/build-initrd.sh $(LINUX_DIR)/initrd-lib.sh \
    $(LINUX_DIR)/linux.mk
	$(LINUX_DIR)/build-initrd.sh $(LINUX_OUT)

$(LINUX_OUT)/vmlinux: $(LINUX_OUT)/vmlinuz $(LINUX_DIR)/extract-vmlinux.sh
	$(LINUX_DIR)/extract-vmlinux.sh $< $@
