/**
 * The rows of SECURITY.md's tables for the later issues: P2P trust holes, availability with central
 * down, the web pages. As in security_rows.ts, each figure comes from its test's last run.
 * @module
 */
import type { Row } from "./security_rows.ts";

/** Issue 12: P2P trust holes closed so far */
export const P2P_ROWS: Row[] = [
  {
    key: "slow-drip",
    threat: "a provider drips one byte at a time under the stall timer and holds an install forever",
    mitigation:
      "a transfer deadline derived from the size: 5 s grace + size / minimum rate (16 KiB/s by default); the stall timer still covers silence; the provider is penalised and the next one tried",
    test: "tests/p2p_transfer_bounds_test.ts",
  },
  {
    key: "size-cap",
    threat: "a record declaring a huge size makes a client write gigabytes; a provider declares another size",
    mitigation:
      "the signed record's size is checked against `registry.p2p.max_package_bytes` (default 10 MiB, as central) before any lookup; a provider's declared total must equal the record's before its first byte; bytes stream to the cache (bounded memory)",
    test: "tests/p2p_transfer_bounds_test.ts",
  },
  {
    key: "disk-space",
    threat: "a download whose declared size (under a raised `max_package_bytes`) does not fit on the disk fills it",
    mitigation:
      "the cache checks the declared size against the free space of its filesystem (statfs) before the first byte, keeping a 64 MiB margin, and says how much is free and what to do",
    test: "src/store/cache_test.ts",
  },
  {
    key: "signed-announcements",
    threat:
      "unsigned or mismatched catalog entries and announcements accepted, stored and re-served; announcement floods; escape characters from peers",
    mitigation:
      "every announcement and catalog answer must carry the publisher's signature over exactly its id, version, sha256, size and dependencies, verified on receipt (gossip validator, catalog answers, local announce) and stored with the entry so re-served entries verify; text with control or bidi characters refused; a banned signer ignored even when relayed; per-peer announcement rate (burst 64, then 10/s) with a reputation cost; a quota of 1,000 entries per publisher key and a 50,000-entry catalog that evicts the oldest; unsigned entries of older catalogs dropped",
    test: "tests/announce_trust_test.ts, src/p2p/catalog_test.ts",
  },
  {
    key: "index-laundering",
    threat:
      "an attacker's index record (the DHT keeps the last PUT) hides the owner's versions or merges into the index the owner signs next",
    mitigation:
      "a publisher's index lists only versions from its own previous index (kept locally per signer); readers union every signer's index, so no signer hides another and the trust policy decides between them",
    test: "tests/index_laundering_test.ts",
  },
  {
    key: "slot-flood",
    threat:
      "connection-slot exhaustion: hundreds of idle peers from a few IPs (under the per-IP cap) fill maxConnections; newcomers refused, bootstrap links pruned",
    mitigation:
      "a fifth of the slots is kept for the node's own dials; a full inbound share closes the idle connection of the most crowded IP (oldest first) for a newcomer, and that IP is refused while the slots stay full (30 s); bootstrap, allow-listed and verified-transfer peers are never closed; discovery dials stop at the inbound share; libp2p gets a tenth of headroom so ggen's gate, not libp2p, decides",
    test: "tests/connection_flood_test.ts",
  },
  {
    key: "flood-recovery",
    threat:
      "routing-table poisoning: a flood of short-lived DHT peers leaves the victim's and its neighbours' tables full of dead entries; lookups fail for minutes",
    mitigation:
      "at most 4 routing-table entries per IP (`max_routing_entries_per_ip`); entries without a connection are pinged every 30 s and removed after two failures (the ping's connection is closed again); lookups also ask connected peers directly",
    test: "tests/connection_flood_test.ts",
  },
  {
    key: "eclipse-message",
    threat: 'an eclipsed node (only attacker or silent peers) reports a plain "not found"',
    mitigation:
      "the error counts the connected peers asked, those that answer a ping and those silent, the routing-table size, and points to a trusted bootstrap peer; with no peer at all it says it could not connect to any",
    test: "tests/eclipse_test.ts",
  },
  {
    key: "version-squatting",
    threat:
      "a peer signs versions of an id another key publishes (a higher version, or the first one a fresh node sees)",
    mitigation:
      "with a pinned key (trust store or ggen.lock) or `trusted_publishers`, only versions signed by those keys are considered and the highest of them is chosen; on first use, versions signed by different keys are refused naming every fingerprint; a refusal never suggests trusting a key only peers vouch for; on first use a version counts only when `min_sources` distinct peers (default 3, this node not counted) vouch for it (returned its signed record or catalog entry, announced holding it in a gossip message they signed, or provide the bytes it names), else the refusal says how many did",
    test: "src/trust/peer_trust_test.ts",
  },
];

