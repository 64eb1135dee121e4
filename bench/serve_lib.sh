# Shared by bench/serve_bench.sh and bench/serve_ab.sh. Source after setting `src` (the repository)
# and `work` (a scratch folder); sets `server` (the pid) for the caller's trap.

# bench_workspace BIN STORE TOKEN_FILE: the examples imported into a fresh workspace, with a
# developer-admin 'bench' whose API token is written to TOKEN_FILE.
bench_workspace() {
  local bin=$1 store=$2 token_file=$3
  "$bin" workspace import --store "$store" "$src"/examples/models/*.toml >/dev/null
  printf 'benchmark password 1\n' | "$bin" user add --store "$store" --name bench --role developer-admin >/dev/null
  "$bin" user token --store "$store" --name bench >"$token_file"
}

# bench_serve BIN STORE [SERVE_FLAGS...]: starts `flopline serve` on an OS-chosen port, no rate
# limit; sets $server and $url once it listens, and $det (a model's determination, its cache warmed).
bench_serve() {
  local bin=$1 store=$2
  shift 2
  # Removed first: the new server's redirection truncates it only once its process runs, and the
  # loop below must not read the previous server's address meanwhile.
  rm -f "$work/serve.out"
  "$bin" serve --store "$store" --listen 127.0.0.1:0 --rate-limit 0 "$@" >"$work/serve.out" 2>"$work/serve.err" &
  server=$!
  url=""
  for _ in $(seq 1 200); do
    url=$(sed -n 's/^listening on \(http:\/\/[0-9.:]*\)$/\1/p' "$work/serve.out")
    [[ -n "$url" ]] && break
    sleep 0.1
  done
  [[ -n "$url" ]] || { cat "$work/serve.err"; exit 1; }
  det="$url/api/v1/models/acme-f1-chat/determination?as_of=2026-11-23"
  curl -sf -H "Authorization: Bearer $(cat "$work/token")" "$det" >/dev/null  # warm the cache
}
