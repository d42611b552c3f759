#!/usr/bin/env bash
# Apache Flink 1.16.2 with Apache Flink StateFun 3.3.0 in one folder, put together the way the
# apache/flink-statefun:3.3.0 image is, to run the StateFun runtime without Docker
# (docs/statefun-runtime.md). Maven Central does not serve flink-dist, so Flink's lib/ and
# plugins/ come from PyPI's apache-flink-libraries sdist and its bin/ and conf/ from the
# apache-flink wheel (cp38 only: unpacked, never installed); then, as the image's Dockerfile does,
# lib/flink-table* goes and StateFun's jars from Maven Central come in. Every download is checked
# against the sha256 pinned here. Needs python3 with pip (or $PYTHON), curl, tar and sha256sum.
#
#   deploy/statefun/assemble-flink.sh DIR
#
# DIR must not exist. Downloads are kept in $STATEFUN_FLINK_DOWNLOADS (default: DIR.downloads)
# and reused by the next run.
set -euo pipefail

FLINK=1.16.2
STATEFUN=3.3.0
LIBRARIES_SHA256=68f4328b6109e178a63d7eac661fc1f1cd1b70f01a77cd1bbaf93512a76382ab
WHEEL_SHA256=e458d6076c82d10d73a690c72bf7e9ff31a91be2c93b6addf8efa8b86284c3a3
MAVEN=https://repo.maven.apache.org/maven2/org/apache/flink
TCNATIVE=2.0.44.Final-15.0
# file name in lib/, path under $MAVEN, sha256: the jars the image adds to lib/
JARS=(
    "statefun-flink-distribution.jar statefun-flink-distribution/$STATEFUN/statefun-flink-distribution-$STATEFUN.jar d38b11e578fcbb6befeffd550816eaa4db01c5d4bcf2f5396ed8b321d034222b"
    "statefun-flink-core.jar statefun-flink-core/$STATEFUN/statefun-flink-core-$STATEFUN.jar c454267b91a9b0e84329dce207a64d0d6088019671433cf29ac19d96503d32f7"
    "flink-shaded-netty-tcnative-dynamic-$TCNATIVE.jar flink-shaded-netty-tcnative-dynamic/$TCNATIVE/flink-shaded-netty-tcnative-dynamic-$TCNATIVE.jar 456f6a773f649943008efc14fd14550698bb40a7e2ac68723e221c36568048cd"
)

dest=${1:?usage: $0 DIR}
[ ! -e "$dest" ] || { echo "$0: $dest exists already; give a new folder" >&2; exit 2; }
python=${PYTHON:-python3}
downloads=${STATEFUN_FLINK_DOWNLOADS:-$dest.downloads}
partial="$dest.partial"
mkdir -p "$downloads"
rm -rf "$partial"
mkdir -p "$partial"

# pip_download REQUIREMENT SHA256 [PIP OPTION...]: one hash-checked file into $downloads (kept if already there)
pip_download() {
    local requirements="$partial/requirements.txt"
    echo "$1 --hash=sha256:$2" > "$requirements"
    "$python" -m pip download --quiet --disable-pip-version-check --no-deps --require-hashes \
        -d "$downloads" -r "$requirements" "${@:3}"
    rm "$requirements"
}

echo "assemble-flink: Flink $FLINK from PyPI"
pip_download "apache-flink-libraries==$FLINK" "$LIBRARIES_SHA256" --no-binary :all:
pip_download "apache-flink==$FLINK" "$WHEEL_SHA256" --only-binary :all: --python-version 3.8 --platform manylinux1_x86_64
sources="apache-flink-libraries-$FLINK/deps"
tar -xzf "$downloads/apache-flink-libraries-$FLINK.tar.gz" -C "$partial" --strip-components=2 \
    "$sources/lib" "$sources/plugins" "$sources/bin/bash-java-utils.jar"
"$python" -m zipfile -e "$downloads/apache_flink-$FLINK-cp38-cp38-manylinux1_x86_64.whl" "$partial/wheel"
cp -R "$partial/wheel/pyflink/bin/." "$partial/bin/"
cp -R "$partial/wheel/pyflink/conf" "$partial/conf"
rm -rf "$partial/wheel"
chmod +x "$partial"/bin/*.sh "$partial/bin/flink"

echo "assemble-flink: StateFun $STATEFUN from Maven Central"
rm -f "$partial"/lib/flink-table*
for jar in "${JARS[@]}"; do
    read -r name path sha256 <<< "$jar"
    [ -f "$downloads/$name" ] || curl -fsSL -o "$downloads/$name.part" "$MAVEN/$path"
    [ -f "$downloads/$name" ] || mv "$downloads/$name.part" "$downloads/$name"
    if ! echo "$sha256  $downloads/$name" | sha256sum --check --quiet; then
        rm -f "$downloads/$name"
        echo "$0: $MAVEN/$path does not match its pinned sha256" >&2
        exit 1
    fi
    cp "$downloads/$name" "$partial/lib/$name"
done

mkdir "$partial/log"
mv "$partial" "$dest"
echo "assemble-flink: $dest is ready (FLINK_HOME)"
