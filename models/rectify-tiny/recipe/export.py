"""Export rectify-tiny to ONNX (opset 17, standard ops, weights inline with their parameter names).

  model.onnx            inputs input_ids, attention_mask, position_ids -> logits
  model_with_past.onnx  + past_key_values.N.{key,value} -> logits, present.N.{key,value}

Usage: export.py BUILD_DIR MODEL_DIR   (reads BUILD_DIR/model.pt, MODEL_DIR/config.json if present)
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from model import Config, LlamaForCausalLM, positions_from_mask  # noqa: E402


class NoCache(LlamaForCausalLM):
    def forward(self, input_ids, attention_mask, position_ids):
        logits, _ = super().forward(input_ids, attention_mask, position_ids)
        return logits


class WithPast(LlamaForCausalLM):
    def forward(self, input_ids, attention_mask, position_ids, *past):
        pkv = [(past[2 * i], past[2 * i + 1]) for i in range(len(past) // 2)]
        logits, presents = super().forward(input_ids, attention_mask, position_ids, pkv)
        flat = [logits]
        for k, v in presents:
            flat += [k, v]
        return tuple(flat)


def load(cls, state_path, cfg):
    m = cls(cfg)
    sd = torch.load(state_path, map_location="cpu")
    m.load_state_dict(sd)
    m.eval()
    return m


def export(build_dir, model_dir, cfg):
    state = os.path.join(build_dir, "model.pt")
    n = cfg.num_hidden_layers
    # trace shapes chosen distinct from every model constant (heads 4/2, head_dim 32, ...)
    B, L, P = 3, 7, 5
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(3, cfg.vocab_size, (B, L + P), generator=g)
    mask = torch.ones(B, L + P, dtype=torch.long)
    mask[1, :2] = 0
    pos = positions_from_mask(mask)

    m = load(NoCache, state, cfg)
    with torch.no_grad():
        torch.onnx.export(
            m, (ids[:, :L], mask[:, :L], pos[:, :L]), os.path.join(model_dir, "model.onnx"),
            input_names=["input_ids", "attention_mask", "position_ids"], output_names=["logits"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
                          "position_ids": {0: "batch", 1: "sequence"}, "logits": {0: "batch", 1: "sequence"}},
            opset_version=17, do_constant_folding=False)

    mp = load(WithPast, state, cfg)
    with torch.no_grad():
        _, presents = LlamaForCausalLM.forward(mp, ids[:, :P], mask[:, :P], pos[:, :P])
        past = []
        for k, v in presents:
            past += [k.contiguous(), v.contiguous()]
        in_names = ["input_ids", "attention_mask", "position_ids"]
        out_names = ["logits"]
        dyn = {"input_ids": {0: "batch", 1: "sequence"},
               "attention_mask": {0: "batch", 1: "past_sequence + sequence"},
               "position_ids": {0: "batch", 1: "sequence"},
               "logits": {0: "batch", 1: "sequence"}}
        for i in range(n):
            for kv in ("key", "value"):
                in_names.append(f"past_key_values.{i}.{kv}")
                out_names.append(f"present.{i}.{kv}")
                dyn[f"past_key_values.{i}.{kv}"] = {0: "batch", 2: "past_sequence"}
                dyn[f"present.{i}.{kv}"] = {0: "batch", 2: "past_sequence + sequence"}
        torch.onnx.export(
            mp, (ids[:, P:], mask, pos[:, P:], *past), os.path.join(model_dir, "model_with_past.onnx"),
            input_names=in_names, output_names=out_names, dynamic_axes=dyn,
            opset_version=17, do_constant_folding=False)


CHAT_TEMPLATE = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
                 "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}"
                 "{% endif %}")


def write_configs(model_dir, cfg, vocab):
    eot, im_start, im_end = vocab["<|endoftext|>"], vocab["<|im_start|>"], vocab["<|im_end|>"]
    config = {
        "architectures": ["LlamaForCausalLM"], "model_type": "llama",
        "vocab_size": cfg.vocab_size, "hidden_size": cfg.hidden_size,
        "intermediate_size": cfg.intermediate_size, "num_hidden_layers": cfg.num_hidden_layers,
        "num_attention_heads": cfg.num_attention_heads, "num_key_value_heads": cfg.num_key_value_heads,
        "head_dim": cfg.head_dim, "max_position_embeddings": cfg.max_position_embeddings,
        "rms_norm_eps": cfg.rms_norm_eps, "rope_theta": cfg.rope_theta, "rope_scaling": None,
        "hidden_act": "silu", "attention_bias": False, "mlp_bias": False, "initializer_range": 0.02,
        "tie_word_embeddings": True, "bos_token_id": eot, "eos_token_id": [im_end, eot],
        "pad_token_id": eot, "torch_dtype": "float32", "use_cache": True,
    }
    gen = {"eos_token_id": [im_end, eot], "pad_token_id": eot, "bos_token_id": eot,
           "max_new_tokens": 128, "do_sample": False}
    tok_cfg = {
        "tokenizer_class": "PreTrainedTokenizerFast", "bos_token": None, "eos_token": "<|im_end|>",
        "pad_token": "<|endoftext|>", "unk_token": None, "model_max_length": cfg.max_position_embeddings,
        "add_bos_token": False, "add_eos_token": False, "padding_side": "left",
        "clean_up_tokenization_spaces": False, "additional_special_tokens": ["<|im_start|>", "<|im_end|>"],
        "added_tokens_decoder": {str(i): {"content": s, "lstrip": False, "normalized": False, "rstrip": False,
                                          "single_word": False, "special": True}
                                 for s, i in (("<|endoftext|>", eot), ("<|im_start|>", im_start),
                                              ("<|im_end|>", im_end))},
        "chat_template": CHAT_TEMPLATE,
    }
    for name, obj in (("config.json", config), ("generation_config.json", gen),
                      ("tokenizer_config.json", tok_cfg)):
        with open(os.path.join(model_dir, name), "w") as f:
            json.dump(obj, f, indent=2)
            f.write("\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build_dir")
    ap.add_argument("model_dir")
    args = ap.parse_args()
    with open(os.path.join(args.model_dir, "tokenizer.json")) as f:
        vocab = json.load(f)["model"]["vocab"]
    cfg = Config(vocab_size=len(vocab))
    write_configs(args.model_dir, cfg, vocab)
    export(args.build_dir, args.model_dir, cfg)
    # every parameter must be an initializer under its own name (torch's exporter de-duplicates
    # identical initializers, e.g. untrained all-ones RMSNorm weights; LoRA injection needs the names)
    import onnx
    expected = {n for n, _ in LlamaForCausalLM(cfg).named_parameters()} - {"lm_head.weight"}
    for f in ("model.onnx", "model_with_past.onnx"):
        path = os.path.join(args.model_dir, f)
        names = {t.name for t in onnx.load(path).graph.initializer}
        missing = expected - names
        assert not missing, f"{f}: parameters missing as initializers: {sorted(missing)}"
        print(f, os.path.getsize(path), "bytes;", len(names), "initializers:", sorted(names - expected) or "")


if __name__ == "__main__":
    main()
