#!/usr/bin/env bash
# Decode benchmark: Rectify vs PyTorch (same weights, prompts, greedy, KV cache), one run, one machine.
# Usage: src-test/bench/decode-bench.sh [--threads 2] [--max-new-tokens 64] [--runs 5]
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -B -DskipTests package -pl src-test -am 1>&2
export OPT_OUT_TRACKING=true
exec java -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "src-test/target/rectify-bench-0.1.0-SNAPSHOT.jar:$(cat src-test/target/classpath.txt)" dev.rectify.bench.DecodeBench "$@"
