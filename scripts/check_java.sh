#!/usr/bin/env bash
# pyspark 4 runs on Java 17 or newer. Say so plainly before anything else is installed.
set -euo pipefail
required=17
java_bin="${JAVA_HOME:+$JAVA_HOME/bin/}java"
if ! command -v "$java_bin" >/dev/null 2>&1; then
  echo "ERROR: Java not found. pyspark 4 needs Java $required or newer:" >&2
  echo "       install a JDK (e.g. 'apt-get install openjdk-17-jdk-headless') or set JAVA_HOME." >&2
  exit 1
fi
version_line=$("$java_bin" -version 2>&1 | head -n 1)
version=$(echo "$version_line" | sed -E 's/.*version "([^"]+)".*/\1/')
major=${version%%.*}
[ "$major" = "1" ] && major=$(echo "$version" | cut -d. -f2)   # 1.8.0_x -> 8
if ! [[ "$major" =~ ^[0-9]+$ ]] || [ "$major" -lt "$required" ]; then
  echo "ERROR: $java_bin is Java $version; pyspark 4 needs Java $required or newer." >&2
  echo "       Install a newer JDK or point JAVA_HOME at one." >&2
  exit 1
fi
echo "Java $version found: OK for pyspark 4."
