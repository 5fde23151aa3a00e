/**
 * Registry-side attacks (issue 10): floods of idle connections under a low descriptor limit,
 * request smuggling and spoofed client addresses, yank authorization, rate-limit bypass,
 * hostile query parameters, and token revocation without the secret on the command line.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { packDirectory } from "../src/archive/mod.ts";
import { apiPaths } from "../src/core/api.ts";
import { PAYLOAD_TYPES, signEnvelope, type Signer, type YankStatement } from "../src/core/envelope.ts";
import { silentLogger } from "../src/core/logger.ts";
import { versionFromManifest } from "../src/core/package.ts";
import { createToken, hashToken, type RegistryServer, startRegistryServer } from "../src/registry/server/mod.ts";
import { generateKey, loadSigner, signVersion } from "../src/trust/mod.ts";
import { ggen, MAIN, putSignedVersion, RUN_FLAGS, runFlags, stopChild, tempDir, writePackage } from "./helpers.ts";
import { recordFigure } from "./figures.ts";

/** One raw HTTP exchange over a socket bound to `localAddress`; resolves with what came back */
function rawExchange(port: number, request: string, localAddress = "127.0.0.1", timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const socket = net.connect({ host: "127.0.0.1", port, localAddress }, () => socket.write(request));
    const timer = setTimeout(() => socket.destroy(), timeoutMs);
    socket.on("data", (d) => (out += d.toString("latin1")));
    socket.on("error", () => {});
    socket.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

const GET_HEALTH = "GET /api/v1/health HTTP/1.1\r\nHost: registry\r\nConnection: close\r\n\r\n";

/** Output of a shell command reading /proc (Deno grants /proc only with --allow-all) */
async function procText(script: string): Promise<string> {
  const out = await new Deno.Command("bash", { args: ["-c", script], stdout: "piped", stderr: "null" }).output();
  return new TextDecoder().decode(out.stdout);
}

/** Read stdout lines of a child until one satisfies `match` */
async function readLine(child: Deno.ChildProcess, match: (line: string) => boolean): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  for (let i = 0; i < 1000; i++) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    const line = buffered.split("\n").find(match);
    if (line) {
      reader.releaseLock();
      return line;
    }
  }
  throw new Error(`no matching line in: ${buffered}`);
}

Deno.test("registry: thousands of idle sockets under ulimit -n 256 never lock out legitimate clients", async () => {
  await using work = await tempDir();
  const serve = ["--json", "registry", "serve", "--port", "0", "--data", join(work.path, "reg")];
  const child = new Deno.Command("bash", {
    args: [
      "-c",
      'ulimit -n 256 && exec "$@"',
      "ggen",
      Deno.execPath(),
      "run",
      "--quiet",
      ...runFlags(serve),
      MAIN,
      ...serve,
    ],
    env: { GGEN_HOME: work.path, NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const flood: net.Socket[] = [];
  try {
    const { url } = JSON.parse(await readLine(child, (l) => l.startsWith("{"))) as { url: string };
    const port = Number(new URL(url).port);
    // Only one listening socket: there is no loopback backend another local user could reach
    const inodes = new Set(
      (await procText(`for f in /proc/${child.pid}/fd/*; do readlink "$f"; done`))
        .split("\n").map((l) => /^socket:\[(\d+)\]$/.exec(l)?.[1]).filter((x): x is string => x !== undefined),
    );
    const listening = (await procText("cat /proc/net/tcp /proc/net/tcp6")).split("\n")
      .map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === "0A" && inodes.has(f[9]!));
    assert.equal(listening.length, 1, "the registry listens on exactly one socket");

    let busy = 0;
    let closedByServer = 0;
    const opened = await Promise.all(Array.from({ length: 3000 }, (_, i) =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(
          { host: "127.0.0.1", port, localAddress: `127.0.0.${1 + (i % 20)}` },
          () => resolve(true),
        );
        s.on("data", (d) => {
          if (d.toString().startsWith("HTTP/1.1 503")) busy++;
        });
        s.on("close", () => closedByServer++);
        s.on("error", () => resolve(false));
        flood.push(s);
      })));
    // Each legitimate request gets one retry, as a real client (ggen's own) retries a reset connection
    let ok = 0;
    let firstTry = 0;
    const failures: string[] = [];
    for (let i = 0; i < 20; i++) {
      for (let attempt = 0; attempt < 2; attempt++) {
        const answer = await rawExchange(port, GET_HEALTH, "127.0.0.100");
        if (answer.startsWith("HTTP/1.1 200")) {
          ok++;
          if (attempt === 0) firstTry++;
          break;
        }
        failures.push(JSON.stringify(answer.slice(0, 60)));
      }
    }
    const fds = Number((await procText(`ls /proc/${child.pid}/fd | wc -l`)).trim());
    const figure = `ulimit -n 256, 3000 idle sockets from 20 IPs (${opened.filter(Boolean).length} connected): ` +
      `${busy} answered 503, ${closedByServer} closed by the server; legitimate requests during the flood: ` +
      `${ok}/20 answered 200 (${firstTry} at the first attempt${
        failures.length ? `; failed attempts got ${failures.join(", ")}` : ""
      }); ` +
      `the server held ${fds} descriptors; ${listening.length} listening socket`;
    console.log(`  ${figure}`);
    await recordFigure("idle-flood", figure);
    assert.equal(ok, 20);
    assert.ok(fds < 256);
    for (const s of flood) s.destroy();
    assert.match(await rawExchange(port, GET_HEALTH, "127.0.0.1"), /^HTTP\/1\.1 200/);
    // Still the same process: it never died of EMFILE
    assert.equal(await Promise.race([child.status.then(() => "exited"), Promise.resolve("running")]), "running");
  } finally {
    for (const s of flood) s.destroy();
    await stopChild(child, "SIGTERM");
    await child.stdout.cancel().catch(() => {});
    await child.stderr.cancel();
  }
});

