#!/usr/bin/env bash
# Decode benchmark: Rectify vs PyTorch vs Jlama (same weights, prompt tokens, greedy, KV cache), one run, one machine.
# Usage: src-test/bench/decode-bench.sh [--threads 2] [--max-new-tokens 64] [--runs 5]
# Jlama needs Java 21+: JLAMA_JAVA_HOME (default /usr/lib/jvm/temurin-25-jdk-amd64) builds and runs its module
# src-test/jlama, which is not part of the default (JDK 17) build; JLAMA=false leaves Jlama out. Its model folder
# (Hugging Face safetensors, written from models/rectify-tiny/model.onnx) goes to src-test/target/jlama-model.
set -euo pipefail
cd "$(dirname "$0")/../.."
mvn -q -B -DskipTests package -pl src-test -am 1>&2
export OPT_OUT_TRACKING=true
jlama_args=()
if [ "${JLAMA:-true}" != false ]; then
  jhome="${JLAMA_JAVA_HOME:-/usr/lib/jvm/temurin-25-jdk-amd64}"
  [ -x "$jhome/bin/java" ] || { echo "Jlama needs a JDK 21+ at JLAMA_JAVA_HOME ($jhome); or set JLAMA=false" >&2; exit 2; }
  # spotless is checked by the JDK 17 build (mvn -f src-test/jlama/pom.xml spotless:check); its formatter does not
  # resolve offline under newer JDKs.
  JAVA_HOME="$jhome" mvn -q -B ${MVN_FLAGS:-} -Dspotless.check.skip=true -f src-test/jlama/pom.xml package 1>&2
  /usr/bin/python3 src-test/bench/onnx_to_hf_llama.py src-test/target/jlama-model 1>&2
  jlama_args=(--jlama-java "$jhome/bin/java" --jlama-model src-test/target/jlama-model
    --jlama-classpath "src-test/jlama/target/rectify-bench-jlama-0.1.0-SNAPSHOT.jar:$(cat src-test/jlama/target/classpath.txt)")
fi
exec java -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
  -cp "src-test/target/rectify-bench-0.1.0-SNAPSHOT.jar:$(cat src-test/target/classpath.txt)" dev.rectify.bench.DecodeBench \
  "${jlama_args[@]}" "$@"
