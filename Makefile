# Touchpoint -- plain GNU make + pkg-config.
#   make demo                 install what is missing, build, run the demo on :8080
#   make test                 ASan+UBSan build, unit + end-to-end + crash tests
#   make bench                release build, the figures of docs/BENCH.md
#   make                      debug build in build/debug/
#   make MODE=release         optimised build
#   make MODE=tsan            ThreadSanitizer build (run the e2e suites with it by hand)
MODE       ?= debug
BUILD      := build/$(MODE)
PKG_CONFIG ?= pkg-config

CSTD := -std=c11 -D_GNU_SOURCE
WARN := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes \
        -Wmissing-prototypes -Wmissing-declarations -Wpointer-arith \
        -Wwrite-strings -Wundef -Wformat=2 -Wvla -Wcast-align \
        -Wconversion -Wsign-conversion \
        -Werror=implicit-function-declaration -Werror

OPT_debug   := -O0 -g3
OPT_asan    := -O1 -g3 -fno-omit-frame-pointer \
               -fsanitize=address,undefined -fno-sanitize-recover=all
OPT_release := -O2 -g -fno-omit-frame-pointer -D_FORTIFY_SOURCE=2 -fstack-protector-strong
OPT_tsan    := -O1 -g3 -fno-omit-frame-pointer -fsanitize=thread
OPT         := $(OPT_$(MODE))
ifeq ($(OPT),)
$(error unknown MODE '$(MODE)': use debug, asan, tsan or release)
endif

DEPS := libmicrohttpd sqlite3 jansson libsodium libutf8proc libqrencode libpng

ALL_CFLAGS  = $(CSTD) $(WARN) $(OPT) $(DEFS) -Isrc -I$(BUILD)/gen \
              $(shell $(PKG_CONFIG) --cflags $(DEPS) 2>/dev/null) $(CFLAGS)
ALL_LDFLAGS = $(OPT) $(LDFLAGS)
LIBS        = $(shell $(PKG_CONFIG) --libs $(DEPS) 2>/dev/null) -lcsv -lm -pthread

MAINS   := src/cli/main.c
LIB_SRC := $(filter-out $(MAINS),$(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/templates.o $(BUILD)/gen/text_blobs.o
TESTS   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
TOOLS   := $(BUILD)/tools/tpgen $(BUILD)/tools/tploadgen $(BUILD)/tools/sqlite_ceiling

# Quiet by default; `make V=1` shows the commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif

all: $(BUILD)/touchpoint $(BUILD)/web/index.html

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Built-in journey templates are embedded as C strings generated from the JSON
# files (od is in coreutils, so no xxd is needed).
RETAIL_VN := src/service/template_retail_vn.json
$(BUILD)/gen/templates.c: $(RETAIL_VN) scripts/embed.sh
	@mkdir -p $(@D)
	$(Q)sh scripts/embed.sh tp_template_retail_vn $(RETAIL_VN) > $@

$(BUILD)/gen/templates.o: $(BUILD)/gen/templates.c
	$(Q)$(CC) $(CSTD) $(OPT) -c $< -o $@

# The shipped text models and the built-in theme taxonomy (src/text/text_blobs.S
# pulls them in with .incbin; scripts/train_models.sh makes the models).
TEXT_BLOBS := models/vi.tpm models/en.tpm src/text/text_themes.json
$(BUILD)/gen/text_blobs.o: src/text/text_blobs.S $(TEXT_BLOBS)
	@mkdir -p $(@D)
	$(Q)$(CC) -c $< -o $@

$(BUILD)/libtp.a: $(LIB_OBJ)
	$(Q)$(AR) rcs $@ $^

$(BUILD)/touchpoint: $(BUILD)/src/cli/main.o $(BUILD)/libtp.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(BUILD)/libtp.a
	@mkdir -p $(@D)
	$(Q)$(CC) $(ALL_LDFLAGS) $^ $(shell $(PKG_CONFIG) --libs cmocka) $(LIBS) -o $@

$(BUILD)/tests/unit/%.o: ALL_CFLAGS += $(shell $(PKG_CONFIG) --cflags cmocka)

$(BUILD)/tools/%: tools/%.c
	@mkdir -p $(@D)
	@echo "  TOOL    $@"
	$(Q)$(CC) $(CSTD) $(WARN) $(OPT) $< $(shell $(PKG_CONFIG) --cflags --libs sqlite3) -lm -pthread -o $@

tools: $(TOOLS)

# The dashboard, kiosk, survey page and widget (web/, ECharts from npm), served
# by `touchpoint serve` from the web directory next to the binary.
WEB_SRC := $(shell find web/src -type f 2>/dev/null) web/package-lock.json scripts/web.sh
$(BUILD)/web/index.html: $(WEB_SRC)
	@echo "  WEB     $(BUILD)/web"
	$(Q)sh scripts/web.sh $(BUILD)/web

# ---- the two README commands --------------------------------------------------

deps:
	@sh scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory MODE=asan check

check: $(TESTS) $(BUILD)/touchpoint $(BUILD)/web/index.html $(TOOLS)
	@sh tests/run_all.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory MODE=release all tools
	@sh scripts/demo.sh build/release

bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory MODE=release all tools
	@sh bench/run.sh build/release

clean:
	rm -rf build

.PHONY: all tools deps test check demo bench clean
# Keep test objects: they are intermediate files to make, and deleting them
# costs rebuilds (and prints after the test summary).
.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
