#!/usr/bin/env python3
"""Writes rectify-tiny's ONNX weights as a Hugging Face Llama safetensors folder (for the Jlama decode peer).

  /usr/bin/python3 src-test/bench/onnx_to_hf_llama.py OUT_DIR [--model-dir models/rectify-tiny]

The weights are the float32 initializers of MODEL_DIR/model.onnx, read exactly as the PyTorch decode peer reads
them (torch_decode_peer.read_initializers). The export's initializer names already are Hugging Face Llama's
(model.embed_tokens.weight, model.layers.N.self_attn.q_proj.weight [out, in], ..., model.norm.weight), because
recipe/model.py names its modules as transformers' LlamaForCausalLM does; q/k keep the rotate-half RoPE layout
HF checkpoints use, so no permutation is applied. With tie_word_embeddings there is no lm_head.weight (HF leaves it
out too; readers use the embedding). Every expected tensor must be present with the shape config.json implies.

OUT_DIR gets config.json (the model's own, model_type llama, LlamaForCausalLM), model.safetensors,
tokenizer.json, tokenizer_config.json and generation_config.json. It is written to OUT_DIR.tmp and renamed, so a
half-written folder is never left under OUT_DIR.
"""
import argparse
import json
import os
import shutil
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
COPIED = ["tokenizer.json", "tokenizer_config.json", "generation_config.json"]


def expected_shapes(cfg):
    """name -> shape of every tensor a Hugging Face Llama checkpoint of this config holds (lm_head only untied)."""
    h, inter, d = cfg["hidden_size"], cfg["intermediate_size"], cfg.get("head_dim")
    heads, kv = cfg["num_attention_heads"], cfg.get("num_key_value_heads", cfg["num_attention_heads"])
    d = d or h // heads
    shapes = {"model.embed_tokens.weight": (cfg["vocab_size"], h), "model.norm.weight": (h,)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes.update({
            p + "self_attn.q_proj.weight": (heads * d, h),
            p + "self_attn.k_proj.weight": (kv * d, h),
            p + "self_attn.v_proj.weight": (kv * d, h),
            p + "self_attn.o_proj.weight": (h, heads * d),
            p + "mlp.gate_proj.weight": (inter, h),
            p + "mlp.up_proj.weight": (inter, h),
            p + "mlp.down_proj.weight": (h, inter),
            p + "input_layernorm.weight": (h,),
            p + "post_attention_layernorm.weight": (h,),
        })
    if not cfg.get("tie_word_embeddings", False):
        shapes["lm_head.weight"] = (cfg["vocab_size"], h)
    return shapes


def check_config(cfg):
    if cfg.get("model_type") != "llama" or "LlamaForCausalLM" not in cfg.get("architectures", []):
        raise SystemExit(f"config.json: expected model_type llama / LlamaForCausalLM, got "
                         f"{cfg.get('model_type')} / {cfg.get('architectures')}")
    head_dim = cfg.get("head_dim", cfg["hidden_size"] // cfg["num_attention_heads"])
    if head_dim * cfg["num_attention_heads"] != cfg["hidden_size"]:
        raise SystemExit("config.json: head_dim x num_attention_heads != hidden_size; Jlama derives head size from "
                         "hidden_size / num_attention_heads and would misread this model")
    if cfg.get("rope_scaling"):
        raise SystemExit(f"config.json: rope_scaling {cfg['rope_scaling']} is not mapped by this exporter")


def write_safetensors(path, tensors):
    """tensors: list of (name, float32 C-contiguous numpy array). Header: 8-byte little-endian length + JSON."""
    header, offset = {"__metadata__": {"format": "pt", "source": "rectify-tiny model.onnx"}}, 0
    for name, arr in tensors:
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [offset, offset + arr.nbytes]}
        offset += arr.nbytes
    blob = json.dumps(header, separators=(",", ":")).encode()
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for _, arr in tensors:
            f.write(arr.tobytes())


def export(model_dir, out_dir):
    sys.path.insert(0, HERE)
    from torch_decode_peer import read_initializers
    import numpy as np

    with open(os.path.join(model_dir, "config.json")) as f:
        cfg = json.load(f)
    check_config(cfg)
    inits, reader = read_initializers(os.path.join(model_dir, "model.onnx"))
    tensors = []
    for name, shape in expected_shapes(cfg).items():
        if name not in inits:
            raise SystemExit(f"{model_dir}/model.onnx: initializer {name} missing")
        arr = np.ascontiguousarray(inits[name], dtype="<f4")
        if tuple(arr.shape) != shape:
            raise SystemExit(f"{model_dir}/model.onnx: {name} has shape {arr.shape}, config.json implies {shape}")
        tensors.append((name, arr))
    tmp = out_dir.rstrip("/") + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    write_safetensors(os.path.join(tmp, "model.safetensors"), tensors)
    shutil.copyfile(os.path.join(model_dir, "config.json"), os.path.join(tmp, "config.json"))
    for name in COPIED:
        if os.path.exists(os.path.join(model_dir, name)):
            shutil.copyfile(os.path.join(model_dir, name), os.path.join(tmp, name))
    shutil.rmtree(out_dir, ignore_errors=True)
    os.rename(tmp, out_dir)
    params = sum(a.size for _, a in tensors)
    print(f"wrote {out_dir}: {len(tensors)} tensors, {params} parameters, from model.onnx via {reader}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--model-dir", default=os.path.join(ROOT, "models", "rectify-tiny"))
    args = ap.parse_args()
    export(args.model_dir, os.path.abspath(args.out_dir))


if __name__ == "__main__":
    main()
