"""What every stage must agree on about LoRA adapters, whichever stage trains, samples or serves them."""

# Ranks vLLM accepts for LoRA adapters (`--max-lora-rank` choices); any other rank cannot be served.
VLLM_LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
