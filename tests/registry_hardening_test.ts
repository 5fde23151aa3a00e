/**
 * Registry hardening: the token scope × endpoint matrix, prefix-limited, expired and revoked
 * tokens, no token in a dump of the database, 429 with Retry-After, and 413 before the body is
 * read. Real server, real signed requests.
 */
import { recordFigure } from "./figures.ts";
import assert from "node:assert/strict";
import { join } from "node:path";
import { packDirectory } from "../src/archive/mod.ts";
import { apiPaths, SHA256_HEADER } from "../src/core/api.ts";
import { type OwnersStatement, PAYLOAD_TYPES, signEnvelope, type YankStatement } from "../src/core/envelope.ts";
import { toBase64 } from "../src/core/bytes.ts";
import { silentLogger } from "../src/core/logger.ts";
import { versionFromManifest } from "../src/core/package.ts";
import {
  createToken,
  hashToken,
  isWellFormedToken,
  startRegistryServer,
  TOKEN_SCOPES,
} from "../src/registry/server/mod.ts";
import { generateKey, loadSigner, signVersion } from "../src/trust/mod.ts";
import { putSignedVersion, tempDir, writePackage } from "./helpers.ts";

Deno.test("registry: scope x endpoint matrix, token lifecycle, no token at rest", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    rateLimits: {},
  });
  try {
    await generateKey(work.path, "k");
    const signer = await loadSigner(work.path, "k");
    let n = 0;
    const publish = async (token: string, id: string, version: string) => {
      const packed = await packDirectory(await writePackage(join(work.path, `p${n++}`), { id, version }));
      const v = await signVersion(versionFromManifest(packed.manifest, packed), signer, Date.now() + n);
      return await putSignedVersion(server.url, token, packed, v);
    };
    const admin = (await createToken(server.metadata, { name: "admin" })).token;
    assert.equal((await publish(admin, "io.matrix.base", "1.0.0")).status, 201);
    let ownerSeq = 0;
    const endpoints: Record<string, (token: string, i: number) => Promise<Response>> = {
      "publish-new": (t, i) => publish(t, `io.matrix.new${i}`, "1.0.0"),
      "publish-update": (t, i) => publish(t, "io.matrix.base", `1.1.${i}`),
      // Yank needs the scope and a statement signed by an owner (attack_registry_test.ts has that matrix)
      "yank": async (t) => {
        const statement: YankStatement = {
          type: "ggen.yank/1",
          package_id: "io.matrix.base",
          version: "1.0.0",
          yanked: true,
          package_seq: await server.metadata.packageSeq("io.matrix.base"),
          timestamp: new Date().toISOString(),
        };
        const res = await fetch(server.url + apiPaths.yank("io.matrix.base", "1.0.0"), {
          method: "POST",
          headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
          body: JSON.stringify(await signEnvelope(PAYLOAD_TYPES.yank, statement, signer)),
        });
        return res;
      },
      "owners": async (t) => {
        const other = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]) as CryptoKeyPair;
        const raw = new Uint8Array(await crypto.subtle.exportKey("raw", other.publicKey));
        const { fingerprint } = await import("../src/core/envelope.ts");
        const statement: OwnersStatement = {
          type: "ggen.owners/1",
          package_id: "io.matrix.base",
          action: "add",
          keyid: fingerprint(raw),
          public_key: toBase64(raw),
          seq: ownerSeq + 1,
          timestamp: new Date().toISOString(),
        };
        const res = await fetch(server.url + apiPaths.owners("io.matrix.base"), {
          method: "POST",
          headers: { authorization: `Bearer ${t}`, "content-type": "application/json" },
          body: JSON.stringify(await signEnvelope(PAYLOAD_TYPES.owners, statement, signer)),
        });
        if (res.ok) ownerSeq++;
        return res;
      },
    };
    const issued: string[] = [admin];
    let unauthorizedSuccesses = 0;
    let authorizedFailures = 0;
    let cell = 0;
    const rows: string[] = [];
    for (const scope of TOKEN_SCOPES) {
      const token = (await createToken(server.metadata, { name: scope, scopes: [scope] })).token;
      issued.push(token);
      const row: string[] = [];
      for (const [endpoint, call] of Object.entries(endpoints)) {
        const res = await call(token, cell++);
        await res.body?.cancel();
        const allowed = endpoint === scope;
        if (!allowed && res.status !== 401) unauthorizedSuccesses++;
        if (allowed && !res.ok) authorizedFailures++;
        row.push(`${endpoint}:${res.status}`);
      }
      rows.push(`  ${scope.padEnd(15)} ${row.join("  ")}`);
    }
    console.log(
      `  scope x endpoint (status codes):\n${rows.join("\n")}\n  unauthorised successes: ${unauthorizedSuccesses}`,
    );
    await recordFigure(
      "token-matrix",
      String(`unauthorised successes in the scope x endpoint matrix: ${unauthorizedSuccesses}`).trim(),
    );
    assert.equal(unauthorizedSuccesses, 0);
    assert.equal(authorizedFailures, 0);

    const prefixed = (await createToken(server.metadata, { name: "acme", idPrefix: "io.acme" })).token;
    issued.push(prefixed);
    assert.equal((await publish(prefixed, "io.other.pkg", "1.0.0")).status, 401);
    // Prefixes match whole id segments: "io.acme" does not admit "io.acmeevil.pkg"
    assert.equal((await publish(prefixed, "io.acmeevil.pkg", "1.0.0")).status, 401);
    assert.equal((await publish(prefixed, "io.acme.pkg", "1.0.0")).status, 201);
    const expiring = await createToken(server.metadata, { name: "old" });
    issued.push(expiring.token);
    await server.metadata.insertToken({
      ...expiring.row,
      hash: hashToken("ggen_unused"),
      expires_at: "2000-01-01T00:00:00Z",
    });
    const expired = await createToken(server.metadata, { name: "expired", expiresInDays: 1 });
    issued.push(expired.token);
    await server.metadata.revokeToken(expired.row.hash);
    const revokedRes = await publish(expired.token, "io.acme.rev", "1.0.0");
    assert.equal(revokedRes.status, 401);
    assert.match((await revokedRes.json()).message, /unknown or revoked/);
    assert.ok(issued.every(isWellFormedToken));
    assert.equal(isWellFormedToken(admin.slice(0, -1) + (admin.endsWith("0") ? "1" : "0")), false);

    // A dump of the database files holds no issued token
    await server.stop();
    let dump = "";
    for (const f of Deno.readDirSync(join(work.path, "reg"))) {
      if (f.isFile) dump += new TextDecoder("latin1").decode(await Deno.readFile(join(work.path, "reg", f.name)));
    }
    const found = issued.filter((t) => dump.includes(t) || dump.includes(t.slice(5, 25)));
    console.log(`  database dump: ${dump.length} bytes, ${issued.length} issued tokens, ${found.length} found`);
    await recordFigure(
      "token-dump",
      String(`  database dump: ${dump.length} bytes, ${issued.length} issued tokens, ${found.length} found`).trim(),
    );
    assert.deepEqual(found, []);
  } finally {
    await server.stop();
  }
});

