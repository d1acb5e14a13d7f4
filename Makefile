# Tinyx top-level build: make deps | make | make test | make bench | make format
#
# Outputs go to build/ (or build-san/ with SAN=1: AddressSanitizer + UBSan).
#   build/bin/tinyx          the CLI (build, size, run)
#   build/bin/tinyx-launch   the launcher (QEMU backend; run, check)
#   build/bin/tinyx-init     the guest's static PID 1 (musl)

SAN ?= 0
ifeq ($(SAN),1)
B ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
B ?= build
SANFLAGS :=
endif

CC       ?= gcc
MUSLCC   ?= musl-gcc
PKGS     := yaml-0.1 libarchive libelf jansson libkmod libcrypto libseccomp
CPPFLAGS += -I. -D_GNU_SOURCE
CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral $(SANFLAGS)
CFLAGS   += $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LDLIBS   += $(shell pkg-config --libs $(PKGS) 2>/dev/null)
LDFLAGS  += $(SANFLAGS)

# Host-side library code: everything but the mains. Files are picked up by wildcard so adding a
# file to a folder needs no Makefile edit.
TINYX_SRCS    := $(filter-out tinyx/main.c,$(wildcard tinyx/*.c)) initramfs/cpio_writer.c
# The KVM monitor (tinyx-kvm) is its own small static program; its device modules register
# through a linker section, so its archive is linked whole.
VMM_SRCS      := $(filter-out launcher/vmm_main.c,$(wildcard launcher/vmm*.c launcher/virtio*.c \
                   launcher/vdev*.c))
LAUNCHER_SRCS := $(filter-out launcher/main.c launcher/vmm_main.c $(VMM_SRCS),$(wildcard launcher/*.c))
# The kernel side of the build: sources, configs, builds, the minimizer. kconfig_dump.c is not
# compiled here: it is built at run time against the kernel's own kconfig parser.
KMIN_SRCS     := $(filter-out kconfig-minimizer/kconfig_dump.c,$(wildcard kconfig-minimizer/*.c))
# The init's pure logic (plan parsing, cmdline parsing) also builds natively for unit tests.
INIT_SRCS     := $(wildcard initramfs/init*.c)
INIT_HOST_SRCS := $(filter-out initramfs/init.c,$(INIT_SRCS))

TINYX_OBJS    := $(TINYX_SRCS:%.c=$(B)/obj/%.o)
KMIN_OBJS     := $(KMIN_SRCS:%.c=$(B)/obj/%.o)
VMM_OBJS      := $(VMM_SRCS:%.c=$(B)/obj/%.o)
LAUNCHER_OBJS := $(LAUNCHER_SRCS:%.c=$(B)/obj/%.o)
INIT_HOST_OBJS := $(INIT_HOST_SRCS:%.c=$(B)/obj/%.o)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

BINS := $(B)/bin/tinyx $(B)/bin/tinyx-launch $(B)/bin/tinyx-init $(B)/share/tinyx/kconfig_dump.c \
        $(if $(wildcard launcher/vmm_main.c),$(B)/bin/tinyx-kvm)

.PHONY: all deps test test-unit test-unit-san test-e2e test-kernel-src bench format format-check clean help
all: $(BINS)

help:
	@echo "make deps         install the Debian packages Tinyx needs (apt-get, as root)"
	@echo "make              build build/bin/{tinyx,tinyx-launch,tinyx-init}"
	@echo "make test         the whole suite (tests/run): unit (plain, ASan/UBSan) + end-to-end; totals and skips at the end"
	@echo "make test-unit    unit tests only (fast)"
	@echo "make bench        benchmarks: CSV + PNG under out/bench/"
	@echo "make format       clang-format every C file in place"

# Debian packages: build tools and libraries, the staging tools, QEMU for boot tests, gnuplot for
# the benchmark plots. Keep in step with README.md.
DEPS := build-essential pkg-config bc flex bison ccache libyaml-dev libarchive-dev libelf-dev libjansson-dev \
        libkmod-dev libssl-dev libseccomp-dev libcmocka-dev musl-tools mmdebstrap debootstrap \
        qemu-system-x86 kmod zstd xz-utils cpio clang-format gnuplot-nox jq ca-certificates
# The container peer of the scale benchmark (tests/bench/bench_scale.sh).
DEPS += runc
# The nested-KVM harness (tests/nested/): busybox is the level-1 VM's userland (and the tracer's
# unit tests run it); virtiofsd comes with qemu-system-common; the L1 kernel is fetched with
# apt-get download, not installed.
DEPS += busybox-static
# pgrep (tests/e2e, the benchmarks).
DEPS += procps
deps:
	DEBIAN_FRONTEND=noninteractive apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(DEPS)

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libtinyx.a: $(TINYX_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(B)/libvmm.a: $(VMM_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(B)/libkmin.a: $(KMIN_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(B)/liblauncher.a: $(LAUNCHER_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^
$(B)/libinit-host.a: $(INIT_HOST_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

# Archives are grouped: the pipeline (libtinyx) and the kernel side (libkmin) call each other.
$(B)/bin/tinyx: $(B)/obj/tinyx/main.o $(B)/libkmin.a $(B)/libtinyx.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< -Wl,--start-group $(filter %.a,$^) -Wl,--end-group $(LDLIBS)
$(B)/bin/tinyx-launch: $(B)/obj/launcher/main.o $(B)/liblauncher.a $(B)/libvmm.a $(B)/libtinyx.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The guest init: static, musl, no sanitizers (it runs inside the VM as PID 1).
INIT_CFLAGS := -std=gnu11 -Os -Wall -Wextra -Werror -Wshadow -static -s -ffunction-sections \
               -fdata-sections -Wl,--gc-sections -I. -D_GNU_SOURCE
$(B)/bin/tinyx-init: $(INIT_SRCS) $(wildcard initramfs/*.h)
	@mkdir -p $(dir $@)
	$(MUSLCC) $(INIT_CFLAGS) -o $@ $(INIT_SRCS)

# Static, so it starts fast and its memory is its own; the sanitizer build links it dynamically.
VMM_STATIC := $(if $(filter 1,$(SAN)),,-static)
$(B)/bin/tinyx-kvm: $(B)/obj/launcher/vmm_main.o $(B)/libvmm.a $(B)/libtinyx.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $(VMM_STATIC) -o $@ $< -Wl,--whole-archive $(B)/libvmm.a -Wl,--no-whole-archive \
	    $(B)/libtinyx.a -lseccomp -lpthread

# Installed beside the binaries: compiled at run time against a kernel tree's kconfig objects.
$(B)/share/tinyx/kconfig_dump.c: kconfig-minimizer/kconfig_dump.c
	@mkdir -p $(dir $@)
	cp $< $@

$(B)/tests/%: tests/unit/%.c $(B)/liblauncher.a $(B)/libkmin.a $(B)/libtinyx.a $(B)/libinit-host.a \
              $(B)/libvmm.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--whole-archive $(B)/libvmm.a \
	    -Wl,--no-whole-archive -Wl,--start-group $(filter-out $(B)/libvmm.a,$(filter %.a,$^)) \
	    -Wl,--end-group $(LDLIBS) -lcmocka -lpthread

## test guests ---------------------------------------------------------------------------------
# Unikernel-style test guests (guest-drivers/testguests/, see its README.md): PVH ELF kernels in
# C and a little assembly, no libc. Each becomes an image directory out/guests/NAME/{kernel,
# cmdline,manifest.json} that `tinyx-launch run` boots like any image. They run inside the VM,
# so they get their own flags: freestanding, no sanitizers, no SSE (the guests never enable it).
GUEST_DIR     := guest-drivers/testguests
GUESTS        := noop hello net blk idle
GUEST_OUT     := out/guests
GUEST_CC      := gcc
GUEST_CFLAGS  := -std=gnu11 -O2 -Wall -Wextra -Werror -Wshadow -ffreestanding -nostdlib -fno-pic \
                 -fno-pie -mno-red-zone -static -mgeneral-regs-only -fno-stack-protector \
                 -fno-asynchronous-unwind-tables -ffunction-sections -fdata-sections -I.
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,-T,$(GUEST_DIR)/guest.ld -Wl,--gc-sections \
                 -Wl,--build-id=none -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack
GUEST_MAINS   := $(GUESTS:%=$(GUEST_DIR)/%.c)
GUEST_RT_SRCS := $(filter-out $(GUEST_MAINS),$(wildcard $(GUEST_DIR)/*.c))
GUEST_OBJ     := $(B)/guests/obj
GUEST_RT_OBJS := $(GUEST_OBJ)/start.o $(GUEST_RT_SRCS:$(GUEST_DIR)/%.c=$(GUEST_OBJ)/%.o)
GUEST_ELFS    := $(GUESTS:%=$(B)/guests/%.elf)
GUEST_IMAGES  := $(foreach g,$(GUESTS),$(addprefix $(GUEST_OUT)/$(g)/,kernel cmdline manifest.json))

.PHONY: guests clean-guests
all: guests
test-e2e: guests
bench: guests
clean: clean-guests
# Objects and ELFs named here, so make keeps them and rebuilds them when missing (new B).
guests: $(GUEST_RT_OBJS) $(GUESTS:%=$(GUEST_OBJ)/%.o) $(GUEST_ELFS) $(GUEST_IMAGES)
clean-guests:
	rm -rf $(GUEST_OUT)

$(GUEST_OBJ)/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@
$(GUEST_OBJ)/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -MMD -MP -c $< -o $@
$(B)/guests/%.elf: $(GUEST_OBJ)/%.o $(GUEST_RT_OBJS) $(GUEST_DIR)/guest.ld
	$(GUEST_CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $< $(GUEST_RT_OBJS)
$(GUEST_OUT)/%/kernel: $(B)/guests/%.elf
	@mkdir -p $(dir $@)
	cp $< $@
$(GUEST_OUT)/%/cmdline: $(GUEST_DIR)/image/%.cmdline
	@mkdir -p $(dir $@)
	cp $< $@
$(GUEST_OUT)/%/manifest.json: $(GUEST_DIR)/image/%.json
	@mkdir -p $(dir $@)
	cp $< $@

# Installed for `make deps`: the e2e test pings the net guest.
DEPS += iputils-ping

-include $(shell find $(GUEST_OBJ) -name '*.d' 2>/dev/null)
## end of test guests --------------------------------------------------------------------------

# The whole suite through one runner (tests/run): totals across unit and e2e, every skip with its
# reason, a skip not on tests/skips-allowed fails it. The parts below also run alone.
test:
	@B=$(B) tests/run

# linux-source unpacked into the e2e tests' cache before the unit tests, so the real-kconfig
# unit tests (test_kconfig) run on a fresh machine too.
test-kernel-src: $(B)/tests/kbuild_driver
	$(B)/tests/kbuild_driver source $(CURDIR)/.cache/tinyx-e2e >/dev/null
$(B)/tests/kbuild_driver: tests/e2e/kbuild_driver.c $(B)/libkmin.a $(B)/libtinyx.a
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< -Wl,--start-group $(B)/libkmin.a \
	    $(B)/libtinyx.a -Wl,--end-group $(LDLIBS)

test-unit: $(UNIT_BINS) $(BINS)
	@B=$(B) tests/run-unit

test-unit-san:
	$(MAKE) SAN=1 test-unit

test-e2e: $(BINS)
	@B=$(B) tests/e2e/run

bench: $(BINS)
	@B=$(B) tests/bench/run

C_FILES := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(C_FILES)
format-check:
	@clang-format --dry-run --Werror $(C_FILES)

clean:
	rm -rf build build-san

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)
