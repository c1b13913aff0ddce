"""Pretrain rectify-tiny on the synthetic corpus (CPU, 2 threads, fixed seed).

Usage: pretrain.py BUILD_DIR MODEL_DIR [--steps N] [--batch 32] [--seq 256] [--lr 3e-3]
Reads BUILD_DIR/corpus/{train,heldout}.txt and MODEL_DIR/tokenizer.json; writes BUILD_DIR/model.pt
and recipe/pretrain-log.json.
"""
import argparse
import json
import math
import os
import random
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import corpus  # noqa: E402
from model import Config, LlamaForCausalLM, greedy  # noqa: E402
from tokenizer import Tokenizer  # noqa: E402

SAMPLE_PROMPTS = ["What is 47 + 38?", "What is 52 - 17?", "Compute 23 x 4.", "What is 8 x 7?",
                  "Add 365 and 248.",
                  "Mia has 25 stickers. Mia finds 17 more stickers. Mia gives away 9 stickers. "
                  "How many stickers does Mia have now?"]


def encode_docs(tok, docs):
    ids = []
    for d in docs:
        ids.extend(tok.encode(d))
    return np.array(ids, dtype=np.int64)


def chat_prompt(q):
    return corpus.chatml([{"role": "user", "content": q}], add_generation_prompt=True)


def batches(stream, batch, seq, rng):
    n = len(stream) - seq - 1
    while True:
        starts = rng.integers(0, n, size=batch)
        x = np.stack([stream[s:s + seq + 1] for s in starts])
        yield torch.from_numpy(x)


@torch.no_grad()
def evaluate(model, windows):
    model.eval()
    tot, cnt = 0.0, 0
    for w in windows:
        w = w.to(next(model.parameters()).device)
        x = w[:, :-1]
        y = w[:, 1:]
        m = torch.ones_like(x)
        pos = torch.arange(x.shape[1], device=x.device).unsqueeze(0).expand_as(x)
        logits, _ = model(x, m, pos)
        tot += torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                                 reduction="sum").item()
        cnt += y.numel()
    model.train()
    return tot / cnt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("model_dir")
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--seq", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--warmup", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu (the recipe's reference) or cuda")
    ap.add_argument("--log", default=os.path.join(HERE, "pretrain-log.json"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    random.seed(args.seed)

    tok = Tokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
    t0 = time.time()
    train_docs = corpus.read_docs(os.path.join(args.build_dir, "corpus", "train.txt"))
    held_docs = corpus.read_docs(os.path.join(args.build_dir, "corpus", "heldout.txt"))
    train = encode_docs(tok, train_docs)
    held = encode_docs(tok, held_docs)
    print(f"tokenized: train {len(train)} tokens ({len(train_docs)} docs), heldout {len(held)} tokens "
          f"in {time.time() - t0:.1f}s", flush=True)

    cfg = Config(vocab_size=len(tok.vocab))
    device = torch.device(args.device)
    model = LlamaForCausalLM(cfg).to(device)
    nparams = model.num_parameters()
    print(f"parameters: {nparams}", flush=True)

    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=args.lr, betas=(0.9, 0.95), eps=1e-8)

    def lr_at(step):
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        p = (step - args.warmup) / max(1, args.steps - args.warmup)
        return args.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * p)))

    held_rng = np.random.default_rng(args.seed + 7)
    held_windows = [next(batches(held, 16, args.seq, held_rng)) for _ in range(4)]
    train_eval_rng = np.random.default_rng(args.seed + 8)
    train_windows = [next(batches(train, 16, args.seq, train_eval_rng)) for _ in range(4)]

    it = batches(train, args.batch, args.seq, rng)
    history = []
    t_train = time.time()
    ema = None
    for step in range(args.steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        w = next(it).to(device)
        x, y = w[:, :-1], w[:, 1:]
        m = torch.ones_like(x)
        pos = torch.arange(x.shape[1], device=device).unsqueeze(0).expand_as(x)
        logits, _ = model(x, m, pos)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        ema = loss.item() if ema is None else 0.95 * ema + 0.05 * loss.item()
        if step % 25 == 0 or step == args.steps - 1:
            el = time.time() - t_train
            print(f"step {step} loss {loss.item():.4f} ema {ema:.4f} lr {lr_at(step):.2e} "
                  f"{el:.0f}s ({el / (step + 1):.2f}s/step)", flush=True)
        if (step + 1) % 250 == 0 or step == args.steps - 1:
            hl = evaluate(model, held_windows)
            history.append({"step": step + 1, "train_loss_ema": round(ema, 4), "heldout_loss": round(hl, 4),
                            "seconds": round(time.time() - t_train, 1)})
            print("eval", history[-1], flush=True)
            torch.save({k: v.cpu() for k, v in model.state_dict().items()}, os.path.join(args.build_dir, "model.pt"))
    train_seconds = time.time() - t_train

    final_train = evaluate(model, train_windows)
    final_held = evaluate(model, held_windows)
    model.eval()
    samples = []
    for q in SAMPLE_PROMPTS:
        ids = tok.encode(chat_prompt(q))
        out = greedy(model, ids, 160)
        samples.append({"prompt": q, "completion": tok.decode(out)})
        print("----", q, "\n" + samples[-1]["completion"], flush=True)
    torch.save({k: v.cpu() for k, v in model.state_dict().items()}, os.path.join(args.build_dir, "model.pt"))
    log = {
        "parameters": nparams,
        "config": cfg.to_dict(),
        "corpus": {"train_docs": len(train_docs), "train_tokens": int(len(train)),
                   "heldout_docs": len(held_docs), "heldout_tokens": int(len(held)),
                   "train_chars": sum(map(len, train_docs))},
        "optimizer": {"type": "AdamW", "lr": args.lr, "betas": [0.9, 0.95], "weight_decay": 0.1,
                      "warmup": args.warmup, "schedule": "cosine to 10%", "grad_clip": 1.0},
        "steps": args.steps, "batch": args.batch, "seq": args.seq,
        "tokens_seen": args.steps * args.batch * args.seq,
        "threads": args.threads, "torch": torch.__version__, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu", "seed": args.seed,
        "train_seconds": round(train_seconds, 1),
        "final_train_loss": round(final_train, 4), "final_heldout_loss": round(final_held, 4),
        "history": history, "samples": samples,
    }
    with open(args.log, "w") as f:
        json.dump(log, f, indent=1)
    print(json.dumps({k: log[k] for k in ("steps", "tokens_seen", "train_seconds", "final_train_loss",
                                          "final_heldout_loss")}))


if __name__ == "__main__":
    main()
