"""Base-model exact-match accuracy on data/math/*.jsonl (greedy, torch, ChatML prompt).

The weights are read from MODEL_DIR/model.onnx (the shipped file). Prompts are decoded in left-padded
batches with a KV cache (position_ids = cumsum(mask) - 1). A prediction is the number after the last
"Answer:" in the completion (up to <|im_end|>); exact match compares it with the "answer" field.

Usage: eval_math.py MODEL_DIR DATA_DIR [--splits heldout ood] [--out recipe/eval-base.json]
"""
import argparse
import json
import os
import re
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
from model import Config, LlamaForCausalLM, positions_from_mask  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

ANSWER_RE = re.compile(r"Answer:\s*(-?\d+)")


def load_from_onnx(model_dir, cfg):
    import onnx
    from onnx import numpy_helper
    model = LlamaForCausalLM(cfg)
    params = dict(model.named_parameters())
    sd = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy())
          for t in onnx.load(os.path.join(model_dir, "model.onnx")).graph.initializer if t.name in params}
    missing = set(params) - set(sd) - {"lm_head.weight"}
    assert not missing, missing
    model.load_state_dict(sd, strict=False)
    return model.eval()


@torch.no_grad()
def batch_greedy(model, prompts, max_new, eos, pad=0):
    T = max(map(len, prompts))
    ids = torch.tensor([[pad] * (T - len(p)) + p for p in prompts])
    mask = torch.tensor([[0] * (T - len(p)) + [1] * len(p) for p in prompts])
    logits, past = model(ids, mask, positions_from_mask(mask))
    outs = [[] for _ in prompts]
    done = [False] * len(prompts)
    for _ in range(max_new):
        nxt = logits[:, -1].argmax(-1)
        for i, t in enumerate(nxt.tolist()):
            if not done[i]:
                outs[i].append(t)
                done[i] = t in eos
        if all(done):
            break
        inp = nxt.unsqueeze(1)
        mask = torch.cat([mask, torch.ones_like(inp)], 1)
        logits, past = model(inp, mask, mask.sum(-1, keepdim=True) - 1, past)
    return outs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("data_dir")
    ap.add_argument("--splits", nargs="*", default=["heldout", "ood"])
    ap.add_argument("--max-new-tokens", type=int, default=200)
    ap.add_argument("--batch", type=int, default=25)
    ap.add_argument("--pretrain-n", type=int, default=200)
    ap.add_argument("--out", default=os.path.join(HERE, "eval-base.json"))
    args = ap.parse_args()
    torch.set_num_threads(2)
    tok = Tokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
    model = load_from_onnx(args.model_dir, Config(vocab_size=len(tok.vocab)))
    eos = {tok.vocab["<|im_end|>"], tok.vocab["<|endoftext|>"]}
    result = {"decoding": "greedy, ChatML user turn + assistant generation prompt, "
                          f"max_new_tokens {args.max_new_tokens}", "splits": {}}
    for split in args.splits + ["pretrain-distribution"]:
        if split == "pretrain-distribution":
            # fresh problems drawn from the pretraining generator (mostly 1-2 digit operands)
            import random
            rng = random.Random(99)
            rows = []
            for _ in range(args.pretrain_n):
                q, _expr, sol = corpus.arithmetic(rng)
                kind = {"Add": "add", "Sub": "subtract", "Mul": "multiply", "Ste": "follow"}.get(sol[:3], "multiply")
                rows.append({"prompt": q, "completion": "x " + kind, "answer": sol.rsplit("Answer: ", 1)[1]})
        else:
            rows = [json.loads(l) for l in open(os.path.join(args.data_dir, f"{split}.jsonl"))]
        prompts = [tok.encode(corpus.chatml([{"role": "user", "content": r["prompt"]}], True)) for r in rows]
        t0 = time.time()
        outs = []
        for i in range(0, len(prompts), args.batch):
            outs += batch_greedy(model, prompts[i:i + args.batch], args.max_new_tokens, eos)
        correct = formatted = 0
        examples = []
        by_kind = {}
        for r, o in zip(rows, outs):
            kind = {"add": "addition", "subtract": "subtraction", "multiply": "multiplication",
                    "follow": "word problem"}[r["completion"].split()[1]]
            text = tok.decode([t for t in o if t not in eos])
            m = ANSWER_RE.findall(text)
            pred = m[-1] if m else None
            formatted += pred is not None
            correct += pred == r["answer"]
            k = by_kind.setdefault(kind, [0, 0])
            k[0] += pred == r["answer"]
            k[1] += 1
            if len(examples) < 4:
                examples.append({"prompt": r["prompt"], "answer": r["answer"], "prediction": pred,
                                 "completion": text})
        result["splits"][split] = {"n": len(rows), "exact_match": round(correct / len(rows), 4),
                                   "has_answer_line": round(formatted / len(rows), 4),
                                   "by_kind": {k: f"{c}/{n}" for k, (c, n) in sorted(by_kind.items())},
                                   "seconds": round(time.time() - t0, 1), "examples": examples}
        print(split, {k: v for k, v in result["splits"][split].items() if k != "examples"}, flush=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
