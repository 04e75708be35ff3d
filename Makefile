# mhaviz - one non-recursive Makefile.
#   make            build build/mhaviz and build/libmhaviz.a
#   make demo       install missing Debian packages, build, run on the bundled sample model
#   make test       install missing Debian packages, build, run all tests (plain and ASan+UBSan)
#   make check      the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make install PREFIX=/usr/local
#   make unit | cli | replay   one tier of the tests: cmocka programs, CLI scripts, fuzz replays
# BUILD=release|debug|asan selects the flags; output goes under O (default build/: build/asan/
# ...), so several work trees or people can build side by side (make O=build-mine test).

VERSION := 0.1.0
BUILD ?= release
PREFIX ?= /usr/local
CC ?= cc

DEB_PKGS := pkg-config libcjson-dev libpng-dev libstb-dev libcmocka-dev libonig-dev fonts-wqy-microhei \
            libfontconfig-dev fonts-dejavu-core
# JPEG images for the vision models (libjpeg-turbo)
DEB_PKGS += libjpeg62-turbo-dev
# zlib inflates the PNG text chunks that carry EXIF or XMP (lib/media/png_exif.c)
DEB_PKGS += zlib1g-dev
# clang + its fuzzer runtime: `make fuzz`, and the fuzz smoke run at the end of `make test`
DEB_PKGS += clang libclang-rt-dev
# xxd turns the HTML explorer's JavaScript and CSS into C (lib/fig/html_app.*)
DEB_PKGS += xxd
# pdftoppm and pdffonts check the PDF figures in `make test`
DEB_PKGS += poppler-utils
# GNU parallel: the sharded stats test runs the documented command (tests/cli/parallel.sh)
DEB_PKGS += parallel

O ?= build
ifeq ($(BUILD),release)
  B := $(O)
  MODE_CFLAGS := -O2 -g
else ifeq ($(BUILD),debug)
  B := $(O)/debug
  MODE_CFLAGS := -O0 -g
else ifeq ($(BUILD),asan)
  B := $(O)/asan
  MODE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  MODE_LDFLAGS := -fsanitize=address,undefined
else
  $(error BUILD must be release, debug or asan)
endif

PKGS := libcjson libpng zlib stb oniguruma libjpeg
# fontconfig finds the label fonts when present; without it well-known paths are searched
ifeq ($(shell pkg-config --exists fontconfig 2>/dev/null && echo y),y)
  PKGS += fontconfig
  FONT_CFLAGS := -DMHV_HAVE_FONTCONFIG
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wundef \
        -Wpointer-arith -Wwrite-strings -Wredundant-decls -Wcast-align
# `make test` builds with -Werror: a warning fails CI rather than scrolling past
WERROR ?=
CFLAGS ?=
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) $(WERROR) $(MODE_CFLAGS) -MMD -MP -Ilib \
          -DMHV_VERSION='"$(VERSION)"' $(FONT_CFLAGS) $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lm -lpthread

