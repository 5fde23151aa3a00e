/**
 * The rows of SECURITY.md's tables: each threat, its mitigation and its test, written once. The
 * figure of each row comes from its test's last run (tests/figures/), never from here. The rows of
 * the later issues (P2P trust, availability, web pages) are in security_rows_later.ts.
 * @module
 */

/** One row: `key` names the figure the test records */
export interface Row {
  key: string;
  threat: string;
  mitigation: string;
  test: string;
}

/** The first version's threats (trust, registry hardening, P2P hardening) */
export const EARLIER_ROWS: Row[] = [
  {
    key: "trust",
    threat:
      "forged or replayed signatures and metadata: a version signed by another key, a foreign-signed version from a compromised registry database, mix-and-match, unknown key ids, rollback, freeze, fast-forward, tampered versions, endless data; unsigned, non-owner and replayed-seq publishes; and the legitimate key rotation walk",
    mitigation:
      "publisher signature over exactly id, version, sha256, size and dependencies + the pinned key (a change only through a signed owner log); registry-signed metadata with seq, expiry and a digest of the versions, only the registry key's seq counts; 8 MiB metadata cap, 64 KiB envelope payload cap; the server verifies the envelope, owner binding and a growing seq",
    test: "tests/trust_test.ts",
  },
  {
    key: "token-matrix",
    threat: "token theft / over-broad tokens",
    mitigation: "`ggen_` + checksum tokens, stored as SHA-256 only, scopes, id prefix, expiry, revoke",
    test: "tests/registry_hardening_test.ts",
  },
  {
    key: "token-dump",
    threat: "token theft / over-broad tokens",
    mitigation: "`ggen_` + checksum tokens, stored as SHA-256 only, scopes, id prefix, expiry, revoke",
    test: "tests/registry_hardening_test.ts",
  },
  {
    key: "oversized",
    threat: "oversized upload",
    mitigation: "10 MB limit; refused on Content-Length before reading, or at limit+1 without it",
    test: "tests/registry_hardening_test.ts",
  },
  {
    key: "slow-headers",
    threat: "slow client (slowloris)",
    mitigation:
      "Node's HTTP server (as Deno ships it) gives each request head a deadline (10 s default, 408), each request one (120 s) and idle keep-alive connections 5 s; request bodies have their own deadline (30 s default)",
    test: "tests/registry_hardening_test.ts",
  },
  {
    key: "slow-body",
    threat: "slow client (slowloris)",
    mitigation:
      "Node's HTTP server (as Deno ships it) gives each request head a deadline (10 s default, 408), each request one (120 s) and idle keep-alive connections 5 s; request bodies have their own deadline (30 s default)",
    test: "tests/registry_hardening_test.ts",
  },
  {
    key: "hostile-archives",
    threat:
      "hostile archives (22 classes, 28 cases: absolute, `..`, `..\\`, drive paths, links out, dir-then-symlink, hardlinks, devices, fifo, NFC/NFD and case collisions, NUL in PAX path, PAX size mismatch, negative base-256 size, depth > 1024, over-long path, duplicates, install marker, truncated gzip, 10 GiB gzip bomb)",
    mitigation:
      "only files and directories; path, depth, count, size, inflate limits; exclusive creates in a fresh target",
    test: "tests/hostile_test.ts (corpus from tests/hostile/corpus.ts)",
  },
  {
    key: "fuzz",
    threat: "malformed input",
    mitigation: "typed errors only",
    test: "tests/fuzz_test.ts (fast-check)",
  },
  {
    key: "tamper",
    threat: "tampered bytes in transit or at rest",
    mitigation: "SHA-256 verified into a temp file before rename; corrupt cache entries evicted",
    test: "tests/tamper_test.ts",
  },
  {
    key: "crash-install",
    threat: "crash during install",
    mitigation:
      "unpack to a temp dir, completion marker written last (an archive's own marker is ignored, CVE-2022-36113), rename, lockfile last; repair and temp cleanup on the next run",
    test: "tests/crash_test.ts",
  },
  {
    key: "crash-publish",
    threat: "crash during publish",
    mitigation: "blob first, row second in one transaction; orphan blobs collected at start",
    test: "tests/crash_test.ts",
  },
  {
    key: "dht-poisoning",
    threat: "DHT poisoning: unsigned, wrongly signed, other-package, oversized records",
    mitigation:
      "kad-dht validator for `/ggen/` verifies the publisher's DSSE signature and that it names exactly this record, on put and on get",
    test: "tests/p2p_records_test.ts (a stock peer with a permissive validator puts them)",
  },
  {
    key: "dht-replay",
    threat: "DHT replay: an older valid record put after a newer one (js kad-dht keeps the last PUT)",
    mitigation:
      "the client selects the highest signed seq across peers and keeps a persisted high-water record per key",
    test: "tests/p2p_records_test.ts",
  },
  {
    key: "lying-providers",
    threat: "lying providers (wrong bytes, truncation, stalls)",
    mitigation:
      "verify before store; one checksum mismatch bans the peer for an hour; stalls cost a timer and reputation; next provider",
    test: "tests/poisoning_test.ts",
  },
  {
    key: "sybil",
    threat: "Sybil: many hostile peers that join the DHT, provide the package, and garble, stall or drop every fetch",
    mitigation:
      "every provider a lookup keeps (20) may be tried; 1 s stall timer in the run; verification before store; reputation bans",
    test: "tests/sybil_test.ts",
  },
  {
    key: "provider-flood",
    threat: "provider flooding: one peer answers GET_PROVIDERS with 10,000 fake providers",
    mitigation:
      "js kad-dht ends a lookup at kBucketSize providers, so a flood could crowd out honest ones: an answer with more than 100 providers is dropped, its sender banned and the lookup repeated; at most 5 providers kept per responder, 20 in all",
    test: "tests/provider_flood_test.ts (a hand-written Kademlia responder)",
  },
  {
    key: "stalling-providers",
    threat: "stalling or vanishing providers",
    mitigation: "5 s stall timer, disconnect detection, failover, reputation penalty",
    test: "tests/p2p_test.ts",
  },
  {
    key: "reputation",
    threat: "reputation",
    mitigation:
      "score per PeerId (verified +1, wrong bytes -50, stall -10, invalid record -10, invalid announcement -5), half-life 1 h, ban at -40 for 1 h through the connection gater, persisted in `$GGEN_HOME/reputation.json`; `ggen p2p ban/unban`, scores in `ggen p2p peers`",
    test: "src/p2p/reputation_test.ts, tests/p2p_limits_test.ts",
  },
  {
    key: "gossip-flood",
    threat: "gossip flooding with invalid announcements",
    mitigation:
      "StrictSign; topic validator (schema, signer = `peer_id`) rejects with a P4 penalty and a reputation hit; explicit score thresholds (gossip -10, publish -20, graylist -40); IP colocation factor; reputation as app score",
    test: "tests/gossip_test.ts",
  },
  {
    key: "connection-flood",
    threat: "connection floods from one address",
    mitigation:
      "per-IP cap in `connectionGater.denyInboundConnection` (default 8, like go-libp2p), `maxIncomingPendingConnections` 64, `inboundConnectionThreshold`",
    test: "tests/p2p_limits_test.ts",
  },
  {
    key: "half-open",
    threat: "connection floods from one address",
    mitigation:
      "per-IP cap in `connectionGater.denyInboundConnection` (default 8, like go-libp2p), `maxIncomingPendingConnections` 64, `inboundConnectionThreshold`",
    test: "tests/p2p_limits_test.ts",
  },
  {
    key: "stream-flood",
    threat: "stream floods on the fetch protocol",
    mitigation:
      "at most 16 concurrent fetch streams per connection (libp2p resets the rest); per-peer token bucket (burst 32, then 10/s)",
    test: "tests/p2p_streams_test.ts",
  },
  {
    key: "stream-sequential",
    threat: "stream floods on the fetch protocol",
    mitigation:
      "at most 16 concurrent fetch streams per connection (libp2p resets the rest); per-peer token bucket (burst 32, then 10/s)",
    test: "tests/p2p_streams_test.ts",
  },
  {
    key: "closed-network",
    threat: "unknown peers on a closed network",
    mitigation: "allow/deny lists of PeerIds and CIDR ranges (`[registry.p2p.security]`) in the connection gater",
    test: "tests/p2p_limits_test.ts",
  },
  {
    key: "pnet",
    threat: "outsiders on a private network",
    mitigation:
      "`@libp2p/pnet` pre-shared key (`ggen p2p psk generate`, `registry.p2p.psk_file`); `registry.p2p.private = true` without a key refuses to start; address dial timeout 750 ms with a key",
    test: "tests/pnet_test.ts, tests/mdns_test.ts",
  },
  {
    key: "mdns",
    threat: "outsiders on a private network",
    mitigation:
      "`@libp2p/pnet` pre-shared key (`ggen p2p psk generate`, `registry.p2p.psk_file`); `registry.p2p.private = true` without a key refuses to start; address dial timeout 750 ms with a key",
    test: "tests/pnet_test.ts, tests/mdns_test.ts",
  },
  {
    key: "central-faults",
    threat: "central registry under faults (design §5)",
    mitigation:
      "retries with backoff on timeouts, immediate fallback on reset / refused / 5xx / broken bodies, circuit breaker",
    test: "tests/central_faults_test.ts",
  },
  {
    key: "privacy",
    threat: "privacy: leaking what you install to the DHT (with and without a daemon)",
    mitigation:
      "hybrid mode starts no P2P node while central answers; a running daemon provides what it fetched, by design (it shares with the LAN)",
    test: "tests/hybrid_test.ts",
  },
];