Deno.test("registry: 429 with Retry-After, and 413 before the body is read", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    rateLimits: { search: { burst: 3, refillMs: 60_000 } },
  });
  try {
    const statuses: number[] = [];
    let retryAfter = "";
    for (let i = 0; i < 5; i++) {
      const res = await fetch(server.url + apiPaths.search("x", 5, 0));
      statuses.push(res.status);
      if (res.status === 429) retryAfter = res.headers.get("retry-after") ?? "";
      await res.body?.cancel();
    }
    assert.deepEqual(statuses, [200, 200, 200, 429, 429]);
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60);

    const token = (await createToken(server.metadata)).token;
    const declared = await fetch(server.url + apiPaths.version("io.big.pkg", "1.0.0"), {
      method: "PUT",
      body: new Uint8Array(11 * 1024 * 1024),
      headers: { authorization: `Bearer ${token}`, [SHA256_HEADER]: "0".repeat(64) },
    });
    assert.equal(declared.status, 413);
    assert.match((await declared.json()).message, /read 0 bytes/);
    let sent = 0;
    const chunked = await fetch(server.url + apiPaths.version("io.big.pkg", "1.0.0"), {
      method: "PUT",
      body: new ReadableStream({
        pull(c) {
          if (sent >= 50 * 1024 * 1024) return c.close();
          sent += 1024 * 1024;
          c.enqueue(new Uint8Array(1024 * 1024));
        },
      }),
      headers: { authorization: `Bearer ${token}`, [SHA256_HEADER]: "0".repeat(64) },
    });
    assert.equal(chunked.status, 413);
    const message = (await chunked.json()).message as string;
    const read = Number(/read (\d+) bytes/.exec(message)?.[1]);
    console.log(`  413 without Content-Length: server read ${read} bytes of a 50 MiB body (limit 10 MiB)`);
    await recordFigure(
      "oversized",
      String(`  413 without Content-Length: server read ${read} bytes of a 50 MiB body (limit 10 MiB)`).trim(),
    );
    assert.ok(read > 10 * 1024 * 1024 && read <= 11 * 1024 * 1024);
  } finally {
    await server.stop();
  }
});

