# dicomveil: top-level developer and CI entry points (GNU make).
#
#   make deps         install every Debian package the build, tests, fuzzing, demo and benchmarks need (root)
#   make build        RelWithDebInfo build into build/            (binary: build/dicomveil)
#   make build-asan   ASan+UBSan build into build-asan/           (-DDV_SANITIZE=ON)
#   make build-fuzz   clang libFuzzer targets into build-fuzz/    (-DDV_FUZZ=ON)
#   make tables       regenerate the PS3.6 / PS3.15 / PS3.3 tables (tools/gen_tables.py, tools/gen_iod_tables.py)
#                     the Han variants (tools/gen_han_variants.py) and readings (tools/gen_pinyin.py, gen_hanja.py)
#   make test         deps + build + ctest + ASan/UBSan ctest (unit + integration) + fuzz-smoke + test-deb
#                     (build-asan / build-fuzz compile at idle priority beside the ctest phase before theirs)
#   make fuzz-smoke   each fuzz target ~4 s over its committed corpus + every crash regression once, JOBS at a time
#   make fuzz         FUZZ_SECONDS=N (default 60) per target; new inputs go to build-fuzz/corpus-new/,
#                     crashes to build-fuzz/artifacts/<target>/ (FUZZ_INVARIANTS=0: memory safety only)
#   make demo         deps + build + tools/demo.sh (synthetic instances, no real PHI)
#   make bench        deps + build + bench/run.sh (peers, RESULTS.md figures) + bench/ab.sh (A/B vs a reference)
#                     + bench/peers.sh (side by side with every peer on 4 corpora: RESULTS.md section, img/*.png;
#                       BENCH_SIZE=small for a ~3 min run)
#                     + bench/redact.sh (text-region detection: recall, area, ms per frame)
#                     + bench/pixel_classify.sh (OCR + sensitive-box decision on rendered overlays)
#                     + bench/server_load.sh (serve: concurrent STOW vs the CLI, QIDO p50/p99 at 100k, RSS)
#   make screenshots  build + the console's browser test, writing the README's screenshots to docs/img/
#   make install      build + install into PREFIX (default /usr/local; DESTDIR honoured): binary, library
#                     (static + shared), headers, dicomveil.pc, man pages, bash completion, docs
#   make uninstall    remove what the last `make install` installed (its manifest; nothing of ours is left)
#   make deb          build + build/deb/dicomveil_<version>_<arch>.deb (dpkg-deb; packaging/deb/build.sh)
#   make test-deb     deb + tests/integration/test_deb.sh (lintian, apt install, run, service command, purge;
#                     root): the last phase of make test
#   make clean        remove the build trees
#
# CI runs `bash .ci/run`, which is `make test`, in a fresh clone with ../shared beside it.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
.DELETE_ON_ERROR:

JOBS         ?= 2
BUILD_TYPE   ?= RelWithDebInfo
CMAKE        ?= cmake
CTEST        ?= ctest
# Debian's interpreter: python3-pydicom / python3-numpy are installed for it (a pyenv python3 on PATH is not).
PYTHON       ?= /usr/bin/python3
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
SMOKE_SECONDS ?= 4
# FUZZ_INVARIANTS=0: fuzz_reader checks memory safety only (not the writer's re-read/idempotence invariants).
FUZZ_INVARIANTS ?= 1

BUILD_DIR  := build
ASAN_DIR   := build-asan
FUZZ_DIR   := build-fuzz
FUZZ_TARGETS := fuzz_reader fuzz_deidentify fuzz_config fuzz_charset fuzz_rle fuzz_jpeg_lossless fuzz_image_decode fuzz_text_detect fuzz_text_lexicon fuzz_text_transform fuzz_text_stage fuzz_router fuzz_multipart fuzz_qido fuzz_filter_file fuzz_textdetect fuzz_jpeg_dct fuzz_pixel_classify fuzz_wado_params fuzz_console_path fuzz_mpi_wire fuzz_codestream fuzz_journal_line fuzz_render fuzz_document_text fuzz_inflated
TIMES_FILE := $(BUILD_DIR)/make-test-times.txt

# Sanitizer settings for every sanitized run (ctest under build-asan/, the fuzzers).
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0
ifeq ($(FUZZ_INVARIANTS),0)
SAN_ENV += DV_FUZZ_NO_INVARIANTS=1
endif
ifneq ($(wildcard /usr/bin/llvm-symbolizer),)
SAN_ENV += ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer
endif

