# FaceSeal: two commands set everything up, `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-deps 'insightface==2.1'
	touch $(STAMP)

system-deps:
	bash scripts/system-deps.sh

run: system-deps $(STAMP)
	$(BIN)/faceseal status

# pytest exits 5 when it collected no test: make treats that as the failure it is.
test: system-deps $(STAMP)
	$(BIN)/python -m pytest

bench: system-deps $(STAMP)
	$(BIN)/python -m benchmarks $(SUITES)

clean:
	rm -rf $(VENV) build *.egg-info