Deno.test("registry: a client that trickles its body is cut off at the body deadline", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    bodyTimeoutMs: 500,
  });
  try {
    const token = (await createToken(server.metadata)).token;
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const started = performance.now();
    await conn.write(new TextEncoder().encode(
      `PUT ${apiPaths.version("io.slow.pkg", "1.0.0")} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\n` +
        `x-ggen-sha256: ${"0".repeat(64)}\r\ncontent-length: 100000\r\n\r\n`,
    ));
    const trickle = setInterval(() => void conn.write(new Uint8Array(1)).catch(() => {}), 100);
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    clearInterval(trickle);
    const seconds = (performance.now() - started) / 1000;
    const text = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    conn.close();
    console.log(`  slow body: answered after ${seconds.toFixed(2)} s: ${text.split("\r\n")[0]}`);
    await recordFigure(
      "slow-body",
      String(`  slow body: answered after ${seconds.toFixed(2)} s: ${text.split("\r\n")[0]}`).trim(),
    );
    assert.match(text, /^HTTP\/1\.1 400/);
    assert.match(text, /not received within 500 ms/);
  } finally {
    await server.stop();
  }
});

Deno.test("registry: a client that trickles its headers is cut off at the header deadline", async () => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    headerTimeoutMs: 500,
  });
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: server.port });
    const started = performance.now();
    await conn.write(new TextEncoder().encode(`GET ${apiPaths.health()} HTTP/1.1\r\nhost: x\r\n`));
    const trickle = setInterval(() => void conn.write(new TextEncoder().encode("x-slow: 1\r\n")).catch(() => {}), 100);
    const buf = new Uint8Array(1024);
    const n = await conn.read(buf).catch(() => null);
    clearInterval(trickle);
    const seconds = (performance.now() - started) / 1000;
    conn.close();
    const answer = new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
    console.log(`  slow headers: cut off after ${seconds.toFixed(2)} s with "${answer}"`);
    await recordFigure(
      "slow-headers",
      String(`  slow headers: cut off after ${seconds.toFixed(2)} s with "${answer}"`).trim(),
    );
    // 408 and closed (Node's parser and deadline), or closed with no answer at all
    assert.ok(n === null || answer === "HTTP/1.1 408 Request Timeout", `answered "${answer}"`);
    // A normal request still works
    const ok = await fetch(server.url + apiPaths.health());
    assert.equal(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await server.stop();
  }
});
