#!/usr/bin/env bash
# One pretrained base of graded prior strength for the prior-strength experiment
# (docs/experiments/prior-strength.md): the recipe's corpus and pretraining at a step budget, exported like
# rectify-tiny, with rectify-tiny's own tokenizer. Dev time only (Debian's python3-torch, CPU).
#
# Usage: build_base.sh WORK_DIR NAME STEPS CHAT_SHARE [THREADS]
#   WORK_DIR/corpus-CHAT_SHARE/   the corpus (seed 1234, 120k documents; built once per chat share)
#   WORK_DIR/bases/NAME/          the exported base (model.onnx, model_with_past.onnx, configs, tokenizer,
#                                 pretrain-log.json); written to a temporary folder and renamed when complete
set -euo pipefail
PY=${PY:-/usr/bin/python3}
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
MODEL_DIR="$(dirname "$HERE")"
WORK=$1 NAME=$2 STEPS=$3 SHARE=$4 THREADS=${5:-2}
CORPUS="$WORK/corpus-$SHARE"
OUT="$WORK/bases/$NAME"
[ -f "$OUT/model.onnx" ] && { echo "$OUT exists"; exit 0; }
cd "$HERE"
if [ ! -f "$CORPUS/corpus/train.txt" ]; then
  rm -rf "$CORPUS.tmp" && mkdir -p "$CORPUS.tmp"
  $PY corpus.py "$CORPUS.tmp/corpus" --chat-share "$SHARE"
  rm -rf "$CORPUS" && mv "$CORPUS.tmp" "$CORPUS"
fi
TMP="$OUT.tmp"
rm -rf "$TMP" && mkdir -p "$TMP/build"
ln -s "$CORPUS/corpus" "$TMP/build/corpus"
cp "$MODEL_DIR/tokenizer.json" "$TMP/"
$PY pretrain.py "$TMP/build" "$TMP" --steps "$STEPS" --threads "$THREADS" --log "$TMP/pretrain-log.json"
$PY export.py "$TMP/build" "$TMP"
rm -rf "$TMP/build"
mv "$TMP" "$OUT"
echo "built $OUT"