/** Issue 13: availability with central down */
export const AVAILABILITY_ROWS: Row[] = [
  {
    key: "reshare",
    threat: "central down: a package published to central and held by LAN peers cannot be resolved from peers",
    mitigation:
      "a daemon that fetched from central re-shares what the publisher signed: the version record (DHT) and a catalog announcement, besides the provider record; a client verifies them against the publisher's key as it does central's answers",
    test: "tests/reshare_test.ts",
  },
  {
    key: "registry-authority",
    threat:
      "central down: a squatter's versions of an id central published compete with the owner's on the P2P network",
    mitigation:
      "a daemon serves central's signed documents it verified (`/ggen/metadata/1.0.0`); a client with the registry key pinned (config, or an earlier central contact) takes the newest one that verifies against that key (seq, digest, no rollback) as the authority, so other signers' versions are never considered; documents that fail cost the peer reputation",
    test: "tests/reshare_test.ts",
  },
  {
    key: "catalog-holders",
    threat:
      "central down: every download waits for a DHT provider walk although a connected peer just said it holds the package",
    mitigation:
      "peers whose own catalog answer (while resolving the id) names themselves as the announcer are asked for the bytes first, at most 3, before any lookup; the bytes are checked against the signed sha256 as any provider's, a failure costs reputation and the DHT's providers are asked next",
    test: "tests/reshare_test.ts",
  },
  {
    key: "lock-restore",
    threat: "central down: a project with a committed ggen.lock cannot be restored",
    mitigation:
      "`ggen install` with no arguments (and `--locked`) installs exactly what the lock pins without asking for metadata: the lock's sha256 is the trust anchor, checked by the cache on every byte, from central, peers or the cache",
    test: "tests/reshare_test.ts, tests/attack_install_test.ts",
  },
  {
    key: "lan-availability",
    threat:
      "central down on a LAN: packages published to central the normal way, held by some daemons, a third of the daemons gone",
    mitigation:
      "holders re-share the publisher-signed version records and announcements; fresh clients resolve a package from the connected peers' catalogs (every entry carries the publisher's signature, verified; the peers returning it and the providers of its bytes count toward min_sources), else from the DHT records, and fetch from live providers; committed locks restore by sha256",
    test: "tests/lan_availability_test.ts",
  },
  {
    key: "multi-source",
    threat: "one slow or stalling provider holds a large download back",
    mitigation:
      "blobs of 4 MiB and more come in 1 MiB pieces from up to 4 providers at once; each pulls the next missing piece, a failing or stalling one gives its piece back and leaves (and is penalised); the whole is verified, and a bad whole is retried one source at a time to find the liar",
    test: "tests/multi_source_test.ts",
  },
  {
    key: "offline",
    threat: "central down: nothing a command fetched before helps the next one (metadata lived in one process)",
    mitigation:
      "central's signed documents are kept in `$GGEN_HOME/metadata` once verified, re-verified on every read against the pinned registry key (rollback still refused; only the expiry is forgiven for a kept copy); hybrid mode asks them after central, `--offline` alone (no connection at all), `--prefer-offline` first",
    test: "tests/offline_test.ts, tests/trust_test.ts",
  },
  {
    key: "central-health",
    threat: "a central registry that accepts connections and never answers costs every command its timeouts",
    mitigation:
      "hedged fallback: when central has not answered within an adaptive delay (4x its average answer time, 150 ms-2 s, 300 ms at first) the next backends are asked in parallel and the first answer wins; the circuit breaker outlives the command (`$GGEN_HOME/backend-health.json`, keyed by the central URL, 30 s): the next commands go to peers at once and say why on stderr",
    test: "tests/central_health_test.ts",
  },
];

/** Issue 17: the registry's web pages and the daemon's dashboard */
export const WEB_ROWS: Row[] = [
  {
    key: "registry-pages",
    threat:
      "a publisher's description or README runs script in visitors' browsers (`<script>`, event handlers, `javascript:` links, frames, styles)",
    mitigation:
      "registry pages are rendered on the server with no script of their own; every publisher text is HTML-escaped; the README is rendered with marked and sanitised with sanitize-html (an allow-list of tags and attributes, http/https/mailto links only, links get rel=nofollow noopener noreferrer); a Content-Security-Policy of `default-src 'none'` with only the registry's stylesheet",
    test: "tests/registry_pages_test.ts",
  },
  {
    key: "dashboard",
    threat:
      "a web page or another local user drives the daemon's dashboard (no sign-in, CSRF, DNS rebinding) or a peer's data scripts it",
    mitigation:
      "a one-time link from `ggen p2p ui` (asked over the HMAC-authenticated control API, valid 2 minutes) is exchanged for an HttpOnly, SameSite=Strict session cookie; every other request needs it; a foreign Host (421) or Origin, or a cross-site fetch (403) is refused; CSP `default-src 'none'; script-src 'self'` with the graph library served by the daemon itself; peer data reaches the page only as text",
    test: "tests/dashboard_test.ts",
  },
];
