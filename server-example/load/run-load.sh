#!/usr/bin/env bash
# Load test of the Rectify server on loopback: 16 concurrent streaming chat clients across the base model and 3
# fine-tuned adapters for 60 s while a fine-tuning job runs. Stops by itself. Args: [clients] [seconds] [adapters] [maxRequests]
# Build output folder: RECTIFY_TARGET (default target).
set -euo pipefail
cd "$(dirname "$0")/../.."
T="${RECTIFY_TARGET:-target}"
mvn -q -pl server-example -am -Drectify.target="$T" -DskipTests test-compile
CPFILE="$(mktemp)"
mvn -q -pl server-example -Drectify.target="$T" dependency:build-classpath -Dmdep.outputFile="$CPFILE" -Dmdep.includeScope=test >/dev/null
CP="server-example/$T/test-classes:server-example/$T/classes:$(cat "$CPFILE")"
rm -f "$CPFILE"
export OPT_OUT_TRACKING=true DJL_OFFLINE=true
exec java -Xmx4g -Dai.djl.offline=true -DOPT_OUT_TRACKING=true \
  -Drectify.test.model="$PWD/models/rectify-tiny" -Drectify.test.data="$PWD/data/math" \
  -Drectify.home="$PWD/server-example/$T/rectify-home" -Dlogback.configurationFile=server-example/load/logback-load.xml \
  -cp "$CP" dev.rectify.server.LoadMain "${1:-16}" "${2:-60}" "${3:-3}" "${4:-100000}"
