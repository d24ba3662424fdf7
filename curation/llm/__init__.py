"""LLM backends behind one interface: the embedded SmolLM2, a local Hugging Face model, an HTTP endpoint."""
