#!/usr/bin/env bash
# Training benchmark: Rectify vs PyTorch (same model weights, LoRA r=8 on all projections, batch, objective, AdamW,
# threads), one run, one machine; plus ArtifactBuilder.build time for 2/8/24-layer random Llama exports.
# Usage: src-test/bench/train-bench.sh [--threads 2] [--batch 8] [--seq 128] [--warmup 2] [--steps 5]
#          [--models tiny,llama30m] [--layers 2,8,24] [--build-runs 3] [--work DIR] [--ort-spinning false]
# RECTIFY_TARGET=target-NAME builds into a separate output folder (parallel work); generated models and artifacts go
# to src-test/target/train-bench (git-ignored) unless --work says otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${RECTIFY_TARGET:-target}"
mvn -q -B -DskipTests -Drectify.target="$T" ${MVN_FLAGS:-} package -pl src-test -am 1>&2
export OPT_OUT_TRACKING=true
exec java -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "src-test/$T/rectify-bench-0.1.0-SNAPSHOT.jar:$(cat "src-test/$T/classpath.txt")" dev.rectify.bench.TrainBench "$@"