# the library is every .c under lib/ (one folder per layer: see lib/README.md)
LIB_SRC := $(sort $(wildcard lib/*/*.c lib/*/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
# lib/fig/html.c embeds lib/fig/html_app.{js,css}: made into C arrays at build time by
# `xxd -i`, so the sources stay plain JavaScript and CSS and no generated file is committed
HTML_ASSETS := lib/fig/html_app.js lib/fig/html_app.css
LIB_OBJ += $(B)/obj/gen/html_assets.o
CMD_SRC := $(wildcard cmd/*.c)
CMD_OBJ := $(CMD_SRC:%.c=$(B)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
CLI_TESTS := $(filter-out tests/cli/lib.sh,$(wildcard tests/cli/*.sh))
# fuzz harnesses (tests/fuzz/fuzz_<target>.c); rules and `make fuzz` further down
FUZZ_TARGETS ?= $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 3
# per input: the largest image (16384 x 16384 before the pixel limit, turned upright) decoded
# in 11 s under ASan here; the limit of 178956970 pixels takes less
FUZZ_TIMEOUT ?= 60
FUZZ_CC ?= clang
FZ := $(O)/fuzz
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -MMD -MP \
              -Ilib -DMHV_VERSION='"$(VERSION)"' $(FONT_CFLAGS) $(PKG_CFLAGS)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FZ)/obj/%.o) $(FZ)/obj/gen/html_assets.o
REPLAY_BIN := $(FUZZ_TARGETS:%=$(B)/fuzz-replay/%)

.PHONY: all deps bench-deps browser-deps firefox-deps demo test check run-tests unit cli replay install clean fuzz fuzz-run fuzz-smoke bench
# keep test objects: they are not throwaway intermediates
.SECONDARY:
all: $(B)/mhaviz $(B)/libmhaviz.a

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(KFLAGS) -c $< -o $@

# Only the kernel files get the extensions: dispatch.c calls them after checking the CPU,
# so the rest of the binary still runs on any x86-64.
ifeq ($(shell uname -m),x86_64)
KERNEL_AVX2_FLAGS := -mavx2 -mfma -mf16c
KERNEL_AVX512_FLAGS := -mavx512f -mavx512bw -mavx512dq -mavx512vl $(KERNEL_AVX2_FLAGS)
$(B)/obj/lib/nn/kernels/avx2.o $(FZ)/obj/lib/nn/kernels/avx2.o: KFLAGS := $(KERNEL_AVX2_FLAGS)
$(B)/obj/lib/nn/kernels/avx512.o $(FZ)/obj/lib/nn/kernels/avx512.o: KFLAGS := $(KERNEL_AVX512_FLAGS)
endif

$(O)/gen/html_assets.c: $(HTML_ASSETS)
	@mkdir -p $(dir $@)
	for f in $(HTML_ASSETS); do (cd $$(dirname $$f) && xxd -i $$(basename $$f)) || exit 1; done >$@.tmp
	mv $@.tmp $@

$(B)/obj/gen/html_assets.o: $(O)/gen/html_assets.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(B)/libmhaviz.a: $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(B)/mhaviz: $(CMD_OBJ) $(B)/libmhaviz.a
	$(CC) $(MODE_LDFLAGS) -o $@ $(CMD_OBJ) $(B)/libmhaviz.a $(LDLIBS)

$(B)/tests/%: $(B)/obj/tests/%.o $(B)/libmhaviz.a
	@mkdir -p $(dir $@)
	$(CC) $(MODE_LDFLAGS) -o $@ $< $(B)/libmhaviz.a $(CMOCKA_LIBS) $(LDLIBS)

# Installs the Debian packages of $(1) that are missing (as root, or with sudo).
define install_missing
	@command -v dpkg-query >/dev/null 2>&1 || { echo "deps: not a Debian system; install: $(1)" >&2; exit 0; }; \
	missing=$$(for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing" $$missing >&2; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq >&2 && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >&2; \
	fi
endef

# The build's packages.
deps:
	$(call install_missing,$(DEB_PKGS))

# `make bench` only: Debian's PyTorch (the second reference row) with the OpenMP build of
# OpenBLAS, numpy for the checkpoint generator, oneDNN (the GEMM table's reference column).
BENCH_DEB_PKGS := python3-torch libopenblas0-openmp python3-numpy libdnnl-dev
bench-deps:
	$(call install_missing,$(BENCH_DEB_PKGS))

# The browser test of the HTML explorer (tests/cli/browser.sh) only: a machine where these
# cannot be installed still passes `make test`, with that test reported as skipped.
BROWSER_DEB_PKGS := chromium chromium-driver python3-selenium
browser-deps:
	$(call install_missing,$(BROWSER_DEB_PKGS))
# and Firefox, which the same test only screenshots (Debian has no geckodriver)
FIREFOX_DEB_PKGS := firefox-esr
firefox-deps:
	$(call install_missing,$(FIREFOX_DEB_PKGS))

demo: deps
	@$(MAKE) --no-print-directory all
	./$(B)/mhaviz run --heads all --format png,json --out mhaviz-out samples/sentence.txt
	./$(B)/mhaviz rank --from 它 --to 苹果 --render --out mhaviz-out/rank samples/sentence.txt
	@echo "demo: figures of every head in mhaviz-out/sentence/, weights in mhaviz-out/sentence.json;"
	@echo "demo: the table above ranks the heads by how much 它 attends to 苹果; mhaviz-out/rank/sentence/"
	@echo "demo: holds the listed heads with the rows of 它 and the columns of 苹果 outlined"

# The three tiers; each runs every program of its tier and fails at the end if one failed.
unit: $(TEST_BIN)
	@fail=0; echo "== tests/layers.sh"; bash tests/layers.sh || fail=1; \
	for t in $(TEST_BIN); do echo "== $$t"; $$t || fail=1; done; exit $$fail

cli: $(B)/mhaviz
	@fail=0; for t in $(CLI_TESTS); do \
	  echo "== $$t"; MHAVIZ=$(B)/mhaviz bash $$t || fail=1; done; exit $$fail

replay: $(REPLAY_BIN)
	@fail=0; for t in $(FUZZ_TARGETS); do \
	  echo "== fuzz replay $$t"; \
	  $(B)/fuzz-replay/$$t $$t tests/fuzz/corpus/$$t tests/fuzz/regress/$$t || fail=1; done; \
	exit $$fail

run-tests: $(TEST_BIN) $(B)/mhaviz $(REPLAY_BIN)
	@fail=0; \
	$(MAKE) --no-print-directory unit || fail=1; \
	$(MAKE) --no-print-directory cli || fail=1; \
	$(MAKE) --no-print-directory replay || fail=1; \
	exit $$fail

test: deps
	@$(MAKE) --no-print-directory browser-deps || \
	  echo "deps: $(BROWSER_DEB_PKGS) not installable: the browser test is skipped" >&2
	@$(MAKE) --no-print-directory firefox-deps || \
	  echo "deps: $(FIREFOX_DEB_PKGS) not installable: the Firefox check is skipped" >&2
	@$(MAKE) --no-print-directory WERROR=-Werror run-tests
	@$(MAKE) --no-print-directory WERROR=-Werror check
	@$(MAKE) --no-print-directory fuzz-smoke

check: deps
	@$(MAKE) --no-print-directory BUILD=asan run-tests

# ---- fuzzing: tests/fuzz/fuzz_<target>.c (see tests/fuzz/README.md) ----
# `make fuzz` builds each harness with clang's libFuzzer + ASan + UBSan and runs it for
# FUZZ_SECONDS, one target after another (FUZZ_TARGETS="a b" picks some). New inputs go to
# build/fuzz/corpus/<target>; a crash fails with the input saved under build/fuzz/crashes/.
# `make test` replays tests/fuzz/corpus/ and tests/fuzz/regress/ through the same harnesses
# built with $(CC) (no clang needed), then a FUZZ_SMOKE_SECONDS run of each target.

$(FZ)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(KFLAGS) -c $< -o $@

$(FZ)/obj/gen/html_assets.o: $(O)/gen/html_assets.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FZ)/libmhaviz.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FZ)/fuzz_%: $(FZ)/obj/tests/fuzz/fuzz_%.o $(FZ)/libmhaviz.a
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

$(B)/fuzz-replay/%: $(B)/obj/tests/fuzz/fuzz_%.o $(B)/obj/tests/fuzz/replay.o $(B)/libmhaviz.a
	@mkdir -p $(dir $@)
	$(CC) $(MODE_LDFLAGS) -o $@ $^ $(LDLIBS)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-run

# The RSS limit sits above the largest input's real need: an image of 178956970 pixels (the
# most mhv_image_decode accepts, PIL's limit: 716 MB as RGBA while a PNG decodes, 537 MB of
# RGB) turned upright by its EXIF orientation is held twice for a moment, about 1.1 GB before
# ASan's own overhead (a 3 s smoke run hit 2 GB with 16384 x 16384 images, before the limit).
fuzz-run: $(FUZZ_TARGETS:%=$(FZ)/fuzz_%)
	@mkdir -p $(FZ)/crashes; fail=0; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FZ)/corpus/$$t; log=$(FZ)/$$t.log; seeds=; \
	  [ -d tests/fuzz/corpus/$$t ] && seeds=tests/fuzz/corpus/$$t; \
	  [ -f tests/fuzz/$$t.dict ] && seeds="-dict=tests/fuzz/$$t.dict $$seeds"; \
	  $(FZ)/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=$(FUZZ_TIMEOUT) -rss_limit_mb=4096 \
	    -print_final_stats=1 -artifact_prefix=$(FZ)/crashes/$$t- $(FZ)/corpus/$$t $$seeds \
	    >$$log 2>&1; rc=$$?; \
	  execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	  cov=$$(grep -o 'cov: [0-9]* ft: [0-9]*' $$log | tail -1); \
	  echo "fuzz $$t: $(FUZZ_SECONDS) s, $$execs execs, $$cov, corpus $$(ls $(FZ)/corpus/$$t | wc -l)"; \
	  if [ $$rc != 0 ]; then fail=1; tail -40 $$log; \
	    echo "fuzz $$t: FAILED, input saved as $$(ls -t $(FZ)/crashes/$$t-* 2>/dev/null | head -1)" \
	      "(fix it, then add it to tests/fuzz/regress/$$t/)"; fi; \
	done; exit $$fail

# The end of `make test`: a short run of every target when clang's fuzzer runtime links.
fuzz-smoke:
	@mkdir -p $(O); \
	if printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return (int)(d && n) * 0; }\n' | \
	    $(FUZZ_CC) -fsanitize=fuzzer -x c - -o $(O)/.fuzz-probe >/dev/null 2>&1; then \
	  rm -f $(O)/.fuzz-probe; \
	  $(MAKE) --no-print-directory fuzz-run FUZZ_SECONDS=$(FUZZ_SMOKE_SECONDS); \
	else echo "fuzz smoke: skipped ($(FUZZ_CC) -fsanitize=fuzzer does not link: install clang libclang-rt-dev)"; fi

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/mhaviz
	install -m 755 $(B)/mhaviz $(DESTDIR)$(PREFIX)/bin/mhaviz
	install -m 644 man/mhaviz.1 $(DESTDIR)$(PREFIX)/share/man/man1/mhaviz.1
	cp -r samples/model $(DESTDIR)$(PREFIX)/share/mhaviz/

# Kernel and forward-pass timings against the CPU's FMA peak and PyTorch in the same run,
# then the whole `mhaviz run` process and its peak RSS on a bert-base-shaped checkpoint
# (generated once into build/bench/ by bench/gen_bert_base.py; not part of `test`).
# MHAVIZ_BENCH_PYTHON: a python with torch + transformers from PyPI (the headline reference;
# default python3); MHAVIZ_BENCH_DEBIAN_PYTHON: the one with Debian's python3-torch (default
# /usr/bin/python3). See BENCHMARKS.md.
bench: deps bench-deps browser-deps
	@$(MAKE) --no-print-directory $(B)/bench/bench $(B)/bench/bench_render $(B)/bench/bench_html \
	  $(B)/mhaviz
	./$(B)/bench/bench
	MHAVIZ=$(B)/mhaviz bash bench/bench_run.sh
	./$(B)/bench/bench_render
	BENCH_HTML=$(B)/bench/bench_html bash bench/bench_html.sh
	MHAVIZ=$(B)/mhaviz MHAVIZ_BENCH_LONG_LENGTHS=1024 bash bench/bench_long.sh
	@$(MAKE) --no-print-directory bench-corpus

# Corpus throughput (issue 17): stats and run --format json over 1,000 short sentences
# against PyTorch batched (bench/bench_corpus.sh; part of `make bench`).
.PHONY: bench-corpus
bench-corpus: $(B)/mhaviz
	MHAVIZ=$(B)/mhaviz bash bench/bench_corpus.sh

# Long inputs: a Qwen2-0.5B-shaped BF16 checkpoint (0.99 GB, generated once into
# build/bench/qwen2-0.5b-bf16) at 1k, 4k and 8k tokens, --rows last and one layer's every
# row, streamed (bench/bench_long.sh; MHAVIZ_BENCH_LONG_7B=1 adds the 7B-shaped one).
.PHONY: bench-long
bench-long: $(B)/mhaviz
	MHAVIZ=$(B)/mhaviz bash bench/bench_long.sh

# Time and peak RSS of a Qwen2-7B-shaped BF16 sharded checkpoint (~15 GB, generated once
# into build/bench/qwen2-7b-bf16 by bench/gen_qwen2_7b.py; knobs in bench/bench_7b.sh).
.PHONY: bench-7b
bench-7b: $(B)/mhaviz
	MHAVIZ=$(B)/mhaviz bash bench/bench_7b.sh

$(B)/bench/bench_html: $(B)/obj/bench/bench_html.o $(B)/libmhaviz.a
	@mkdir -p $(dir $@)
	$(CC) $(MODE_LDFLAGS) -o $@ $< $(B)/libmhaviz.a $(LDLIBS)

$(B)/bench/bench_render: $(B)/obj/bench/bench_render.o $(B)/libmhaviz.a
	@mkdir -p $(dir $@)
	$(CC) $(MODE_LDFLAGS) -o $@ $< $(B)/libmhaviz.a $(LDLIBS)

$(B)/bench/bench: $(B)/obj/bench/bench.o $(B)/libmhaviz.a
	@mkdir -p $(dir $@)
	$(CC) $(MODE_LDFLAGS) -o $@ $< $(B)/libmhaviz.a $(LDLIBS)

clean:
	rm -rf $(O)

-include $(shell find $(O) -name '*.d' 2>/dev/null)
