#!/usr/bin/env bash
# Fetch Apache ECharts for the dashboard (starter/api/routes/dashboard.py) at INSTALL time, never at
# run time: `npm pack` the pinned version from the npm registry, check the tarball against
# the integrity recorded here (the registry's dist.integrity), and keep only
# dist/echarts.min.js with its LICENSE and NOTICE (Apache-2.0) in the git-ignored folder.
# Usage: scripts/fetch_echarts.sh <dest dir>   (the Makefile's target calls it)
set -euo pipefail
VERSION="6.1.0"
INTEGRITY="sha512-q0yaFPggC9FUdsWH4blavRWFmxdrIodbkoKNAjJudAI6CA9gNPxHtV2RcZNEepZVlk4yvBYkOkbk6HIVpIyHZA=="
DEST="${1:?usage: $0 <dest dir>}"
command -v npm >/dev/null || { echo "npm not found: apt-get install npm (needed once, to fetch ECharts)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "echarts@${VERSION}" >/dev/null)
tarball="$work/echarts-${VERSION}.tgz"
got="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [ "$got" != "$INTEGRITY" ]; then
    echo "echarts@${VERSION}: integrity mismatch (got $got, want $INTEGRITY)" >&2
    exit 1
fi
tar -xzf "$tarball" -C "$work" package/dist/echarts.min.js package/LICENSE package/NOTICE
mkdir -p "$DEST"
cp "$work/package/LICENSE" "$DEST/echarts.LICENSE"
cp "$work/package/NOTICE" "$DEST/echarts.NOTICE"
# The script last, by rename: its presence means a complete, checked fetch.
cp "$work/package/dist/echarts.min.js" "$DEST/.echarts.min.js.part"
mv "$DEST/.echarts.min.js.part" "$DEST/echarts.min.js"
echo "echarts@${VERSION} -> $DEST/echarts.min.js (integrity checked)"
