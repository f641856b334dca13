# crosscam: the two commands of the README's quick start are `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
DEMO_DIR ?= runs/demo

.PHONY: demo test lint bench venv clean system-deps

venv: $(STAMP)

# Re-installs only when pyproject.toml changes. torch/torchvision first: they are pinned builds
# that pip takes from the local disk, and installing them alone keeps the resolver from pulling
# any other torch.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -m pip install --quiet torch==2.14.1 torchvision==0.29.1 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -m pip install --quiet -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
	$(BIN)/python -c "import torch, torchvision, cv2, motmetrics, trackeval, service.cli"
	@touch $@

demo: $(STAMP)
	$(BIN)/crosscam demo --out $(DEMO_DIR)

# System programs the tests use (ffmpeg, a real RTSP server); installs only what is missing.
system-deps:
	@bash scripts/install-system-deps.sh

test: $(STAMP) system-deps
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/hadolint --failure-threshold info docker/Dockerfile.cpu docker/Dockerfile.gpu

bench: $(STAMP)
	$(BIN)/python bench/synth_presets.py --presets default hard night
	$(BIN)/python bench/sct.py

clean:
	rm -rf runs .pytest_cache .ruff_cache
