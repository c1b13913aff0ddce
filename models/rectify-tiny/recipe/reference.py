"""Torch reference values for the Java/ORT parity tests -> recipe/reference.json.

Checks on the way (asserts): KV-cache decoding reproduces no-cache logits (1e-4); a left-padded
batch row reproduces the unpadded prompt's logits (1e-4); greedy with and without cache agree.

Usage: reference.py BUILD_DIR MODEL_DIR
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
from model import Config, LlamaForCausalLM, greedy, positions_from_mask  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

PROMPTS = ["What is 47 + 38?", "Compute 23 x 4."]
PAD = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("model_dir")
    ap.add_argument("--out", default=os.path.join(HERE, "reference.json"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    tok = Tokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
    cfg = Config(vocab_size=len(tok.vocab))
    model = LlamaForCausalLM(cfg)
    model.load_state_dict(torch.load(os.path.join(args.build_dir, "model.pt"), map_location="cpu"))
    model.eval()

    out = {"description": "torch (fp32) reference values for rectify-tiny; prompts are ChatML-templated "
                          "with add_generation_prompt; position_ids = cumsum(attention_mask) - 1, "
                          "clamped at 0 for padding; greedy tokens use model_with_past-style KV cache "
                          "and stop early only on eos (none within 8 tokens here).",
           "torch": torch.__version__, "pad_token_id": PAD, "prompts": []}
    rows = []
    with torch.no_grad():
        for q in PROMPTS:
            text = corpus.chatml([{"role": "user", "content": q}], add_generation_prompt=True)
            ids = tok.encode(text)
            x = torch.tensor([ids])
            m = torch.ones_like(x)
            logits, _ = model(x, m, positions_from_mask(m))
            last = logits[0, -1]
            g = greedy(model, ids, 8, eos_ids=())
            g_nocache = greedy(model, ids, 8, eos_ids=(), use_cache=False)
            assert g == g_nocache, (g, g_nocache)
            # KV-cache parity over a whole continuation: cached step logits vs full recompute
            full_ids = torch.tensor([ids + g])
            fm = torch.ones_like(full_ids)
            full, _ = model(full_ids, fm, positions_from_mask(fm))
            lg, past = model(x, m, positions_from_mask(m))
            steps = [lg[0, -1]]
            mm = m
            for t in g[:-1]:
                mm = torch.cat([mm, torch.ones(1, 1, dtype=torch.long)], 1)
                lg, past = model(torch.tensor([[t]]), mm, mm.sum(-1, keepdim=True) - 1, past)
                steps.append(lg[0, -1])
            kv_diff = (torch.stack(steps) - full[0, len(ids) - 1:len(ids) + len(g) - 1]).abs().max().item()
            assert kv_diff < 1e-4, kv_diff
            print(f"{q!r}: {len(ids)} ids, greedy {g} = {tok.decode(g)!r}, kv-vs-full max diff {kv_diff:.2e}")
            out["prompts"].append({"text": text, "input_ids": ids, "last_logits": [float(v) for v in last],
                                   "greedy_8": g, "greedy_8_text": tok.decode(g), "kv_max_abs_diff": kv_diff})
            rows.append((ids, last))

        T = max(len(r[0]) for r in rows)
        ids = torch.tensor([[PAD] * (T - len(r[0])) + r[0] for r in rows])
        mask = torch.tensor([[0] * (T - len(r[0])) + [1] * len(r[0]) for r in rows])
        pos = positions_from_mask(mask)
        logits, _ = model(ids, mask, pos)
        batch = {"input_ids": ids.tolist(), "attention_mask": mask.tolist(), "position_ids": pos.tolist(),
                 "last_logits": [[float(v) for v in logits[i, -1]] for i in range(len(rows))]}
        for i, (_, last) in enumerate(rows):
            d = (logits[i, -1] - last).abs().max().item()
            assert d < 1e-4, d
            print(f"left-padded row {i}: max diff vs unpadded {d:.2e}")
        out["left_padded_batch"] = batch
    out["tolerance_hint"] = {"logits_abs": 1e-3}
    with open(args.out, "w") as f:
        json.dump(out, f)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