# Everything the build, the tests (unit, integration, sanitizers), fuzzing, the demo and the benchmarks use.
#   libclang-rt-14-dev: libFuzzer + the ASan/UBSan runtimes for clang 14 (clang -fsanitize=fuzzer);
#   llvm: llvm-symbolizer for readable sanitizer stacks;  time: GNU time (peak RSS);
#   dcmtk / dicom3tools / libgdcm-tools: independent DICOM validators (dcmdump, dciodvfy, gdcminfo);
#   libgdcm3.0: GDCM's PS3.3 / PS3.4 XML (Part3.xml, Part4.xml), input of tools/gen_iod_tables.py and its test;
#   python3-pydicom (+ numpy): integration checks and the demo's synthetic-instance generator;
#   libjpeg62-turbo-dev / libcharls-dev / libopenjp2-7-dev: pixel codecs (docs/pixels.md);
#   python3-gdcm / python3-pil: pydicom's independent JPEG / JPEG-LS / JPEG 2000 decoders (test_image_decode);
#   libpcre2-dev: the text detectors' patterns (docs/text-detectors.md);
#   libmicrohttpd-dev (+ libgnutls28-dev, its TLS) / libsqlite3-dev: the server (src/http, src/store);
#   libpq-dev / postgresql: the shared PostgreSQL index and its tests (initdb, pg_ctl; docs/server.md);
#   curl / openssl / python3-googleapi (+ httplib2): the server's end-to-end test (test_server.py);
#   strace: the STOW early-writeback check of test_server_perf.py (the server traced for sync_file_range);
#   orthanc / orthanc-dicomweb: a second real DICOMweb client of the server (test_orthanc_interop.py);
#   libtesseract-dev / libleptonica-dev / tesseract-ocr-eng: burned-in text recognition (docs/pixels.md "OCR");
#   fonts-dejavu-core: the fonts tools/gen_burned_in.py and the OCR tests render overlay text with;
#   libopenmpi-dev / openmpi-bin: deidentify --mpi and its test (test_cli_mpi.sh, mpirun).
#   chromium / chromium-driver / python3-selenium: the web console's browser test (test_console.py).
#   bash-completion / dpkg-dev / lintian / man-db: packaging (completion test, make deb, man -l).
#   gnuplot-nox: the benchmark plots bench/img/peers_*.png (bench/peers_report.py, test_bench_scripts.sh).
#   unicode-data: UnicodeData.txt, which test_patterns reads to check the mathematical letters' fold.
DEB_PACKAGES := build-essential cmake pkg-config git zlib1g-dev libssl-dev libjansson-dev libcmocka-dev libpcre2-dev \
	libjpeg62-turbo-dev libcharls-dev libopenjp2-7-dev \
	curl libgnutls28-dev libmicrohttpd-dev libpq-dev libsqlite3-dev openssl orthanc orthanc-dicomweb postgresql python3-googleapi python3-httplib2 \
	fonts-dejavu-core libleptonica-dev libtesseract-dev tesseract-ocr-eng \
	clang llvm libclang-rt-14-dev \
	python3 python3-pydicom python3-numpy python3-gdcm python3-pil \
	dcmtk dicom3tools gnuplot-nox libgdcm-tools libgdcm3.0 \
	time hyperfine bc strace \
	libopenmpi-dev openmpi-bin \
	chromium chromium-driver python3-selenium \
	bash-completion dpkg-dev lintian man-db unicode-data

.PHONY: all deps build build-asan build-fuzz tables test ctest ctest-asan fuzz-smoke fuzz demo bench clean \
	distclean help install uninstall deb test-deb screenshots

all: build

help:
	@awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' Makefile

# ---------------------------------------------------------------------------------------------------------
# deps: as root, apt-get update + install, skipped (no network needed) when every package is already there.
deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	  st=$$(dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null || true); \
	  [ "$$st" = "install ok installed" ] || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then \
	  echo "deps: all $(words $(DEB_PACKAGES)) Debian packages present"; exit 0; \
	fi; \
	echo "deps: missing:$$missing"; \
	if [ "$$(id -u)" != 0 ]; then \
	  echo "deps: ERROR: not root, cannot install the missing packages; run 'sudo make deps' or:" >&2; \
	  echo "      sudo apt-get install -y --no-install-recommends$$missing" >&2; \
	  exit 1; \
	fi; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update -q; \
	apt-get install -y -q --no-install-recommends $$missing; \
	if ! echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n){(void)d;(void)n;return 0;}' \
	     | clang -x c - -fsanitize=fuzzer,address,undefined -o /tmp/dv-fuzz-link-check.$$$$ 2>/dev/null; then \
	  echo "deps: ERROR: clang -fsanitize=fuzzer does not link (libclang-rt-14-dev?)" >&2; exit 1; \
	fi; \
	rm -f /tmp/dv-fuzz-link-check.$$$$; \
	echo "deps: installed"