/** Issue 10: the attack run against the registry and the client */
export const ATTACK_RUN_ROWS: Row[] = [
  {
    key: "traversal",
    threat: "ids, versions or dependencies from a registry, the lockfile or trust.toml that leave the project",
    mitigation:
      "every id and version checked at each boundary (central answers, DHT records, gossip, catalog answers, ggen.lock, trust.toml) before any path is built; install paths resolved and checked to stay under `.ggen/packages`; the dependency table is inside the publisher's signed statement and checked before resolution follows it",
    test: "tests/attack_install_test.ts",
  },
  {
    key: "idle-flood",
    threat: "idle connections exhaust the registry's descriptors (EMFILE) and it stays down",
    mitigation:
      "Node's HTTP server owns each connection: head deadline 10 s, request deadline 120 s, keep-alive idle 5 s; global cap below the descriptor headroom measured at start, per-IP cap 64; at the cap the longest-idle connection of the heaviest address is closed, else 503 and the socket closed at once",
    test: "tests/attack_registry_test.ts",
  },
  {
    key: "smuggling",
    threat:
      "request smuggling through a front that parses differently from the backend; spoofed client address; a loopback backend other local users can reach",
    mitigation:
      "no front and no proxy: one strict parser (llhttp in Node's HTTP server) per connection; the client address comes from the socket; the registry listens on one socket only",
    test: "tests/attack_registry_test.ts",
  },
  {
    key: "yank",
    threat: "any token holder yanks or unyanks anyone's package",
    mitigation:
      "yank/unyank need the `yank` scope and a statement signed by a current owner at the package's current metadata seq (a replay is refused)",
    test: "tests/attack_registry_test.ts",
  },
  {
    key: "lockfile",
    threat: "a registry serves other bytes or another signer for a locked version; the lock is silently rewritten",
    mitigation:
      "a locked id@version must have the locked sha256; the lock's publisher key is the pin on a fresh machine, and its `[registry]` key the registry's (another registry's documents are refused); only `ggen update` moves a lock; `ggen install` with no arguments restores exactly the lock",
    test: "tests/attack_install_test.ts",
  },
  {
    key: "stripped-signature",
    threat: "a proxy strips or alters the registry's metadata signature once its key is pinned; `info` never verified",
    mitigation:
      "once the registry key is pinned or configured, every central document must carry a valid signature; `info` and `install` verify the same way",
    test: "tests/attack_install_test.ts",
  },
  {
    key: "client-memory",
    threat: "endless response bodies exhaust client memory",
    mitigation:
      "every body the client reads is capped: metadata 8 MiB, search 1 MiB, error bodies, keys and owners 64 KiB, daemon answers 16 MiB",
    test: "tests/attack_install_test.ts",
  },
  {
    key: "terminal",
    threat: "ESC, CR, BEL, NUL and bidi characters in names and descriptions rewrite the user's terminal",
    mitigation:
      "refused at publish (manifest validation, client and server); every line the CLI prints or logs escapes control, bidi and invisible characters",
    test: "tests/attack_install_test.ts",
  },
  {
    key: "malformed",
    threat:
      "malformed answers surface as raw TypeErrors; a document for another id installs nothing and exits 0; cross-origin redirects followed",
    mitigation:
      "shape validation of every answer at the client boundary with errors naming the field; redirects followed only within the registry's origin",
    test: "tests/attack_install_test.ts",
  },
  {
    key: "rate-limit",
    threat: "any Authorization header bypasses the search and download limits; token prefixes are raw string prefixes",
    mitigation:
      "only a known, unrevoked, unexpired token gets its own bucket, anything else is limited by the socket's address; prefixes match whole id segments",
    test: "tests/attack_registry_test.ts, tests/registry_hardening_test.ts",
  },
  {
    key: "parameters",
    threat: "fractional or huge limit/offset and broken percent-escapes answer 500",
    mitigation: "strict whole-number parameters and percent-decoding errors are 400",
    test: "tests/attack_registry_test.ts",
  },
  {
    key: "daemon",
    threat:
      "a stale daemon.json sends the daemon secret to whoever squats the port; a hanging squatter hangs the CLI; DNS rebinding; huge bodies",
    mitigation:
      "HMAC-SHA256 both ways (the secret never travels): requests carry a MAC over nonce, method, path and body; answers a MAC over nonce and body; nonces are single-use; constant-time comparison; a deadline on every call; Host checked; bodies capped at 1 MiB",
    test: "tests/daemon_auth_test.ts",
  },
  {
    key: "token-revoke",
    threat: "`token revoke TOKEN` puts the secret in `ps` and the shell history",
    mitigation: "revoke by the token id printed at creation, or `--stdin`; a secret on the command line is refused",
    test: "tests/attack_registry_test.ts",
  },
  {
    key: "client-fuzz",
    threat: "hostile shapes in any answer a client parses",
    mitigation:
      "property tests of every client-side parser (central documents, search, keys, owners, daemon answers, DHT records, announcements and catalog answers)",
    test: "tests/fuzz_client_test.ts",
  },
];
