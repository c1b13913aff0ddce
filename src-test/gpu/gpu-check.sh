#!/usr/bin/env bash
# The GPU check, run on a lent GPU machine from the repository root by .gpu/pN/run-on-gpu.sh (see
# ../shared/gpu/README.md): Rectify on ONNX Runtime's CUDA provider against its CPU provider and against PyTorch
# on the same GPU. Every step has its own time limit; results land in $OUT.
set -u
OUT=${OUT:-/tmp/gpu-out}
mkdir -p "$OUT"
log() { echo "== $*" | tee -a "$OUT/steps.log"; }
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader > "$OUT/gpu.txt" 2>&1
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.get_device_name(0))' \
  > "$OUT/torch.txt" 2>&1
log "big model export (a ~300M-parameter random Llama for training speed)"
timeout 150 python3 src-test/bench/torch_train_peer.py export /tmp/big --layers 24 --hidden 1024 --intermediate 2816 \
  --heads 16 --kv-heads 8 --head-dim 64 --vocab 32000 > "$OUT/export.log" 2>&1; echo "rc=$?" >> "$OUT/export.log"
log "Rectify: CUDA vs CPU logits, decode, training"
timeout 330 java -Xmx32g -Dorg.slf4j.simpleLogger.defaultLogLevel=warn -cp "$CP" dev.rectify.bench.GpuCheck \
  --model models/rectify-tiny --out "$OUT/gpu-results.json" --big /tmp/big --batch-out "$OUT/batch.json" \
  > "$OUT/gpucheck.log" 2>&1; echo "rc=$?" >> "$OUT/gpucheck.log"
log "PyTorch decode peer on CUDA (same prompts and weights)"
timeout 90 python3 src-test/bench/torch_decode_peer.py models/rectify-tiny/recipe/reference.json --device cuda \
  --threads 8 --max-new-tokens 64 --runs 5 > "$OUT/torch-decode.log" 2>&1; echo "rc=$?" >> "$OUT/torch-decode.log"
log "PyTorch training peer on CUDA (same model, LoRA r=8, DFT, batch)"
for m in models/rectify-tiny /tmp/big; do
  timeout 120 python3 src-test/bench/torch_train_peer.py train "$OUT/batch.json" --model-dir "$m" --device cuda \
    --rank 8 --alpha 16 --warmup 3 --steps 10 > "$OUT/torch-train-$(basename "$m").log" 2>&1
  echo "rc=$?" >> "$OUT/torch-train-$(basename "$m").log"
done
log done
