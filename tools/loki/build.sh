#!/usr/bin/env bash
# Prints the path of the Grafana Loki server the e2e tests start, building it
# first when it is not cached: Debian has no Loki package, so it is built
# from the version tools/loki/go.mod pins (a few minutes of downloads and
# about 10 minutes of compiling on 2 cores, 3 GB of memory). The binary is
# cached under the Go build cache, keyed by that version, so a developer
# builds it once; CI, on a fresh machine, once per run.
#
# Only the path goes to stdout; progress goes to stderr.
#
# Bump Loki: copy the replace/exclude lines of the new version's go.mod into
# go.mod (all but its local ./pkg/push replace), then
# go get -tool github.com/grafana/loki/v3/cmd/loki@vX.Y.Z here.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$here"

# The go line selects the toolchain: keep it the main module's, so this
# builds with the Go that builds rca rather than fetching another one.
main_go=$(awk '$1 == "go" { print $2; exit }' ../../go.mod)
tools_go=$(awk '$1 == "go" { print $2; exit }' go.mod)
if [[ "$main_go" != "$tools_go" ]]; then
	echo "tools/loki/go.mod says go $tools_go but go.mod says go $main_go: make them equal" >&2
	exit 1
fi

version=$(awk '$1 == "github.com/grafana/loki/v3" { print $2; exit }' go.mod)
if [[ -z "$version" ]]; then
	echo "tools/loki/go.mod does not require github.com/grafana/loki/v3" >&2
	exit 1
fi

cache=$(go env GOCACHE)
if [[ -z "$cache" || "$cache" == off ]]; then
	echo "the Go build cache is off (GOCACHE=$cache): nowhere to keep the Loki binary" >&2
	exit 1
fi
out="$cache/rca-tools/loki-$version/loki"
if [[ -x "$out" ]]; then
	echo "$out"
	exit 0
fi

mkdir -p "$(dirname "$out")"
# Leftovers of builds that were killed outright (their trap never ran).
find "$(dirname "$out")" -maxdepth 1 -name 'loki.tmp.*' -mmin +120 -delete 2>/dev/null || true
# Build beside the target and rename: an interrupted build leaves no binary
# that the next run would take for a good one.
tmp=$(mktemp "$out.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT

echo "building Grafana Loki $version into $out (takes about 12 minutes the first time)" >&2
started=$SECONDS
# The flags of Loki's own Makefile: static, stripped (smaller, and the
# linker needs less memory), with the version -version prints.
vprefix=github.com/grafana/loki/v3/pkg/util/build
CGO_ENABLED=0 go build -trimpath -tags netgo \
	-ldflags "-s -w -X $vprefix.Version=$version -X $vprefix.Branch=HEAD -X $vprefix.Revision=$version" \
	-o "$tmp" github.com/grafana/loki/v3/cmd/loki
"$tmp" -version >/dev/null
mv -f "$tmp" "$out"
echo "built $out in $((SECONDS - started))s ($(du -h "$out" | cut -f1))" >&2
echo "$out"
