#!/usr/bin/env bash
# Deploys Rectify (BOM, parent, models, sdk, cli, langchain4j; with sources and javadoc jars) to a local file repository,
# target/repo, then builds samples/hello-rectify as a user would, in a copy outside this repository, resolving
# Rectify only from that file repository, and runs it (a short DFT fine-tune of the bundled model, then a generation).
#
# Nothing is installed into ~/.m2: both builds use a private local repository (target/sample-m2, seeded once from
# ~/.m2 without dev.rectify, so third-party jars need no download). Usage: samples/run-sample.sh [--skip-deploy]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
repo="$root/target/repo"
m2="$root/target/sample-m2"
platform="${JAVACPP_PLATFORM:-linux-x86_64}"

if [ ! -d "$m2" ]; then
  echo "run-sample: seeding $m2 from ~/.m2 (once)" >&2
  mkdir -p "$root/target"
  cp -r "$HOME/.m2/repository" "$m2.tmp"
  mv "$m2.tmp" "$m2"
fi
rm -rf "$m2/dev/rectify"   # Rectify must come from the file repository, never from a local install

if [ "${1:-}" != "--skip-deploy" ]; then
  rm -rf "$repo"
  (cd "$root" && mvn -B -q -Prelease -DskipTests -Dmaven.install.skip=true -Dmaven.repo.local="$m2" \
      -DaltDeploymentRepository="local::file://$repo" -pl bom,models,sdk,cli,langchain4j -am deploy)
  rm -rf "$m2/dev/rectify"
fi
echo "run-sample: deployed to $repo:" >&2
(cd "$repo" && find . -name '*.jar' -o -name '*.pom' | grep -v '\.sha1$\|\.md5$' | sort) >&2

work="$(mktemp -d /tmp/hello-rectify.XXXXXX)"
trap 'rm -rf "$work"' EXIT
cp -r "$root/samples/hello-rectify/." "$work/"
cd "$work"
mvn -B -q -Dmaven.repo.local="$m2" -Drectify.repository="file://$repo" -Djavacpp.platform="$platform" package
grep -q '>rectify=' "$m2/dev/rectify/rectify-sdk/0.1.0-SNAPSHOT/_remote.repositories" \
  || { echo "run-sample: rectify-sdk did not come from the file repository" >&2; exit 1; }
java -Dai.djl.offline=true -DOPT_OUT_TRACKING=true -Drectify.home="$work/rectify-home" \
  -cp "target/hello-rectify-1.0.0.jar:$(cat target/classpath.txt)" com.example.hello.HelloRectify
