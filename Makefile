# mhaviz - one non-recursive Makefile.
#   make            build build/mhaviz and build/libmhaviz.a
#   make demo       install missing Debian packages, build, run on the bundled sample model
#   make test       install missing Debian packages, build, run all tests (plain and ASan+UBSan)
#   make check      the test suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make install PREFIX=/usr/local
# BUILD=release|debug|asan selects the flags; output goes under build/ (build/asan/ ...).

VERSION := 0.1.0
BUILD ?= release
PREFIX ?= /usr/local
CC ?= cc

DEB_PKGS := pkg-config libcjson-dev libpng-dev libstb-dev libcmocka-dev fonts-wqy-microhei

ifeq ($(BUILD),release)
  B := build
  MODE_CFLAGS := -O2 -g
else ifeq ($(BUILD),debug)
  B := build/debug
  MODE_CFLAGS := -O0 -g
else ifeq ($(BUILD),asan)
  B := build/asan
  MODE_CFLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
  MODE_LDFLAGS := -fsanitize=address,undefined
else
  $(error BUILD must be release, debug or asan)
endif

PKGS := libcjson libpng stb
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS = $(shell pkg-config --libs cmocka 2>/dev/null)

WARN := -Wall -Wextra -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes
CFLAGS ?=
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) $(MODE_CFLAGS) -MMD -MP -Ilib \
          -DMHV_VERSION='"$(VERSION)"' $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lm -lpthread

LIB_SRC := $(wildcard lib/*.c) $(wildcard lib/kernels/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(B)/obj/%.o)
CMD_SRC := $(wildcard cmd/*.c)
CMD_OBJ := $(CMD_SRC:%.c=$(B)/obj/%.o)
TEST_SRC := $(wildcard tests/test_*.c)
TEST_BIN := $(TEST_SRC:tests/%.c=$(B)/tests/%)
CLI_TESTS := $(filter-out tests/cli/lib.sh,$(wildcard tests/cli/*.sh))

.PHONY: all deps demo test check run-tests install clean
# keep test objects: they are not throwaway intermediates
.SECONDARY:
all: $(B)/mhaviz $(B)/libmhaviz.a

$(B)/obj/%.o: %.c
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

# Installs the Debian packages the build needs when any is missing (root or sudo).
deps:
	@command -v dpkg-query >/dev/null 2>&1 || { echo "deps: not a Debian system; install: $(DEB_PKGS)" >&2; exit 0; }; \
	missing=$$(for p in $(DEB_PKGS); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "deps: installing" $$missing >&2; \
	  SUDO=; [ "$$(id -u)" -eq 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq >&2 && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >&2; \
	fi

demo: deps
	@$(MAKE) --no-print-directory all
	./build/mhaviz run --format json --out mhaviz-out samples/sentence.txt
	@echo "demo: attention of every head written to mhaviz-out/sentence.json"

run-tests: $(TEST_BIN) $(B)/mhaviz
	@fail=0; for t in $(TEST_BIN); do \
	  echo "== $$t"; $$t || fail=1; done; \
	for t in $(CLI_TESTS); do \
	  echo "== $$t"; MHAVIZ=$(B)/mhaviz bash $$t || fail=1; done; \
	exit $$fail

test: deps
	@$(MAKE) --no-print-directory run-tests
	@$(MAKE) --no-print-directory check

check: deps
	@$(MAKE) --no-print-directory BUILD=asan run-tests

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/mhaviz
	install -m 755 $(B)/mhaviz $(DESTDIR)$(PREFIX)/bin/mhaviz
	install -m 644 man/mhaviz.1 $(DESTDIR)$(PREFIX)/share/man/man1/mhaviz.1
	cp -r samples/model $(DESTDIR)$(PREFIX)/share/mhaviz/

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
