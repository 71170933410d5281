"""The llm job type: an OpenAI-compatible endpoint answers a JSONL dataset, scored by rules
and by a judge endpoint. See docs/llm.md."""
