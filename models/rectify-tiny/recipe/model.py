"""Llama-architecture causal LM in plain PyTorch (1.13 and 2.x), module names as HF Llama.

Export-friendly: attention is explicit MatMul + additive mask + Softmax; the causal mask and the
padding mask are built from `attention_mask` (1 = token, 0 = padding, left padding works) with
ops whose shapes all come from the inputs (nothing baked in as a constant); rotary cos/sin are
computed inside forward from `position_ids`.
"""
import json
import math

import torch
from torch import nn

MASK_VALUE = -1e9


class Config:
    def __init__(self, vocab_size=512, hidden_size=128, intermediate_size=352, num_hidden_layers=6,
                 num_attention_heads=4, num_key_value_heads=2, head_dim=32, max_position_embeddings=512,
                 rms_norm_eps=1e-5, rope_theta=10000.0, tie_word_embeddings=True):
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.num_key_value_heads = num_key_value_heads
        self.head_dim = head_dim
        self.max_position_embeddings = max_position_embeddings
        self.rms_norm_eps = rms_norm_eps
        self.rope_theta = rope_theta
        self.tie_word_embeddings = tie_word_embeddings

    def to_dict(self):
        return dict(self.__dict__)

    @classmethod
    def from_json(cls, path):
        with open(path) as f:
            j = json.load(f)
        keys = cls().__dict__.keys()
        return cls(**{k: j[k] for k in keys if k in j})


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.variance_epsilon = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.variance_epsilon))


def rotate_half(x):
    half = x.shape[-1] // 2
    x1 = x[..., :half]
    x2 = x[..., half:]
    return torch.cat((-x2, x1), dim=-1)


class Rotary(nn.Module):
    def __init__(self, head_dim, theta):
        super().__init__()
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, position_ids):
        # position_ids [B, L] -> cos, sin [B, 1, L, D]
        freqs = position_ids.to(torch.float32).unsqueeze(-1) * self.inv_freq  # [B, L, D/2]
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.h, self.kvh, self.d = cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim
        self.q_proj = nn.Linear(cfg.hidden_size, self.h * self.d, bias=False)
        self.k_proj = nn.Linear(cfg.hidden_size, self.kvh * self.d, bias=False)
        self.v_proj = nn.Linear(cfg.hidden_size, self.kvh * self.d, bias=False)
        self.o_proj = nn.Linear(self.h * self.d, cfg.hidden_size, bias=False)

    def forward(self, x, cos, sin, mask, past_kv=None):
        b, l = x.shape[0], x.shape[1]
        q = self.q_proj(x).view(b, l, self.h, self.d).transpose(1, 2)
        k = self.k_proj(x).view(b, l, self.kvh, self.d).transpose(1, 2)
        v = self.v_proj(x).view(b, l, self.kvh, self.d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_kv is not None:
            k = torch.cat((past_kv[0], k), dim=2)
            v = torch.cat((past_kv[1], v), dim=2)
        present = (k, v)
        rep = self.h // self.kvh
        if rep > 1:  # repeat_kv: [B, KVH, T, D] -> [B, H, T, D]
            kk = k.unsqueeze(2).expand(-1, -1, rep, -1, -1).flatten(1, 2)
            vv = v.unsqueeze(2).expand(-1, -1, rep, -1, -1).flatten(1, 2)
        else:
            kk, vv = k, v
        scores = torch.matmul(q, kk.transpose(2, 3)) / math.sqrt(self.d)
        scores = scores + mask
        probs = torch.softmax(scores, dim=-1)
        out = torch.matmul(probs, vv)  # [B, H, L, D]
        out = out.transpose(1, 2).flatten(2)
        return self.o_proj(out), present


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.gate_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.up_proj = nn.Linear(cfg.hidden_size, cfg.intermediate_size, bias=False)
        self.down_proj = nn.Linear(cfg.intermediate_size, cfg.hidden_size, bias=False)

    def forward(self, x):
        g = self.gate_proj(x)
        return self.down_proj(g * torch.sigmoid(g) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.self_attn = Attention(cfg)
        self.mlp = MLP(cfg)
        self.input_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)
        self.post_attention_layernorm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)

    def forward(self, x, cos, sin, mask, past_kv=None):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, mask, past_kv)
        x = x + a
        x = x + self.mlp(self.post_attention_layernorm(x))
        return x, present


class LlamaModel(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.embed_tokens = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.layers = nn.ModuleList([DecoderLayer(cfg) for _ in range(cfg.num_hidden_layers)])
        self.norm = RMSNorm(cfg.hidden_size, cfg.rms_norm_eps)


def build_mask(input_ids, attention_mask, dtype=torch.float32):
    """Additive mask [B, 1, L, T]: causal (query i sits at absolute index past + i, with past = T - L)
    combined with the key padding mask. Built only from ops on the inputs (dynamic shapes)."""
    key_idx = torch.cumsum(torch.ones_like(attention_mask[0]), dim=0)            # [T] 1..T
    q_ones = torch.ones_like(input_ids[0])
    past = key_idx[-1:] - q_ones.sum(dim=0, keepdim=True)                          # [1] = T - L
    query_idx = torch.cumsum(q_ones, dim=0) + past                                  # [L] past+1..T
    causal = key_idx.unsqueeze(0) <= query_idx.unsqueeze(1)                        # [L, T]
    keep = causal.unsqueeze(0).unsqueeze(0) & (attention_mask.unsqueeze(1).unsqueeze(2) > 0)  # [B,1,L,T]
    return (1.0 - keep.to(dtype)) * MASK_VALUE


class LlamaForCausalLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.config = cfg
        self.model = LlamaModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.rotary = Rotary(cfg.head_dim, cfg.rope_theta)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embed_tokens.weight
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, std=0.02)
        elif isinstance(m, nn.Embedding):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, input_ids, attention_mask, position_ids, past_key_values=None):
        """past_key_values: None or list of (key, value) [B, KVH, P, D]. Returns (logits, presents)."""
        x = self.model.embed_tokens(input_ids)
        cos, sin = self.rotary(position_ids)
        mask = build_mask(input_ids, attention_mask, x.dtype)
        presents = []
        for i, layer in enumerate(self.model.layers):
            x, p = layer(x, cos, sin, mask, None if past_key_values is None else past_key_values[i])
            presents.append(p)
        x = self.model.norm(x)
        return self.lm_head(x), presents

    def num_parameters(self):
        return sum(p.numel() for p in self.parameters())


def positions_from_mask(attention_mask):
    return (attention_mask.cumsum(-1) - 1).clamp(min=0)


@torch.no_grad()
def greedy(model, ids, max_new_tokens, eos_ids=(0, 2), use_cache=True):
    """Greedy decoding of one prompt (list of ids) with a KV cache. Returns the new ids."""
    dev = next(model.parameters()).device
    inp = torch.tensor([ids], dtype=torch.long, device=dev)
    mask = torch.ones_like(inp)
    pos = positions_from_mask(mask)
    logits, past = model(inp, mask, pos)
    out = []
    for _ in range(max_new_tokens):
        nxt = int(logits[0, -1].argmax())
        out.append(nxt)
        if nxt in eos_ids:
            break
        if use_cache:
            inp = torch.tensor([[nxt]], dtype=torch.long, device=dev)
            mask = torch.cat([mask, torch.ones_like(inp)], dim=1)
            pos = mask.sum(-1, keepdim=True) - 1
            logits, past = model(inp, mask, pos, past)
        else:
            full = torch.tensor([ids + out], dtype=torch.long, device=dev)
            m = torch.ones_like(full)
            logits, _ = model(full, m, positions_from_mask(m))
    return out
