# crm — build, test, benchmark, install.
#
#   make                 build everything into build/
#   make check           build, then run every bats suite (tests/*.bats)
#   make asan check      the same under AddressSanitizer + UBSan (build-asan/)
#   make bench           benchmarks (tests/bench), figures on stdout
#   make demo            the whole pipeline on the shipped sample mail
#   make install         PREFIX=/usr/local DESTDIR=
#
# New modules need no edit here: every lib/*.c and lib/*.cc goes into
# libcrm.a, every cmd/crm-*.c becomes a program, every scripts/crm-* is
# installed beside them.

PREFIX  ?= /usr/local
BINDIR  ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/crm
MANDIR  ?= $(PREFIX)/share/man
VERSION := $(shell cat VERSION 2>/dev/null || echo 0.0.0)

CC  ?= cc
CXX ?= c++
OPT ?= -O2
WARN = -Wall -Wextra -Werror
HARDEN = -fstack-protector-strong -D_FORTIFY_SOURCE=2
CPPFLAGS += -D_GNU_SOURCE -Ilib -I/usr/include/json-c \
	-DCRM_VERSION='"$(VERSION)"' -DCRM_DATADIR='"$(DATADIR)"'
CFLAGS   += -std=c11 $(OPT) -g $(WARN) $(HARDEN)
CXXFLAGS += -std=c++17 $(OPT) -g $(WARN) $(HARDEN)
LDLIBS   += -letpan -lpq -lcurl -ljson-c -lpcre2-8 -lssl -lcrypto \
	-lutf8proc -lphonenumber -lprotobuf -lstdc++ -lm -lpthread

B = build
ifneq ($(filter asan,$(MAKECMDGOALS)),)
B = build-asan
OPT = -O1
SAN = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
HARDEN =
CFLAGS += $(SAN)
CXXFLAGS += $(SAN)
LDFLAGS += $(SAN)
endif

LIB_C   := $(wildcard lib/*.c)
LIB_CC  := $(wildcard lib/*.cc)
LIB_OBJ := $(LIB_C:lib/%.c=$(B)/obj/lib/%.o) $(LIB_CC:lib/%.cc=$(B)/obj/lib/%.o)
CMDS    := $(patsubst cmd/%.c,%,$(wildcard cmd/*.c))
SCRIPTS := $(notdir $(wildcard scripts/crm-*))
PROGS   := $(CMDS:%=$(B)/bin/%) $(SCRIPTS:%=$(B)/bin/%)
MAN     := $(wildcard man/*.[157])

.PHONY: all asan check bench demo install clean deps fuzz
all: $(PROGS)
asan: all

$(B)/obj/lib/%.o: lib/%.c $(wildcard lib/*.h) | $(B)/obj/lib
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(B)/obj/lib/%.o: lib/%.cc $(wildcard lib/*.h) | $(B)/obj/lib
	$(CXX) $(CPPFLAGS) $(CXXFLAGS) -c -o $@ $<
$(B)/obj/cmd/%.o: cmd/%.c $(wildcard lib/*.h) | $(B)/obj/cmd
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<
$(B)/lib/libcrm.a: $(LIB_OBJ) | $(B)/lib
	rm -f $@ && ar rcs $@ $^
$(B)/bin/%: $(B)/obj/cmd/%.o $(B)/lib/libcrm.a | $(B)/bin
	$(CC) $(LDFLAGS) -o $@ $< $(B)/lib/libcrm.a $(LDLIBS)
$(B)/bin/crm-%: scripts/crm-% | $(B)/bin
	cp $< $@ && chmod +x $@
$(B)/obj/lib $(B)/obj/cmd $(B)/lib $(B)/bin:
	mkdir -p $@

# Debian packages: installed on demand, quietly when all are present.
deps:
	@scripts/install-deps

check: deps all
	@scripts/run-tests $(B)

bench: all
	@scripts/install-deps --bench
	@B=$(B) tests/bench/run

demo: deps all
	@scripts/demo $(B)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/rules $(DESTDIR)$(DATADIR)/sql
	install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)
	cp -R lib/rules/. $(DESTDIR)$(DATADIR)/rules/
	for f in sql/*.sql; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(DATADIR)/sql/ || :; done
	for s in 1 5 7; do install -d $(DESTDIR)$(MANDIR)/man$$s; \
		for f in man/*.$$s; do [ -e "$$f" ] && install -m 644 $$f $(DESTDIR)$(MANDIR)/man$$s/ || :; done; done

# libFuzzer targets (tests/fuzz/fuzz-*.c) over the parsers of untrusted
# input; each runs FUZZ_SECONDS (default 60) from its seed corpus.
FUZZ_SECONDS ?= 60
FUZZ_CFLAGS = -std=c11 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined $(WARN)
FZ = build-fuzz
FUZZERS := $(patsubst tests/fuzz/%.c,$(FZ)/%,$(wildcard tests/fuzz/fuzz-*.c))
$(FZ)/obj/%.o: lib/%.c $(wildcard lib/*.h) | $(FZ)/obj
	clang $(CPPFLAGS) $(FUZZ_CFLAGS) -c -o $@ $<
$(FZ)/obj/%.o: lib/%.cc $(wildcard lib/*.h) | $(FZ)/obj
	clang++ $(CPPFLAGS) -std=c++17 -g -O1 -fsanitize=fuzzer-no-link,address,undefined -c -o $@ $<
$(FZ)/fuzz-%: tests/fuzz/fuzz-%.c $(LIB_C:lib/%.c=$(FZ)/obj/%.o) $(LIB_CC:lib/%.cc=$(FZ)/obj/%.o)
	clang++ $(CPPFLAGS) -g -O1 -fsanitize=fuzzer,address,undefined -x c -std=c11 $< -x none \
		$(filter %.o,$^) -o $@ $(LDLIBS)
$(FZ)/obj:
	mkdir -p $@
fuzz: $(FUZZERS)
	@scripts/install-deps --fuzz
	@rm -rf $(FZ)/artifacts; mkdir -p $(FZ)/artifacts; \
	for f in $(FUZZERS); do n=$${f##*/fuzz-}; c=$(FZ)/corpus-$$n; mkdir -p $$c; \
		seeds=tests/fuzz/seeds-$$n; [ -d $$seeds ] || seeds=tests/fixtures/sync/Maildir/cur; \
		echo "== $$f ($(FUZZ_SECONDS) s)"; \
		$$f -max_total_time=$(FUZZ_SECONDS) -max_len=65536 -print_final_stats=1 \
			-artifact_prefix=$(FZ)/artifacts/$$n- $$c $$seeds tests/fuzz/regress 2>&1 | \
			grep -E 'stat::number_of_executed_units|ERROR|SUMMARY'; done; \
	if ls $(FZ)/artifacts/* >/dev/null 2>&1; then echo "fuzz: inputs that fail:"; ls $(FZ)/artifacts; exit 1; fi

clean:
	rm -rf build build-asan build-fuzz
.SECONDARY:
