/**
 * The daemon's control API authenticates both ends (issue 10): a process squatting the port of
 * a stale daemon file never sees the secret and cannot answer in the daemon's name, a hanging
 * squatter cannot hang the CLI, and the daemon refuses bad MACs, replays, foreign Host headers
 * and oversized bodies. A real libp2p node in a worker behind the real control server.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger, silentLogger } from "../src/core/logger.ts";
import {
  connectDaemon,
  daemonFile,
  type DaemonInfo,
  runInBackground,
  startControlServer,
  startWorkerNode,
} from "../src/p2p/mod.ts";
import { answerMac, requestMac, sameHex } from "../src/p2p/daemon_auth.ts";
import { tempDir } from "./helpers.ts";
import { loopbackNodeInit } from "./node_init.ts";
import { recordFigure } from "./figures.ts";

/** A fake daemon on loopback that records what it is sent and answers with `answer` */
async function squatter(answer: (req: Request) => Promise<Response>) {
  const seen: string[] = [];
  const ready = Promise.withResolvers<number>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: (a) => ready.resolve(a.port) }, async (req) => {
    seen.push([...req.headers].map(([k, v]) => `${k}: ${v}`).join("\n") + "\n" + await req.clone().text());
    return await answer(req);
  });
  return { port: await ready.promise, seen, server };
}

