#!/usr/bin/env python3
"""PyTorch peer for the decode benchmark: greedy decoding with a KV cache on rectify-tiny.

Weights come from the initializers of models/rectify-tiny/model.onnx (read with python3-onnx), so the
peer runs exactly the weights Rectify serves; the architecture is models/rectify-tiny/recipe/model.py.

  /usr/bin/python3 src-test/bench/torch_decode_peer.py [PROMPTS.json] [--threads 2]
      [--max-new-tokens 64] [--warmup 2] [--runs 5] [--device cpu|cuda] [--stop-at-eos]

PROMPTS.json: a list of token-id lists, or {"prompts": [[ids...], ...]}, or a reference.json-style
{"prompts": [{"input_ids": [...]}, ...]}. Without it, a default list of ChatML math prompts is used.
Each prompt is decoded at batch size 1, one after the other. By default EOS is ignored so that every
prompt produces exactly --max-new-tokens tokens (the Java side must do the same for a fair ratio).

Metrics (median over the timed runs):
  first_token_latency_ms: prefill of the prompt + choosing the first new token, mean over prompts;
  decode_tokens_per_s:    (new tokens - 1 per prompt) / (time after the first token), over all prompts.
The last line of stdout is one JSON object.
"""
import argparse
import json
import os
import statistics
import sys
import time

# libgomp's spin-waiting slows torch on a shared 2-core machine (first-token latency 14 ms vs 2.7 ms measured);
# passive waiting is the fair setting, as in torch_train_peer.py. It must be set before torch loads.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
DEFAULT_MODEL_DIR = os.path.join(ROOT, "models", "rectify-tiny")
DEFAULT_QUESTIONS = ["What is 47 + 38?", "Compute 23 x 4.", "What is 52 - 17?",
                     "Mia has 25 stickers. Mia finds 17 more stickers. Mia gives away 9 stickers. "
                     "How many stickers does Mia have now?"]


def blas_report():
    cfg = torch.__config__.show().splitlines()
    print("torch", torch.__version__)
    for line in cfg[:12]:
        print("  " + line)
    for line in cfg:
        if "BLAS" in line or "LAPACK" in line:
            print("  " + line.strip())
    # which BLAS shared objects are really mapped into this process
    torch.ones(64, 64) @ torch.ones(64, 64)
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                base = os.path.basename(p)
                if any(k in base for k in ("blas", "lapack", "mkl", "blis")):
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    print("BLAS libraries mapped:", sorted(libs) or "none found")
    return sorted(libs)


def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf):
    """Minimal protobuf wire-format reader: yields (field_number, wire_type, value)."""
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        fn, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"unsupported wire type {wt}")
        yield fn, wt, v


def read_initializers(path):
    """name -> numpy array for the float32 raw_data initializers of an ONNX file. Uses python3-onnx when
    present, else a tiny protobuf reader (ModelProto.graph=7, GraphProto.initializer=5, TensorProto:
    dims=1, data_type=2, name=8, raw_data=9)."""
    import numpy as np
    try:
        import onnx
        from onnx import numpy_helper
        proto = onnx.load(path)
        return {t.name: numpy_helper.to_array(t) for t in proto.graph.initializer}, "python3-onnx " + onnx.__version__
    except ImportError:
        pass
    with open(path, "rb") as f:
        buf = memoryview(f.read())
    graph = next(v for fn, wt, v in _fields(buf) if fn == 7)
    out = {}
    for fn, wt, t in _fields(graph):
        if fn != 5:
            continue
        dims, dtype, name, raw = [], None, None, None
        for tf, twt, tv in _fields(t):
            if tf == 1:
                if twt == 2:  # packed
                    j = 0
                    while j < len(tv):
                        d, j = _varint(tv, j)
                        dims.append(d)
                else:
                    dims.append(tv)
            elif tf == 2:
                dtype = tv
            elif tf == 8:
                name = bytes(tv).decode()
            elif tf == 9:
                raw = bytes(tv)
        if dtype == 1 and raw is not None:
            out[name] = np.frombuffer(raw, dtype="<f4").reshape(dims)
    return out, "built-in protobuf reader (python3-onnx not installed)"


def load_weights(model, model_dir, tied=True):
    """Copies model_dir/model.onnx's initializers into the torch model's parameters of the same names (shapes
    checked; every parameter must be found, except a tied lm_head). Returns (tensor count, reader description)."""
    inits, reader = read_initializers(os.path.join(model_dir, "model.onnx"))
    params = dict(model.named_parameters())
    sd = {}
    for name, arr in inits.items():
        if name in params:
            if tuple(arr.shape) != tuple(params[name].shape):
                raise SystemExit(f"shape mismatch for {name}: onnx {arr.shape} vs torch "
                                 f"{tuple(params[name].shape)}")
            sd[name] = torch.from_numpy(arr.copy())
    missing = [n for n in params if n not in sd and not (n == "lm_head.weight" and tied)]
    if missing:
        raise SystemExit(f"parameters missing from model.onnx initializers: {missing}")
    model.load_state_dict(sd, strict=False)
    return len(sd), reader


