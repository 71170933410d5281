"""The local engine: an llm job without an endpoint runs a transformers model from its
commit. Skips cleanly unless the optional extra (transformers, torch) is installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assay import hub
from tests.integration.evaluators.helpers import commit_dir

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

WORDS = ["[PAD]", "[UNK]", "[EOS]", "user", ":", "assistant", "2", "+", "?", "4", "hi", "yes"]


def _tiny_model(directory: Path) -> transformers.PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", eos_token="[EOS]"
    )
    torch.manual_seed(0)
    config = transformers.GPT2Config(
        vocab_size=len(WORDS),
        n_positions=64,
        n_embd=16,
        n_layer=1,
        n_head=2,
        eos_token_id=2,
        bos_token_id=2,
        pad_token_id=0,
    )
    transformers.GPT2LMHeadModel(config).save_pretrained(directory)
    fast.save_pretrained(directory)
    return fast


def test_an_llm_job_runs_a_committed_transformers_model(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = tmp_path / "tiny"
    model_dir.mkdir()
    _tiny_model(model_dir)
    commit_dir("model", "llm", "tiny", model_dir, monkeypatch)
    data = tmp_path / "d"
    data.mkdir()
    lines = [{"id": "a", "prompt": "2 + 2 ?", "reference": "4"}, {"id": "b", "prompt": "hi"}]
    (data / "data.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    commit_dir("dataset", "qa", "d", data, monkeypatch)
    job = hub.create_job(
        name="local",
        type="llm",
        model="llm/tiny",
        dataset="qa/d",
        params={"scoring": "exact", "max_tokens": 5, "batch_size": 2},
    )
    v = job.get_version("V0001").wait(timeout=600)
    assert v.status == "Completed", v.data["message"]
    # The same greedy generation, done here directly, gives the same replies.
    model = transformers.AutoModelForCausalLM.from_pretrained(model_dir).eval()
    tok = transformers.AutoTokenizer.from_pretrained(model_dir)
    tok.padding_side = "left"
    prompts = [f"user: {x['prompt']}\nassistant:" for x in lines]
    enc = tok(prompts, return_tensors="pt", padding=True)
    out = model.generate(**enc, max_new_tokens=5, do_sample=False, pad_token_id=0)
    expected = [
        t.strip()
        for t in tok.batch_decode(out[:, enc["input_ids"].shape[1] :], skip_special_tokens=True)
    ]
    rows = {r["id"]: r for r in hub.list_samples(v.data["evaluationId"], limit=10)}
    assert [rows["a"]["reply"], rows["b"]["reply"]] == expected
    assert v.metrics["tokens.prompt"] == int(enc["attention_mask"].sum())
    assert v.metrics["cost"] == 0.0 and v.metrics["error_rate"] == 0.0
    ev = hub.get_evaluation(v.data["evaluationId"])
    assert ev["modelRef"].endswith("llm/tiny:branch/main")  # bound to the model commit
