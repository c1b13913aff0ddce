#!/usr/bin/env python3
"""PyTorch peer for the training benchmark (TrainBench): LoRA fine-tuning steps on the same ONNX model's
weights, the same batch, the same objective and the same AdamW settings as Rectify.

Two commands:

  export  writes a random-weight Llama (the architecture of models/rectify-tiny/recipe/model.py) as
          DIR/model.onnx (opset 17, no constant folding, weights inline with their parameter names, inputs
          input_ids/attention_mask/position_ids -> logits) plus DIR/config.json. Skipped when DIR already
          holds the same config.

    /usr/bin/python3 src-test/bench/torch_train_peer.py export DIR --layers 8 --hidden 512 \
        --intermediate 1408 --heads 8 --kv-heads 4 --head-dim 64 --vocab 8192 [--seed 0]

  train   times LoRA training steps (forward, backward, global-norm clipping, AdamW) on the model in
          --model-dir, whose weights are read from its model.onnx initializers (so they are exactly the
          weights Rectify trains). BATCH.json is {"input_ids": [[...], ...]}; the attention mask is all ones,
          position ids 0..L-1, labels the next token (already shifted, the last position ignored), as in
          TrainBench. SFT = mean NLL over the valid tokens; DFT = mean of -sg(p_t) log p_t. The objectives
          are run alternately step by step, so both see the same machine load.

    /usr/bin/python3 src-test/bench/torch_train_peer.py train BATCH.json --model-dir DIR --threads 2 \
        [--rank 8] [--alpha 16] [--warmup 2] [--steps 5] [--lr 1e-4] [--max-grad-norm 1.0] [--full false]

The last line of stdout is one JSON object; it includes peak_rss_load_kb (VmHWM after loading the weights and
injecting LoRA) and peak_rss_train_kb (VmHWM of the training steps alone: the high-water mark is reset through
/proc/self/clear_refs after loading), used by the scale benchmark (ScaleBench). Set OMP_NUM_THREADS/OPENBLAS_NUM_THREADS to --threads in the
environment (TrainBench does) so that OpenBLAS uses the same number of threads as torch and Rectify.
OMP_WAIT_POLICY defaults to PASSIVE here (see below): with libgomp spinning, steps were 3-6x slower.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

# libgomp's default spin-waiting, with OpenBLAS's own pthreads beside it, makes torch 1.13 steps 3-6x slower and
# erratic on a 2-core machine (measured: 10.6 s vs 1.86 s per step for the 30M model). Passive waiting is the fair
# setting; it must be in the environment before torch (libgomp) is loaded.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
RECIPE = os.path.join(ROOT, "models", "rectify-tiny", "recipe")
sys.path.insert(0, HERE)
sys.path.insert(0, RECIPE)

from torch_decode_peer import blas_report, load_weights, read_initializers  # noqa: E402
from model import Config, LlamaForCausalLM, positions_from_mask  # noqa: E402

TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class NoCache(LlamaForCausalLM):
    def forward(self, input_ids, attention_mask, position_ids):
        logits, _ = super().forward(input_ids, attention_mask, position_ids)
        return logits


# ---- export ----

def initializer_names(path):
    """The initializer names of an ONNX file, without reading external weights (a 1.5B export would otherwise hold
    the torch model and two copies of its weights at once)."""
    try:
        import onnx
        return {t.name for t in onnx.load(path, load_external_data=False).graph.initializer}
    except ImportError:
        return set(read_initializers(path)[0])


def cmd_export(args):
    cfg = Config(vocab_size=args.vocab, hidden_size=args.hidden, intermediate_size=args.intermediate,
                 num_hidden_layers=args.layers, num_attention_heads=args.heads, num_key_value_heads=args.kv_heads,
                 head_dim=args.head_dim, max_position_embeddings=args.max_positions)
    want = dict(cfg.to_dict(), seed=args.seed, tie_word_embeddings=True, eos_token_id=[2, 0], bos_token_id=0,
                pad_token_id=0, model_type="llama")
    os.makedirs(args.dir, exist_ok=True)
    onnx_path = os.path.join(args.dir, "model.onnx")
    cfg_path = os.path.join(args.dir, "config.json")
    if os.path.exists(onnx_path) and os.path.exists(cfg_path):
        with open(cfg_path) as f:
            if json.load(f) == want:
                print(f"export: {onnx_path} is up to date")
                print(json.dumps({"model": onnx_path, "cached": True}))
                return
    torch.manual_seed(args.seed)
    m = NoCache(cfg).eval()
    with torch.no_grad():
        # norm weights of 1 + noise: identical all-ones tensors would be merged into one initializer by the exporter
        for name, p in m.named_parameters():
            if name.endswith("norm.weight"):
                p.add_(torch.randn_like(p) * 0.02)
    n = m.num_parameters()
    B, L = 3, 7  # trace shapes distinct from every model constant
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, cfg.vocab_size, (B, L), generator=g)
    mask = torch.ones(B, L, dtype=torch.long)
    pos = positions_from_mask(mask)
    t0 = time.perf_counter()
    tmp = onnx_path + ".tmp"
    kwargs = dict(input_names=["input_ids", "attention_mask", "position_ids"], output_names=["logits"],
                  dynamic_axes={k: {0: "batch", 1: "sequence"} for k in ("input_ids", "attention_mask", "position_ids",
                                                                         "logits")},
                  opset_version=17, do_constant_folding=False)
    if int(torch.__version__.split(".")[0]) >= 2:
        kwargs["dynamo"] = False  # torch 2.x: the TorchScript exporter, as Debian's 1.13 uses
    with torch.no_grad():
        torch.onnx.export(m, (ids, mask, pos), tmp, **kwargs)
    os.replace(tmp, onnx_path)
    inits = initializer_names(onnx_path)
    missing = [k for k, _ in m.named_parameters() if k not in inits and k != "lm_head.weight"]
    if missing:
        raise SystemExit(f"export lost parameter names (merged initializers?): {missing[:5]}")
    with open(cfg_path, "w") as f:
        json.dump(want, f, indent=1)
    print(f"export: {args.layers} layers, hidden {args.hidden}, vocab {args.vocab}: {n} parameters -> {onnx_path} "
          f"({time.perf_counter() - t0:.1f} s)")
    print(json.dumps({"model": onnx_path, "parameters": n, "cached": False}))


# ---- train ----

class LoraLinear(nn.Module):
    """y = W x + (alpha / r) * B (A x), W frozen; A as PEFT (kaiming-uniform a=sqrt(5)), B zero."""

    def __init__(self, base, r, alpha):
        super().__init__()
        self.base = base
        self.base.weight.requires_grad_(False)
        self.scaling = alpha / r
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scaling


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        j = json.load(f)
    cfg = Config(**{k: j[k] for k in Config().__dict__ if k in j})
    model = NoCache(cfg)
    n, reader = load_weights(model, model_dir)
    print(f"loaded {n} tensors ({model.num_parameters()} parameters) from {model_dir}/model.onnx via {reader}")
    return model, cfg


def inject_lora(model, r, alpha):
    for p in model.parameters():
        p.requires_grad_(False)
    count = 0
    for name, module in list(model.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, nn.Linear) and child_name in TARGETS:
                setattr(module, child_name, LoraLinear(child, r, alpha))
                count += 1
    trainable = [p for p in model.parameters() if p.requires_grad]
    return count, trainable


def vm_kb(field):
    """A /proc/self/status field in kB (VmRSS, VmHWM), or -1 where there is no /proc."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def reset_peak_rss():
    """Resets VmHWM to the current RSS (Linux: writing 5 to /proc/self/clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def objective_loss(logits, labels, objective):
    nll = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                                      ignore_index=-100, reduction="none")
    valid = (labels.reshape(-1) != -100)
    n = valid.sum().clamp(min=1)
    nll_mean = nll.sum() / n
    if objective == "sft":
        return nll_mean, nll_mean
    p = torch.exp(-nll).detach() * valid  # p_t of the label, no gradient
    return (p * nll).sum() / n, nll_mean


def cmd_train(args):
    torch.set_num_threads(args.threads)
    libs = blas_report()
    print(f"threads: torch {torch.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}, "
          f"OMP_WAIT_POLICY={os.environ.get('OMP_WAIT_POLICY')}")
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    model, cfg = load_model(args.model_dir)
    if args.full == "true":
        adapted, trainable = 0, [p for p in model.parameters()]
        for p in trainable:
            p.requires_grad_(True)
    else:
        adapted, trainable = inject_lora(model, args.rank, args.alpha)
    model.to(dev)
    if dev.type == "cuda":
        print(f"device: {torch.cuda.get_device_name(dev)}")
    n_train = sum(p.numel() for p in trainable)
    print(f"full fine-tuning: {n_train} trainable parameters" if args.full == "true" else
          f"LoRA r={args.rank} alpha={args.alpha} on {adapted} projections: {n_train} trainable parameters")
    model.train()
    opt = torch.optim.AdamW(trainable, lr=args.lr, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.01)

    with open(args.batch) as f:
        ids = torch.tensor(json.load(f)["input_ids"], dtype=torch.long)
    mask = torch.ones_like(ids)
    pos = positions_from_mask(mask)
    labels = torch.full_like(ids, -100)
    labels[:, :-1] = ids[:, 1:]
    ids, mask, pos, labels = ids.to(dev), mask.to(dev), pos.to(dev), labels.to(dev)
    tokens = int(mask.sum())
    import gc
    gc.collect()
    peak_load = vm_kb("VmHWM")
    reset_peak_rss()
    print(f"batch {tuple(ids.shape)}, {tokens} tokens, {int((labels != -100).sum())} targets")

    def step(objective):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        logits = model(ids, mask, pos)
        loss, nll = objective_loss(logits, labels, objective)
        loss.backward()
        if args.max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(trainable, args.max_grad_norm)
        opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)
        return time.perf_counter() - t0, float(loss), float(nll)

    objectives = args.objectives.split(",")
    times = {o: [] for o in objectives}
    first = {}
    for i in range(args.warmup + args.steps):
        for o in objectives:
            dt, loss, nll = step(o)
            first.setdefault(o, {"loss": loss, "nll": nll})
            if i >= args.warmup:
                times[o].append(dt)
            print(f"step {i + 1} {o}: {dt:.3f} s, loss {loss:.5f}, nll {nll:.5f}"
                  f"{'' if i >= args.warmup else ' (warmup)'}")
    result = {"peer": "pytorch", "torch": torch.__version__, "blas": libs, "threads": torch.get_num_threads(),
              "tokens_per_step": tokens, "trainable_parameters": n_train, "parameters": model.num_parameters(),
              "lora_modules": adapted, "peak_rss_load_kb": peak_load, "peak_rss_train_kb": vm_kb("VmHWM")}
    for o in objectives:
        med = statistics.median(times[o])
        result[o] = {"step_s": med, "tokens_per_s": tokens / med, "steps_s": times[o],
                     "first_loss": first[o]["loss"], "first_nll": first[o]["nll"]}
    print(json.dumps(result))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("export")
    e.add_argument("dir")
    e.add_argument("--layers", type=int, default=2)
    e.add_argument("--hidden", type=int, default=128)
    e.add_argument("--intermediate", type=int, default=352)
    e.add_argument("--heads", type=int, default=4)
    e.add_argument("--kv-heads", type=int, default=2)
    e.add_argument("--head-dim", type=int, default=32)
    e.add_argument("--vocab", type=int, default=512)
    e.add_argument("--max-positions", type=int, default=512)
    e.add_argument("--seed", type=int, default=0)
    t = sub.add_parser("train")
    t.add_argument("batch")
    t.add_argument("--model-dir", required=True)
    t.add_argument("--threads", type=int, default=2)
    t.add_argument("--rank", type=int, default=8)
    t.add_argument("--alpha", type=float, default=16)
    t.add_argument("--warmup", type=int, default=2)
    t.add_argument("--steps", type=int, default=5)
    t.add_argument("--lr", type=float, default=1e-4)
    t.add_argument("--max-grad-norm", type=float, default=1.0)
    t.add_argument("--objectives", default="sft,dft")
    t.add_argument("--full", default="false", help="true: train every parameter (no LoRA)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--device", default="cpu", help="cpu or cuda")
    args = ap.parse_args()
    if args.cmd == "export":
        cmd_export(args)
    else:
        cmd_train(args)


if __name__ == "__main__":
    main()
