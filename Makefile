# nestvm — build with `make`; the binary is build/nestvm.
# `make test` runs every tier of tests (see README.md); `make bench` the benchmarks.
# SAN=1 builds into build-san/ with AddressSanitizer + UndefinedBehaviorSanitizer.

CC      ?= cc
ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
OPT     ?= -O1 -g
else
BUILD   ?= build
SANFLAGS =
OPT     ?= -O2 -g
endif

CFLAGS  += -std=gnu11 $(OPT) -Itests/unit -Wall -Wextra -Werror -Wno-unused-parameter \
           -Isrc -pthread -fno-strict-aliasing -MMD -MP $(SANFLAGS)
LDFLAGS += -pthread $(SANFLAGS)
LDLIBS  += -lm

SRCS      := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
OBJS      := $(SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(shell find tests/unit -name '*.c' | sort)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)
DIFF_SRCS := $(shell find tests/diff -name '*.c' -o -name '*.S' 2>/dev/null | sort)
DIFF_OBJS := $(patsubst %,$(BUILD)/%.o,$(basename $(DIFF_SRCS))) $(BUILD)/tests/unit/cpu_harness.o

all: $(BUILD)/nestvm

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libnestvm.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/nestvm: $(BUILD)/src/main.o $(BUILD)/libnestvm.a
	$(CC) $(LDFLAGS) -o $@ $(filter-out %.a,$^) -Wl,--whole-archive $(filter %.a,$^) -Wl,--no-whole-archive $(LDLIBS)

# `make static`: the same program linked with gcc -static (libc.a comes with
# Debian's libc6-dev), to copy into an L1 guest for the end-to-end nested test.
static: $(BUILD)/nestvm-static

$(BUILD)/nestvm-static: $(BUILD)/src/main.o $(BUILD)/libnestvm.a
	$(CC) $(LDFLAGS) -static -o $@ $(filter-out %.a,$^) -Wl,--whole-archive $(filter %.a,$^) -Wl,--no-whole-archive $(LDLIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libnestvm.a
	$(CC) $(LDFLAGS) -o $@ $(filter-out %.a,$^) -Wl,--whole-archive $(filter %.a,$^) -Wl,--no-whole-archive $(LDLIBS)

$(BUILD)/difftest: $(DIFF_OBJS) $(BUILD)/libnestvm.a
	$(CC) $(LDFLAGS) -o $@ $(filter-out %.a,$^) -Wl,--whole-archive $(filter %.a,$^) -Wl,--no-whole-archive $(LDLIBS)

unit: $(BUILD)/unit-tests
	$(BUILD)/unit-tests

test:
	tests/run-all.sh

bench:
	bench/run.sh

clean:
	rm -rf build build-san

.PHONY: all unit test bench clean static
-include $(OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(DIFF_OBJS:.o=.d) $(BUILD)/src/main.d

demo:
	scripts/demo.sh
.PHONY: demo
