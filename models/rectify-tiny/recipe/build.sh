#!/usr/bin/env bash
# Rebuild rectify-tiny end to end: corpus -> tokenizer -> pretrain -> export -> reference (+ data, eval).
# Needs Debian's python3-torch (1.13), python3-numpy, python3-onnx, libopenblas0-pthread.
# Extra arguments go to pretrain.py, e.g. `build.sh --device cuda` (the shipped weights: H200, 68 s) or
# `build.sh --steps 900` (a CPU-friendly ~20-25 min run with 2 threads; heldout loss ~0.31 instead of 0.24).
set -euo pipefail
PY=${PY:-/usr/bin/python3}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODEL_DIR="$(dirname "$HERE")"
ROOT="$(cd "$MODEL_DIR/../.." && pwd)"
BUILD="$HERE/build"
mkdir -p "$BUILD"
cd "$HERE"
$PY corpus.py "$BUILD/corpus"                         # seed 1234: 120k train docs, 3k held-out docs
$PY tokenizer.py "$BUILD/corpus" "$MODEL_DIR"         # byte-level BPE, vocab 512 -> tokenizer.json
$PY pretrain.py "$BUILD" "$MODEL_DIR" "$@"            # AdamW, 3000 steps x 16 x 256 (pass --device cuda on a GPU) -> build/model.pt, pretrain-log.json
$PY export.py "$BUILD" "$MODEL_DIR"                   # configs + model.onnx + model_with_past.onnx
$PY inspect_onnx.py "$MODEL_DIR/model.onnx" "$MODEL_DIR/model_with_past.onnx"
$PY reference.py "$BUILD" "$MODEL_DIR"                # reference.json (+ KV/left-padding parity asserts)
$PY math_data.py "$ROOT/data/math"                    # seed 2024: train/heldout/ood jsonl
$PY eval_math.py "$MODEL_DIR" "$ROOT/data/math"       # base-model exact match -> eval-base.json
du -sh "$MODEL_DIR" --exclude=build
