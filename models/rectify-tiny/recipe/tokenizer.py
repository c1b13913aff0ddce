"""Pure-Python byte-level BPE for rectify-tiny, written as a Hugging Face tokenizer.json.

Pipeline (as the Rust `tokenizers` 0.21 library runs it):
  added (special) tokens split out -> normalizer: none ->
  pre_tokenizer Sequence[Digits(individual_digits=true), ByteLevel(add_prefix_space=false, use_regex=true)]
  -> BPE (merges by rank) -> decoder ByteLevel.
This module both trains the merges and encodes/decodes exactly the same way in Python.

Usage: tokenizer.py CORPUS_DIR OUT_DIR [--vocab 512]   -> OUT_DIR/tokenizer.json
"""
import argparse
import collections
import json
import os
import re
import sys

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
SPECIAL_RE = re.compile("(" + "|".join(re.escape(s) for s in SPECIALS) + ")")
# GPT-2 byte-level regex; \p{L} -> [^\W\d_], \p{N} -> \d (equivalent on this ASCII corpus).
L, N = r"[^\W\d_]", r"\d"
BYTELEVEL_RE = re.compile(
    rf"""'s|'t|'re|'ve|'m|'ll|'d| ?{L}+| ?{N}+| ?(?:(?!{L}|{N})[^\s])+|\s+(?!\S)|\s+""")
DIGIT_RE = re.compile(r"\d")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


B2U = bytes_to_unicode()
U2B = {v: k for k, v in B2U.items()}


def split_digits(text):
    """Digits(individual_digits=true): every digit is its own piece (behaviour Isolated)."""
    out, last = [], 0
    for m in DIGIT_RE.finditer(text):
        if m.start() > last:
            out.append(text[last:m.start()])
        out.append(m.group())
        last = m.end()
    if last < len(text):
        out.append(text[last:])
    return out


def pre_tokenize(text):
    """Plain text (no specials) -> list of byte-level-mapped words."""
    words = []
    for piece in split_digits(text):
        for w in BYTELEVEL_RE.findall(piece):
            words.append("".join(B2U[b] for b in w.encode("utf-8")))
    return words


def train(texts, vocab_size):
    counts = collections.Counter()
    for t in texts:
        for part in SPECIAL_RE.split(t):
            if part and part not in SPECIALS:
                counts.update(pre_tokenize(part))
    words = [(list(w), c) for w, c in counts.items()]
    base = [B2U[b] for b in range(256)]
    n_merges = vocab_size - len(SPECIALS) - len(base)
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for syms, c in words:
            for i in range(len(syms) - 1):
                pairs[(syms[i], syms[i + 1])] += c
        if not pairs:
            break
        # most frequent; ties broken lexicographically for determinism
        best = max(pairs.items(), key=lambda kv: (kv[1], tuple(-ord(ch) for ch in kv[0][0] + "\0" + kv[0][1])))[0]
        # the merged symbol may not contain a digit next to anything (digits are pre-split anyway)
        merges.append(best)
        a, b = best
        new = a + b
        for syms, _c in words:
            i = 0
            while i < len(syms) - 1:
                if syms[i] == a and syms[i + 1] == b:
                    syms[i:i + 2] = [new]
                i += 1
    vocab = {s: i for i, s in enumerate(SPECIALS)}
    for s in base:
        vocab[s] = len(vocab)
    for a, b in merges:
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
    return vocab, merges


class Tokenizer:
    def __init__(self, vocab, merges):
        self.vocab = vocab
        self.inv = {i: s for s, i in vocab.items()}
        self.ranks = {tuple(m): i for i, m in enumerate(merges)}
        self.cache = {}
        self.special_ids = {s: vocab[s] for s in SPECIALS}

    @classmethod
    def load(cls, path):
        with open(path) as f:
            j = json.load(f)
        merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in j["model"]["merges"]]
        return cls(j["model"]["vocab"], merges)

    def bpe(self, word):
        if word in self.cache:
            return self.cache[word]
        syms = list(word)
        while len(syms) > 1:
            best, bi = None, -1
            for i in range(len(syms) - 1):
                r = self.ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, bi = r, i
            if best is None:
                break
            a, b = syms[bi], syms[bi + 1]
            # merge every occurrence of this pair, left to right (as HF BPE does)
            out, i = [], 0
            while i < len(syms):
                if i < len(syms) - 1 and syms[i] == a and syms[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(syms[i])
                    i += 1
            syms = out
        ids = [self.vocab[s] for s in syms]
        self.cache[word] = ids
        return ids

    def encode(self, text):
        ids = []
        for part in SPECIAL_RE.split(text):
            if not part:
                continue
            if part in self.special_ids:
                ids.append(self.special_ids[part])
            else:
                for w in pre_tokenize(part):
                    ids.extend(self.bpe(w))
        return ids

    def decode(self, ids, skip_special=False):
        out, buf = [], []
        for i in ids:
            s = self.inv[i]
            if s in self.special_ids:
                if buf:
                    out.append(bytes(buf).decode("utf-8", errors="replace"))
                    buf = []
                if not skip_special:
                    out.append(s)
            else:
                buf.extend(U2B[ch] for ch in s)
        if buf:
            out.append(bytes(buf).decode("utf-8", errors="replace"))
        return "".join(out)


def tokenizer_json(vocab, merges):
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {"id": i, "content": s, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True} for i, s in enumerate(SPECIALS)],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}]},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False,
                           "use_regex": True},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                  "ignore_merges": False, "vocab": vocab, "merges": [f"{a} {b}" for a, b in merges]},
    }


def main():
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import corpus
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--vocab", type=int, default=512)
    ap.add_argument("--train-docs", type=int, default=30000)
    args = ap.parse_args()
    docs = corpus.read_docs(os.path.join(args.corpus_dir, "train.txt"))
    vocab, merges = train(docs[:args.train_docs], args.vocab)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, "tokenizer.json"), "w") as f:
        json.dump(tokenizer_json(vocab, merges), f, ensure_ascii=False, indent=1)
    tok = Tokenizer(vocab, merges)
    # self-checks: round trip, digits single tokens, specials single ids
    for d in docs[:2000]:
        assert tok.decode(tok.encode(d)) == d, d
    for s in SPECIALS:
        assert tok.encode(s) == [vocab[s]]
    for dgt in "0123456789":
        assert len(tok.encode(dgt)) == 1 and len(tok.encode(" " + dgt)) == 2
    assert all(len(tok.inv[i]) == 1 or not any(c.isdigit() for c in tok.inv[i])
               for i in tok.inv if tok.inv[i] not in SPECIALS)
    print(f"vocab {len(vocab)} merges {len(merges)}")


if __name__ == "__main__":
    main()