def load_model(model_dir, device):
    sys.path.insert(0, os.path.join(model_dir, "recipe"))
    from model import Config, LlamaForCausalLM

    with open(os.path.join(model_dir, "config.json")) as f:
        j = json.load(f)
    cfg = Config(**{k: j[k] for k in Config().__dict__ if k in j})
    model = LlamaForCausalLM(cfg)
    n, reader = load_weights(model, model_dir, cfg.tie_word_embeddings)
    if cfg.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    model.eval().to(device)
    print(f"loaded {n} tensors ({model.num_parameters()} parameters) from model.onnx via {reader}")
    return model, j


def default_prompts(model_dir):
    sys.path.insert(0, os.path.join(model_dir, "recipe"))
    from tokenizer import Tokenizer
    tok = Tokenizer.load(os.path.join(model_dir, "tokenizer.json"))
    return [tok.encode(f"<|im_start|>user\n{q}<|im_end|>\n<|im_start|>assistant\n") for q in DEFAULT_QUESTIONS]


def read_prompts(path):
    with open(path) as f:
        j = json.load(f)
    if isinstance(j, dict):
        j = j["prompts"]
    return [p["input_ids"] if isinstance(p, dict) else p for p in j]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def decode(model, ids, max_new, eos, stop_at_eos, device):
    """Returns (new_ids, first_token_seconds, total_seconds)."""
    sync(device)
    t0 = time.perf_counter()
    inp = torch.tensor([ids], dtype=torch.long, device=device)
    mask = torch.ones_like(inp)
    pos = torch.arange(len(ids), device=device).unsqueeze(0)
    logits, past = model(inp, mask, pos)
    nxt = logits[0, -1].argmax()
    out = [int(nxt)]  # int() synchronises
    t_first = time.perf_counter() - t0
    for _ in range(max_new - 1):
        if stop_at_eos and out[-1] in eos:
            break
        inp = nxt.view(1, 1)
        mask = torch.cat([mask, torch.ones((1, 1), dtype=torch.long, device=device)], dim=1)
        pos = torch.full((1, 1), mask.shape[1] - 1, dtype=torch.long, device=device)
        logits, past = model(inp, mask, pos, past)
        nxt = logits[0, -1].argmax()
        out.append(int(nxt))
    sync(device)
    return out, t_first, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prompts", nargs="?", help="JSON file with prompt token ids")
    ap.add_argument("--model-dir", default=DEFAULT_MODEL_DIR)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--stop-at-eos", action="store_true", help="stop a prompt at <|im_end|>/<|endoftext|>")
    ap.add_argument("--print-text", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    libs = blas_report()
    if device.type == "cuda":
        print("cuda device:", torch.cuda.get_device_name(device))
    model, cfg = load_model(args.model_dir, device)
    eos = set(cfg["eos_token_id"] if isinstance(cfg["eos_token_id"], list) else [cfg["eos_token_id"]])
    prompts = read_prompts(args.prompts) if args.prompts else default_prompts(args.model_dir)
    print(f"{len(prompts)} prompts, lengths {[len(p) for p in prompts]}, max_new_tokens {args.max_new_tokens}, "
          f"threads {torch.get_num_threads()}, device {device}")

    for _ in range(args.warmup):
        for p in prompts:
            decode(model, p, args.max_new_tokens, eos, args.stop_at_eos, device)
    runs = []
    outputs = None
    for _ in range(args.runs):
        firsts, decode_time, new_tokens, decode_tokens, outs = [], 0.0, 0, 0, []
        for p in prompts:
            out, t_first, total = decode(model, p, args.max_new_tokens, eos, args.stop_at_eos, device)
            firsts.append(t_first)
            decode_time += total - t_first
            new_tokens += len(out)
            decode_tokens += len(out) - 1
            outs.append(out)
        outputs = outs
        runs.append({"first_ms": 1000 * statistics.mean(firsts),
                     "decode_tps": decode_tokens / decode_time if decode_time > 0 else float("nan"),
                     "new_tokens": new_tokens})
        print(f"run: first token {runs[-1]['first_ms']:.2f} ms, decode {runs[-1]['decode_tps']:.1f} tok/s, "
              f"{new_tokens} new tokens")
    if args.print_text:
        sys.path.insert(0, os.path.join(args.model_dir, "recipe"))
        from tokenizer import Tokenizer
        tok = Tokenizer.load(os.path.join(args.model_dir, "tokenizer.json"))
        for o in outputs:
            print(repr(tok.decode(o)))
    result = {"peer": "pytorch",
              "decode_tokens_per_s": round(statistics.median(r["decode_tps"] for r in runs), 2),
              "first_token_latency_ms": round(statistics.median(r["first_ms"] for r in runs), 3),
              "best_decode_tokens_per_s": round(max(r["decode_tps"] for r in runs), 2),
              "best_first_token_latency_ms": round(min(r["first_ms"] for r in runs), 3),
              "new_tokens": runs[-1]["new_tokens"], "threads": torch.get_num_threads(),
              "device": str(device), "prompts": len(prompts), "max_new_tokens": args.max_new_tokens,
              "ignore_eos": not args.stop_at_eos, "runs": args.runs, "torch": torch.__version__,
              "blas": libs, "first_output_ids": outputs[0][:16], "outputs": outputs}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