# ---------------------------------------------------------------------------------------------------------
# Builds. cmake re-configures quickly, so every call configures (options stay as given here) then builds.
build:
	$(CMAKE) -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE)
	$(CMAKE) --build $(BUILD_DIR) -j$(JOBS)
	@test -x $(BUILD_DIR)/dicomveil && echo "build: $(BUILD_DIR)/dicomveil" || echo "build: note: $(BUILD_DIR)/dicomveil not built (no CLI sources yet?)"

build-asan:
	$(CMAKE) -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DDV_SANITIZE=ON
	$(CMAKE) --build $(ASAN_DIR) -j$(JOBS)

# Only the fuzz targets are built here (the library is instrumented with -fsanitize=fuzzer-no-link).
build-fuzz:
	CC=$(FUZZ_CC) $(CMAKE) -S . -B $(FUZZ_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DDV_FUZZ=ON -DDV_SANITIZE=ON \
	  -DDV_TESTS=OFF -DDV_WERROR=OFF
	$(CMAKE) --build $(FUZZ_DIR) -j$(JOBS) --target $(FUZZ_TARGETS)

tables:
	$(PYTHON) tools/gen_tables.py
	$(PYTHON) tools/gen_iod_tables.py
	$(PYTHON) tools/gen_han_variants.py
	$(PYTHON) tools/gen_pinyin.py
	$(PYTHON) tools/gen_hanja.py

# ---------------------------------------------------------------------------------------------------------
# Tests. ctest's own summary lines are printed (and kept in <dir>/ctest.log for the final summary).
ctest: build
	cd $(BUILD_DIR) && $(CTEST) --output-on-failure -j$(JOBS) 2>&1 | tee ctest.log

# The README's console screenshots (docs/img/console-*.png, small palette PNGs) from the browser test.
screenshots: deps build
	cd $(BUILD_DIR) && env DV_SCREENSHOTS_DIR=$(CURDIR)/docs/img $(CTEST) -R 'integration\.test_console$$' --output-on-failure

ctest-asan: build-asan
	cd $(ASAN_DIR) && env $(SAN_ENV) $(CTEST) --output-on-failure -j$(JOBS) 2>&1 | tee ctest.log

# The smoke uses a fixed seed so that make test (and CI) is reproducible: a long random search is `make fuzz`.
SMOKE_SEED ?= 1
fuzz-smoke: deps build-fuzz
	env $(SAN_ENV) bash tools/run_fuzz.sh --dir $(FUZZ_DIR) --seconds $(SMOKE_SECONDS) --seed $(SMOKE_SEED) --jobs $(JOBS) \
	  --regressions $(FUZZ_TARGETS)

fuzz: deps build-fuzz
	env $(SAN_ENV) bash tools/run_fuzz.sh --dir $(FUZZ_DIR) --seconds $(FUZZ_SECONDS) --regressions $(FUZZ_TARGETS)

# Each phase timed; the timings and both ctest summaries are repeated at the end.
define timed
@s=$$(date +%s); $(MAKE) --no-print-directory $(1); echo "$(1) $$(( $$(date +%s) - s ))" >> $(TIMES_FILE)
endef

# The next phase's build starts in the background beside each ctest phase (build-asan beside ctest, build-fuzz
# beside ctest-asan) at idle priority (nice 19), and is joined after it: it only takes the cycles the tests leave
# (waits on servers, the browser, initdb, mpirun; a last long test alone on one core), so it does not slow the
# tests, and most of its compile is done when its turn comes. At the join it gets its normal priority back (its
# process tree is reniced to 0: root, as in CI; otherwise it finishes at nice 19). Its output goes to
# BUILD_DIR/<target>.log, shown at the join (whole, and make test stops, when it failed); the times file gets
# "<target>-bg" (its own run, overlapped) and "<target>" (what the join waited). flock: one build per tree.
define start_bg
@rm -f $(BUILD_DIR)/$(1).done; ( s=$$(date +%s); rc=0; \
  nice -n 19 flock $(BUILD_DIR)/$(1).lock $(MAKE) --no-print-directory $(1) > $(BUILD_DIR)/$(1).log 2>&1 || rc=$$?; \
  echo "$$rc $$(( $$(date +%s) - s ))" > $(BUILD_DIR)/$(1).done.tmp && mv $(BUILD_DIR)/$(1).done.tmp $(BUILD_DIR)/$(1).done ) & \
echo $$! > $(BUILD_DIR)/$(1).pid
endef
define join_bg
@s=$$(date +%s); \
renice_tree() { renice -n 0 -p "$$1" >/dev/null 2>&1 || true; local c; \
  for c in $$(cat /proc/"$$1"/task/*/children 2>/dev/null); do renice_tree "$$c"; done; }; \
[ -f $(BUILD_DIR)/$(1).done ] || renice_tree "$$(cat $(BUILD_DIR)/$(1).pid)"; \
while [ ! -f $(BUILD_DIR)/$(1).done ]; do sleep 1; done; read -r rc took < $(BUILD_DIR)/$(1).done; \
echo "$(1)-bg $$took" >> $(TIMES_FILE); echo "$(1) $$(( $$(date +%s) - s ))" >> $(TIMES_FILE); \
if [ "$$rc" != 0 ]; then cat $(BUILD_DIR)/$(1).log; echo "$(1): FAILED (exit $$rc; log $(BUILD_DIR)/$(1).log)" >&2; exit 1; fi; \
echo "$(1) (background, $$took s): $$(tail -n 1 $(BUILD_DIR)/$(1).log)"
endef

test:
	@mkdir -p $(BUILD_DIR); : > $(TIMES_FILE); date +%s > $(BUILD_DIR)/make-test.start
	$(call timed,deps)
	$(call timed,build)
	$(call start_bg,build-asan)
	$(call timed,ctest)
	$(call join_bg,build-asan)
	$(call start_bg,build-fuzz)
	$(call timed,ctest-asan)
	$(call join_bg,build-fuzz)
	$(call timed,fuzz-smoke)
	$(call timed,test-deb)
	@echo "total $$(( $$(date +%s) - $$(cat $(BUILD_DIR)/make-test.start) ))" >> $(TIMES_FILE)
	@echo; echo "==================== make test summary ===================="; \
	pass=0; fail=0; \
	for d in $(BUILD_DIR) $(ASAN_DIR); do \
	  line=$$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' $$d/ctest.log | tail -1 || true); \
	  if [ -z "$$line" ]; then line="no tests were found"; \
	  else \
	    tot=$$(echo "$$line" | sed -E 's/.*out of ([0-9]+).*/\1/'); \
	    f=$$(echo "$$line" | sed -E 's/.* ([0-9]+) tests? failed.*/\1/'); \
	    pass=$$((pass + tot - f)); fail=$$((fail + f)); \
	  fi; \
	  printf '%-12s ctest: %s\n' "$$d/" "$$line"; \
	done; \
	printf 'phase times (s):'; while read -r n t; do printf ' %s=%s' "$$n" "$$t"; done < $(TIMES_FILE); echo; \
	fz=$$(cat $(FUZZ_DIR)/fuzz.summary 2>/dev/null || echo "fuzz-smoke: no summary"); echo "$$fz"; \
	cat $(BUILD_DIR)/deb/test-deb.summary 2>/dev/null || echo "test-deb: no summary"; \
	echo "test: $$pass passed, $$fail failed"

# ---------------------------------------------------------------------------------------------------------
# Install from source (packaging/install.cmake). The manifest is kept as install_manifest.make.txt because
# every `cmake --install` of the tree (test_install does one) rewrites install_manifest.txt.
PREFIX  ?= /usr/local
DESTDIR ?=
install: build
	DESTDIR="$(DESTDIR)" $(CMAKE) --install $(BUILD_DIR) --prefix "$(PREFIX)"
	cp $(BUILD_DIR)/install_manifest.txt $(BUILD_DIR)/install_manifest.make.txt
	@# The dynamic linker's cache must learn libdicomveil.so.X (e.g. in /usr/local/lib) for programs to run.
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

uninstall:
	bash tools/uninstall.sh $(BUILD_DIR)/install_manifest.make.txt
	@if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ]; then ldconfig; fi

deb: build
	bash packaging/deb/build.sh $(BUILD_DIR) $(BUILD_DIR)/deb

# Installs the package on this machine and purges it again (root; waits for the dpkg lock). Not a ctest:
# the normal and ASan ctest runs would install it twice at once.
test-deb: deb
	DV_SOURCE_DIR=$(CURDIR) DV_DEB_DIR=$(BUILD_DIR)/deb bash tests/integration/test_deb.sh

# ---------------------------------------------------------------------------------------------------------
demo: deps build
	PYTHON=$(PYTHON) bash tools/demo.sh

bench: deps build
	bash bench/run.sh
	bash bench/peers.sh
	bash bench/ab.sh
	bash bench/text.sh
	bash bench/redact.sh
	bash bench/pixel_classify.sh
	bash bench/server_load.sh
	bash bench/mpi.sh
	bash bench/startup.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)

distclean: clean
