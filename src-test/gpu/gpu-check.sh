#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine from the repository root by .gpu/pN/run-on-gpu.sh (see
# ../shared/gpu/README.md): Rectify on ONNX Runtime's CUDA provider against its CPU provider and against PyTorch
# on the same GPU. Cheap, essential steps first; each step has its own time limit. Results: $OUT/summary.txt (the
# JSON lines of every step) and $OUT/gpu-results*.json; full logs in $OUT/logs.tar.gz.
set -u
OUT=${OUT:-/tmp/gpu-out}
LOGS=$(mktemp -d)
mkdir -p "$OUT"
log() { echo "== $(date +%T) $*" | tee -a "$OUT/summary.txt"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader >> "$OUT/summary.txt" 2>&1
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' >> "$OUT/summary.txt" 2>&1
log "big model export in the background (a ~316M-parameter random Llama, for training speed)"
( timeout 150 python3 src-test/bench/torch_train_peer.py export /tmp/big --layers 24 --hidden 1024 --intermediate 2816 \
    --heads 16 --kv-heads 8 --head-dim 64 --vocab 32000 > "$LOGS/export.log" 2>&1 ) &
exporter=$!
log "Rectify, tiny model: CUDA vs CPU logits, decode, training"
timeout 150 java -Xmx16g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" dev.rectify.bench.GpuCheck \
  --model models/rectify-tiny --out "$OUT/gpu-results.json" --batch-out "$LOGS/batch.json" > "$LOGS/gpucheck.log" 2>&1
echo "rectify tiny rc=$?" >> "$OUT/summary.txt"
log "PyTorch decode peer on CUDA (same prompts and weights)"
timeout 45 python3 src-test/bench/torch_decode_peer.py models/rectify-tiny/recipe/reference.json --device cuda \
  --threads 8 --max-new-tokens 64 --runs 5 > "$LOGS/torch-decode.log" 2>&1
tail -1 "$LOGS/torch-decode.log" | cut -c1-600 >> "$OUT/summary.txt"
log "PyTorch training peer on CUDA, tiny model (LoRA r=8, batch 8x128, SFT and DFT)"
timeout 45 python3 src-test/bench/torch_train_peer.py train "$LOGS/batch.json" --model-dir models/rectify-tiny --device cuda \
  --rank 8 --alpha 16 --warmup 3 --steps 10 > "$LOGS/torch-train-tiny.log" 2>&1
tail -1 "$LOGS/torch-train-tiny.log" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); [d.pop(k,None) for k in ("blas",)]; [d[o].pop("steps_s",None) for o in ("sft","dft") if o in d]; print(json.dumps(d))' >> "$OUT/summary.txt" 2>&1
log "waiting for the big export"
wait "$exporter"
tail -1 "$LOGS/export.log" >> "$OUT/summary.txt"
if [ -f /tmp/big/model.onnx ]; then
  log "Rectify, big model: artifacts + CUDA training speed"
  timeout 170 java -Xmx48g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" dev.rectify.bench.GpuCheck \
    --big-only /tmp/big --out "$OUT/gpu-results-big.json" > "$LOGS/gpucheck-big.log" 2>&1
  echo "rectify big rc=$?" >> "$OUT/summary.txt"
  log "PyTorch training peer on CUDA, big model"
  timeout 60 python3 src-test/bench/torch_train_peer.py train "$LOGS/batch.json" --model-dir /tmp/big --device cuda \
    --rank 8 --alpha 16 --warmup 3 --steps 8 --objectives dft > "$LOGS/torch-train-big.log" 2>&1
  tail -1 "$LOGS/torch-train-big.log" | python3 -c 'import json,sys; d=json.loads(sys.stdin.read()); d.pop("blas",None); d["dft"].pop("steps_s",None); print(json.dumps(d))' >> "$OUT/summary.txt" 2>&1
fi
log done
tar -C "$LOGS" -czf "$OUT/logs.tar.gz" .