async function publishSigned(server: RegistryServer, token: string, signer: Signer, dir: string, id: string) {
  const packed = await packDirectory(await writePackage(dir, { id, version: "1.0.0" }));
  const v = await signVersion(versionFromManifest(packed.manifest, packed), signer, Date.now());
  const res = await putSignedVersion(server.url, token, packed, v);
  assert.equal(res.status, 201, await res.text());
}

Deno.test("registry: one parser, the socket's address, owner-signed yanks, strict parameters", async (t) => {
  await using work = await tempDir();
  const server = await startRegistryServer({ logger: silentLogger }, {
    dataDir: join(work.path, "reg"),
    port: 0,
    rateLimits: { search: { burst: 5, refillMs: 60_000 } },
    keepAliveTimeoutMs: 300,
  });
  try {
    await generateKey(work.path, "alice");
    await generateKey(work.path, "bob");
    const alice = await loadSigner(work.path, "alice");
    const bob = await loadSigner(work.path, "bob");
    const admin = (await createToken(server.metadata, { name: "admin" })).token;
    await publishSigned(server, admin, alice, join(work.path, "p1"), "io.yank.pkg");

    await t.step("bare-LF lines and conflicting framing are refused by the one parser", async () => {
      const bareLf = await rawExchange(server.port, "GET /api/v1/health HTTP/1.1\nHost: x\nX-Injected: 1\n\n");
      assert.match(bareLf, /^HTTP\/1\.1 400/);
      const clte = await rawExchange(
        server.port,
        "POST /api/v1/search HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n",
      );
      assert.match(clte, /^HTTP\/1\.1 400/);
      assert.equal((clte.match(/HTTP\/1\.1/g) ?? []).length, 1, "no smuggled second response");
      await recordFigure(
        "smuggling",
        "bare-LF request: 400; Content-Length with Transfer-Encoding: 400 and 1 response (the appended request " +
          "never runs); x-ggen-client-ip and x-forwarded-for ignored for rate limits",
      );
    });

    await t.step("a spoofed client-ip header or a bogus Authorization does not escape the rate limit", async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const res = await fetch(server.url + apiPaths.search("x", 5, 0), {
          headers: {
            "x-ggen-client-ip": `10.0.0.${i}`,
            "x-forwarded-for": `10.1.0.${i}`,
            ...(i % 2 ? { authorization: "Bearer not-a-token" } : {}),
          },
        });
        statuses.push(res.status);
        await res.body?.cancel();
      }
      assert.deepEqual(statuses.filter((s) => s === 200).length, 5, statuses.join(","));
      assert.ok(statuses.slice(5).every((s) => s === 429), statuses.join(","));
      await recordFigure(
        "rate-limit",
        `12 searches with spoofed address headers, every other one with a bogus token (burst 5): ` +
          `${statuses.filter((s) => s === 200).length} served, ${statuses.filter((s) => s === 429).length} refused ` +
          "with 429; a token for io.acme cannot publish io.acmeevil.pkg (401)",
      );
    });

    await t.step("keep-alive answers several requests on one socket, then closes it when idle", async () => {
      const two = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\nGET /api/v1/health HTTP/1.1\r\nHost: x\r\n\r\n";
      const started = performance.now();
      const out = await rawExchange(server.port, two, "127.0.0.1", 10_000);
      assert.equal((out.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
      assert.ok(performance.now() - started < 9_000, "the idle connection was closed by the server");
    });

    await t.step("yank and unyank need the scope and an owner's signature at the current seq", async () => {
      const yankOnly = (await createToken(server.metadata, { name: "y", scopes: ["yank"] })).token;
      const publishOnly = (await createToken(server.metadata, { name: "p", scopes: ["publish-update"] })).token;
      const statement = async (yanked: boolean, version = "1.0.0"): Promise<YankStatement> => ({
        type: "ggen.yank/1",
        package_id: "io.yank.pkg",
        version,
        yanked,
        package_seq: await server.metadata.packageSeq("io.yank.pkg"),
        timestamp: new Date().toISOString(),
      });
      const post = async (action: "yank" | "unyank", token: string, body: unknown) => {
        const res = await fetch(server.url + apiPaths[action]("io.yank.pkg", "1.0.0"), {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        await res.body?.cancel();
        return res.status;
      };
      const byAlice = await signEnvelope(PAYLOAD_TYPES.yank, await statement(true), alice);
      const matrix: [string, number, number][] = [
        ["scope, no signature", await post("yank", yankOnly, undefined), 400],
        [
          "scope, signed by a non-owner",
          await post("yank", yankOnly, await signEnvelope(PAYLOAD_TYPES.yank, await statement(true), bob)),
          403,
        ],
        ["no scope, owner's signature", await post("yank", publishOnly, byAlice), 401],
        [
          "scope, owner's unyank sent to /yank",
          await post("yank", yankOnly, await signEnvelope(PAYLOAD_TYPES.yank, await statement(false), alice)),
          400,
        ],
        [
          "scope, owner's statement for another version",
          await post("yank", yankOnly, await signEnvelope(PAYLOAD_TYPES.yank, await statement(true, "2.0.0"), alice)),
          400,
        ],
        ["scope, owner's signature", await post("yank", yankOnly, byAlice), 200],
        ["the same envelope replayed", await post("yank", yankOnly, byAlice), 409],
        [
          "scope, owner's unyank at the new seq",
          await post("unyank", yankOnly, await signEnvelope(PAYLOAD_TYPES.yank, await statement(false), alice)),
          200,
        ],
      ];
      console.log(matrix.map(([what, got]) => `  ${what}: ${got}`).join("\n"));
      for (const [what, got, want] of matrix) assert.equal(got, want, what);
      await recordFigure("yank", matrix.map(([what, got]) => `${what}: ${got}`).join("; "));
      assert.equal((await server.metadata.getVersion("io.yank.pkg", "1.0.0"))?.yanked, false);
    });

    await t.step("fractional, huge or negative limits and broken percent-escapes are 400, never 500", async () => {
      for (
        const q of ["limit=1.5", "limit=1e9", "limit=-1", "limit=abc", "offset=-1", "offset=0x10", "limit=99999999999"]
      ) {
        const res = await fetch(`${server.url}/api/v1/search?q=x&${q}`);
        await res.body?.cancel();
        assert.ok(res.status === 400 || res.status === 429, `${q}: ${res.status}`);
      }
      const res = await fetch(`${server.url}/api/v1/packages/%E0%A4%A`);
      assert.equal(res.status, 400);
      assert.match((await res.json()).message, /Malformed percent-escape/);
      await recordFigure(
        "parameters",
        "7 hostile limit/offset values: 400 each (or 429), 0 × 500; a broken percent-escape: 400",
      );
    });

    await t.step(
      "a version with build metadata publishes; one differing only in build metadata conflicts",
      async () => {
        const packed = await packDirectory(
          await writePackage(join(work.path, "b1"), { id: "io.yank.pkg", version: "1.1.0+build.5" }),
        );
        const v = await signVersion(versionFromManifest(packed.manifest, packed), alice, Date.now());
        const put = (version: string) => putSignedVersion(server.url, admin, packed, { ...v, version });
        const first = await put("1.1.0+build.5");
        assert.equal(first.status, 201, await first.text());
        const again = await put("1.1.0+build.5");
        assert.equal(again.status, 409);
        await again.body?.cancel();
      },
    );
  } finally {
    await server.stop();
  }
});

Deno.test("registry CLI: a token is revoked by its id or from stdin, never from a secret argument", async () => {
  await using work = await tempDir();
  const data = join(work.path, "reg");
  const create = async () => {
    const r = await ggen(["--json", "registry", "token", "create", "--data", data], { home: work.path });
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { token: string; token_id: string };
  };
  const a = await create();
  const b = await create();
  const argv = await ggen(["registry", "token", "revoke", a.token, "--data", data], { home: work.path });
  assert.equal(argv.code, 2);
  assert.match(argv.stderr, /Refusing a token secret on the command line/);
  const byId = await ggen(["registry", "token", "revoke", a.token_id, "--data", data], { home: work.path });
  assert.equal(byId.code, 0, byId.stderr);
  const stdin = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", ...RUN_FLAGS, MAIN, "registry", "token", "revoke", "--stdin", "--data", data],
    env: { GGEN_HOME: work.path, NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = stdin.stdin.getWriter();
  await w.write(new TextEncoder().encode(b.token + "\n"));
  await w.close();
  const out = await stdin.output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const { openRegistryStorage } = await import("../src/registry/server/mod.ts");
  const { metadata } = await openRegistryStorage(data);
  try {
    assert.equal((await metadata.findToken(hashToken(a.token)))?.revoked, 1);
    assert.equal((await metadata.findToken(hashToken(b.token)))?.revoked, 1);
    await recordFigure(
      "token-revoke",
      "a secret on the command line: refused, exit 2; by token id: revoked; from stdin: revoked",
    );
  } finally {
    await metadata.close();
  }
});