Deno.test("daemon control API: mutual authentication, deadlines, replay and rebinding refused", async (t) => {
  await using work = await tempDir();
  const secret = "f".repeat(64);
  const figures: string[] = [];
  const staleInfo = (port: number): DaemonInfo => ({ pid: 1, port, token: secret, peerId: "x", listenAddrs: [] });

  await t.step("a squatter that hangs: the CLI gives up, the secret never leaves", async () => {
    const hang = Promise.withResolvers<Response>();
    const s = await squatter(() => hang.promise);
    try {
      await Deno.writeTextFile(daemonFile(work.path), JSON.stringify(staleInfo(s.port)));
      const started = performance.now();
      const node = await connectDaemon(work.path, silentLogger);
      const gaveUp = Math.round(performance.now() - started);
      console.log(`  hanging squatter: connectDaemon gave up after ${gaveUp} ms`);
      assert.equal(node, undefined);
      assert.equal(s.seen.length, 1);
      assert.ok(!s.seen.some((r) => r.includes(secret)), "the daemon secret was sent");
      figures.push(`hanging squatter: the client gave up after ${gaveUp} ms, secret seen 0 times`);
    } finally {
      hang.resolve(new Response("late"));
      await s.server.shutdown();
    }
  });

  await t.step("a squatter that answers: refused because it cannot prove the secret", async () => {
    const s = await squatter(() =>
      Promise.resolve(Response.json({ ok: true, value: { peerId: "12D3KooWfake", routingTableSize: 99 } }))
    );
    const lines: string[] = [];
    try {
      await Deno.writeTextFile(daemonFile(work.path), JSON.stringify(staleInfo(s.port)));
      const node = await connectDaemon(work.path, createLogger({ level: "warn", sink: (l) => lines.push(l) }));
      assert.equal(node, undefined);
      assert.match(lines.join("\n"), /is not this home's P2P daemon/);
      assert.ok(!s.seen.some((r) => r.includes(secret)));
      figures.push("answering squatter: refused, secret seen 0 times");
    } finally {
      await s.server.shutdown();
    }
  });

  await t.step("the real daemon answers its client and refuses forgeries", async () => {
    const home = join(work.path, "real");
    await Deno.mkdir(home);
    const node = await startWorkerNode({ logger: silentLogger }, loopbackNodeInit(home));
    const control = await startControlServer({ logger: silentLogger }, { home, node });
    try {
      const client = await connectDaemon(home, silentLogger);
      assert.ok(client, "the client connects to the real daemon");
      assert.equal((await client.status()).peerId, node.peerId);
      const url = `http://127.0.0.1:${control.info.port}/rpc`;
      const body = JSON.stringify({ method: "status", params: {} });
      const forged = await fetch(url, {
        method: "POST",
        body,
        headers: { authorization: `GGEN-HMAC ${"0".repeat(64)}`, "x-ggen-nonce": "a".repeat(32) },
      });
      assert.equal(forged.status, 401);
      await forged.body?.cancel();
      const bearer = await fetch(url, {
        method: "POST",
        body,
        headers: { authorization: `Bearer ${control.info.token}` },
      });
      assert.equal(bearer.status, 401, "the secret itself is not a credential on the wire");
      await bearer.body?.cancel();
      // DNS rebinding: the browser sends the attacker's host name
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: control.info.port });
      await conn.write(new TextEncoder().encode(
        `POST /rpc HTTP/1.1\r\nhost: evil.example\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      ));
      const answer = new Uint8Array(256);
      const n = await conn.read(answer);
      conn.close();
      assert.match(new TextDecoder().decode(answer.subarray(0, n ?? 0)), /^HTTP\/1\.1 421/);
      // One valid request, then the very same bytes again: the nonce is spent
      const nonce = "b".repeat(32);
      const headers = {
        authorization: `GGEN-HMAC ${await requestMac(
          control.info.token,
          nonce,
          "POST",
          "/rpc",
          new TextEncoder().encode(body),
        )}`,
        "x-ggen-nonce": nonce,
      };
      const once = await fetch(url, { method: "POST", body, headers });
      assert.equal(once.status, 200);
      await once.body?.cancel();
      const replay = await fetch(url, { method: "POST", body, headers });
      assert.equal(replay.status, 401);
      await replay.body?.cancel();
      const huge = await fetch(url, { method: "POST", body: new Uint8Array(2 * 1024 * 1024) });
      assert.equal(huge.status, 413);
      await huge.body?.cancel();
      // Sharing what an install fetched is left to the daemon: answered at once, done afterwards;
      // only the writes may run that way
      const sha256 = "ab".repeat(32);
      await runInBackground(client, "provide", { sha256 });
      for (let i = 0; i < 100 && (await client.status()).providedPackages === 0; i++) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal((await client.status()).providedPackages, 1, "the background provide ran");
      const readNonce = "c".repeat(32);
      const readBody = new TextEncoder().encode(JSON.stringify({ method: "peers", params: {}, background: true }));
      const read = await fetch(url, {
        method: "POST",
        body: readBody,
        headers: {
          authorization: `GGEN-HMAC ${await requestMac(control.info.token, readNonce, "POST", "/rpc", readBody)}`,
          "x-ggen-nonce": readNonce,
        },
      });
      assert.equal(read.status, 500);
      assert.equal((await read.json()).error.name, "ValidationError", "a read cannot run in the background");
      figures.push(
        "real daemon: forged MAC 401, the secret as a bearer token 401, replay 401, foreign Host 421, 2 MiB body 413",
      );
      await recordFigure("daemon", figures.join("; "));
    } finally {
      await control.stop();
      await node.stop();
    }
  });
});

Deno.test("daemon auth: sameHex is equality of equal-length strings, and the MACs bind every part", async () => {
  assert.equal(sameHex("ab12", "ab12"), true);
  assert.equal(sameHex("ab12", "ab13"), false);
  assert.equal(sameHex("ab12", "ab1"), false);
  assert.equal(sameHex("", ""), true);
  const body = new TextEncoder().encode("{}");
  const mac = await requestMac("secret", "a".repeat(32), "POST", "/rpc", body);
  assert.match(mac, /^[0-9a-f]{64}$/);
  assert.equal(await requestMac("secret", "a".repeat(32), "POST", "/rpc", body), mac);
  for (
    const other of [
      await requestMac("secreT", "a".repeat(32), "POST", "/rpc", body),
      await requestMac("secret", "b".repeat(32), "POST", "/rpc", body),
      await requestMac("secret", "a".repeat(32), "GET", "/rpc", body),
      await requestMac("secret", "a".repeat(32), "POST", "/rpc?x", body),
      await requestMac("secret", "a".repeat(32), "POST", "/rpc", new TextEncoder().encode("{ }")),
    ]
  ) assert.notEqual(other, mac);
  assert.notEqual(
    await answerMac("secret", "a".repeat(32), body),
    await answerMac("secret", "a".repeat(32), undefined),
  );
});
