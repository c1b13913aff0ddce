#!/usr/bin/env bash
# Adapter serving benchmark on the bundled model: adapter activation per request, base-vs-adapter decode tokens/s
# on the shared multi-LoRA session, an identical fine-tune request served from the store, against reloading a merged
# model; resident memory of N adapters on one session against merged copies. One run, one machine.
# Usage: src-test/bench/adapter-bench.sh [--threads 2] [--adapters 50] [--rank 8] [--max-new-tokens 64] [--runs 5]
#        [--decode-only] (only the interleaved decode rows)
# RECTIFY_TARGET=target-NAME builds into a separate output folder (parallel work). The heap is fixed and pre-touched
# so that RSS growth measures native memory.
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${RECTIFY_TARGET:-target}"
mvn -q -B -DskipTests -Drectify.target="$T" ${MVN_FLAGS:-} package -pl src-test -am 1>&2
export OPT_OUT_TRACKING=true
exec java -Xms1g -Xmx1g -XX:+AlwaysPreTouch -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "src-test/$T/rectify-bench-0.1.0-SNAPSHOT.jar:$(cat "src-test/$T/classpath.txt")" dev.rectify.bench.AdapterBench "$@"
