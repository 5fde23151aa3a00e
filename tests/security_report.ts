/**
 * `deno task security-report`: render the figures the security tests wrote (tests/figures/)
 * into the marked table of SECURITY.md. The threat, mitigation and test of each row are written
 * here once; the figure, date and machine come from the last run. A row whose test has not run
 * says so instead of showing a stale number.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Figure, FIGURES_DIR } from "./figures.ts";

interface Row {
  key: string;
  threat: string;
  mitigation: string;
  test: string;
}

/** Issue 10: the attack run against the registry and the client */
const ROWS: Row[] = [
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
      "a locked id@version must have the locked sha256; the lock's publisher key is the pin on a fresh machine; only `ggen update` moves a lock; `ggen install` with no arguments restores exactly the lock",
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

const START = "<!-- security-report:start -->";
const END = "<!-- security-report:end -->";

function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

/** The rendered table */
export async function renderReport(): Promise<string> {
  const lines = [
    "| threat | mitigation | test | last run |",
    "| --- | --- | --- | --- |",
  ];
  for (const row of ROWS) {
    let last = "not run yet: run the test";
    try {
      const f = JSON.parse(await Deno.readTextFile(join(FIGURES_DIR, `${row.key}.json`))) as Figure;
      last = `${f.figure} (${f.date}, ${f.machine})`;
    } catch {
      // the test has not run on this checkout
    }
    lines.push(`| ${cell(row.threat)} | ${cell(row.mitigation)} | ${row.test} | ${cell(last)} |`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const path = fileURLToPath(new URL("../SECURITY.md", import.meta.url));
  const text = await Deno.readTextFile(path);
  const start = text.indexOf(START);
  const end = text.indexOf(END);
  if (start < 0 || end < start) throw new Error(`SECURITY.md lacks the ${START} … ${END} markers`);
  const next = `${text.slice(0, start + START.length)}\n\n${await renderReport()}\n\n${text.slice(end)}`;
  await Deno.writeTextFile(path, next);
  console.error(`SECURITY.md: ${ROWS.length} rows rendered from ${FIGURES_DIR}`);
}
