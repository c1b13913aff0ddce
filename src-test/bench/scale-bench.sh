#!/usr/bin/env bash
# Scale benchmark: Rectify vs PyTorch on random Llama shapes of real models (30M, 125M, 313M, Qwen2.5-0.5B and -1.5B
# shapes), LoRA r=8, DFT: artifact build time, peak Java heap, peak RSS, step time and tokens/s, one run, one machine.
# Each shape runs in its own Rectify JVM, then in the PyTorch peer, one after the other (peak RSS is each side's own).
# Usage: src-test/bench/scale-bench.sh [--shapes 30m,125m,313m,0.5b,1.5b] [--threads 2] [--batch 2] [--seq 128]
#          [--warmup 1] [--steps 3] [--xmx 1g] [--work DIR] [--peer true] [--checkpointing none|layers|selective] [--loss-chunks K] [--full false]
#   --checkpointing: recompute each decoder layer (layers) or all but its weight products (selective) in the backward; --loss-chunks: loss head blocks (0 automatic); --full true: full fine-tuning instead of LoRA r=8
# RECTIFY_TARGET=target-NAME builds into a separate output folder; models and artifacts go to
# src-test/target/scale-bench (git-ignored) unless --work says otherwise. Check `free -g` first: the PyTorch peer
# needs about 3x the model's float32 size while it loads the weights.
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${RECTIFY_TARGET:-target}"
mvn -q -B -DskipTests -Drectify.target="$T" ${MVN_FLAGS:-} package -pl src-test -am 1>&2
export OPT_OUT_TRACKING=true
exec java -Xmx256m -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "src-test/$T/rectify-bench-0.1.0-SNAPSHOT.jar:$(cat "src-test/$T/classpath.txt")" dev.rectify.bench.ScaleBench "$@"
