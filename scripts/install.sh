#!/bin/sh
# Put a `ggen` command on the PATH: the single file (dist/ggen.js, from `deno task bundle`) is
# copied to $PREFIX/share/ggen/ and a launcher in $PREFIX/bin runs it with Deno and ggen's
# permission scopes (never -A). Usage:
#   scripts/install.sh [--from dist/ggen.js] [--prefix ~/.local]
# The Deno binary is the one on the PATH, or $DENO; its absolute path goes into the launcher.
set -eu
from="$(dirname "$0")/../dist/ggen.js"
prefix="${HOME}/.local"
while [ $# -gt 0 ]; do
  case "$1" in
    --from) from="$2"; shift 2 ;;
    --prefix) prefix="$2"; shift 2 ;;
    *) echo "usage: $0 [--from dist/ggen.js] [--prefix DIR]" >&2; exit 2 ;;
  esac
done
deno="${DENO:-$(command -v deno || true)}"
if [ -z "$deno" ]; then
  echo "error: no deno on the PATH: install it (npm install -g deno@2.9.6) or set DENO=/path/to/deno" >&2
  exit 1
fi
if [ ! -f "$from" ]; then
  echo "error: $from does not exist: build it with \`deno task bundle\` or pass --from" >&2
  exit 1
fi
mkdir -p "$prefix/share/ggen" "$prefix/bin"
cp "$from" "$prefix/share/ggen/ggen.js.tmp" && mv "$prefix/share/ggen/ggen.js.tmp" "$prefix/share/ggen/ggen.js"
cat > "$prefix/bin/ggen.tmp" <<LAUNCHER
#!/bin/sh
# ggen launcher written by scripts/install.sh. Permissions: net (central registry, P2P sockets, the
# daemon's 127.0.0.1 control port), read/write (\$GGEN_HOME and the project: keys, cache, trust,
# config, .ggen/, ggen.lock), env (GGEN_* settings, HOME, NO_COLOR, DENO_CERT, PGPASSWORD, AWS_*),
# sys (network interfaces for mDNS and the P2P listen addresses). No run, no ffi.
# V8: semi-spaces of at most 1 MiB (the default grows to 16): a transfer's short-lived buffers are
# collected young instead of filling up to 48 MB of young generation in each of a daemon's two
# isolates; lower peak memory and faster transfers (bench:p2p measures both with this flag). Not
# for \`registry serve\`: a server answering many small requests collects young so much more often
# that its metadata GET p95 nearly doubled (bench:storage), so it keeps V8's defaults.
# Commands that end (all but \`p2p start\` and \`registry serve\`) also compile every function at once
# (--no-lazy): Deno's code cache then holds all of them, so later runs compile nothing, where V8
# would otherwise compile each function on its first call, run after run (the P2P fallback's
# worker, noise and DHT code above all). Not for the daemon: its idle RSS grew 15 MB. V8 refuses a
# code cache made under other flags, so each flag set loads the embedded parts from files of its
# own (src/core/embedded.ts); the first command after a daemon starts compiles this file again.
# The daemon also runs with glibc's malloc held to 2 arenas (yours wins if MALLOC_ARENA_MAX is set):
# each runtime thread otherwise keeps an arena of its own with what it freed (src/core/embedded.ts).
v8="--v8-flags=--max-semi-space-size=1,--no-lazy"
prev=""
for arg in "\$@"; do
  if [ "\$prev" = registry ] && [ "\$arg" = serve ]; then v8=""; fi
  if [ "\$prev" = p2p ] && [ "\$arg" = start ]; then
    v8="--v8-flags=--max-semi-space-size=1"
    export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX:-2}"
  fi
  prev="\$arg"
done
exec "$deno" run --quiet \$v8 --allow-net --allow-read --allow-write --allow-env --allow-sys "$prefix/share/ggen/ggen.js" "\$@"
LAUNCHER
chmod 755 "$prefix/bin/ggen.tmp" && mv "$prefix/bin/ggen.tmp" "$prefix/bin/ggen"
echo "Installed $prefix/bin/ggen (runs $prefix/share/ggen/ggen.js with $deno)"
case ":$PATH:" in *":$prefix/bin:"*) ;; *) echo "Add $prefix/bin to your PATH" ;; esac
