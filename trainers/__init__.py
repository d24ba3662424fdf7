"""Training and evaluation on the curated pools: rewards, SFT, GRPO (+ T-GRPO, DGRPO) and eval.

Importing this package is cheap; torch, transformers and TRL load only in the modules that need them.
"""
