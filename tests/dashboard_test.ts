/**
 * The daemon's dashboard in a real browser (issue 17): `ggen p2p ui` gives a one-time link that
 * signs the browser in with an HttpOnly, SameSite=Strict cookie; requests without the cookie,
 * with a used token, a foreign Origin or a foreign Host are refused; a 5-peer network shows 5
 * peers in the graph and a sixth joining appears; a rate-limited transfer shows its progress;
 * an announcement and a CLI's fallback (central refused, peers used) show in their feeds.
 * Real daemons on loopback, Debian's Chromium driven by puppeteer-core.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ARTIFACTS, CHROMIUM, launchBrowser } from "./browser.ts";
import { ggen, jsonLines, MAIN, RUN_FLAGS, tempDir, writePackage } from "./helpers.ts";
import { type Daemon, startDaemon } from "./p2p_helpers.ts";
import { recordFigure } from "./figures.ts";

/** Poll `check` every 100 ms for at most `ms`; the time it took, or a failed assertion */
async function within(ms: number, what: string, check: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < ms) {
    if (await check()) return performance.now() - started;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.fail(`${what}: not within ${ms} ms`);
}

Deno.test({
  name: "dashboard in Chromium: one-time sign-in, refusals, live peer graph, transfer progress, feeds",
  ignore: !CHROMIUM,
  async fn() {
    await using work = await tempDir();
    const daemons: Daemon[] = [];
    try {
      // The dashboard's node serves at 512 KiB/s, so a transfer lasts long enough to watch
      const hub = await startDaemon(join(work.path, "hub"), { env: { GGEN_UPLOAD_LIMIT: String(512 * 1024) } });
      daemons.push(hub);
      for (let i = 0; i < 5; i++) {
        daemons.push(await startDaemon(join(work.path, `peer${i}`), { bootstrap: [hub.addr] }));
      }
      const link = await ggen(["p2p", "ui", "--json"], { home: hub.home });
      assert.equal(link.code, 0, link.stderr);
      const url = jsonLines<{ url: string }>(link.stdout)[0]!.url;
      const base = new URL(url).origin;
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/ui\/login\?token=[0-9a-f]{64}$/);

      // Refusals, before any sign-in
      const noCookie = await fetch(`${base}/ui/`);
      assert.equal(noCookie.status, 401);
      await noCookie.body?.cancel();
      const badToken = await fetch(`${base}/ui/login?token=${"0".repeat(64)}`, { redirect: "manual" });
      assert.equal(badToken.status, 401);
      await badToken.body?.cancel();

      // `--open` hands a fresh link to the system's opener (here a stand-in that records it)
      const bin = join(work.path, "bin");
      await Deno.mkdir(bin);
      await Deno.writeTextFile(join(bin, "xdg-open"), '#!/bin/sh\necho "$1" > "$OPENED"\n', { mode: 0o755 });
      const openedFile = join(work.path, "opened.txt");
      const viaOpener = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--quiet", ...RUN_FLAGS, "--allow-run=xdg-open", MAIN, "p2p", "ui", "--open"],
        env: {
          GGEN_HOME: hub.home,
          NO_COLOR: "1",
          OPENED: openedFile,
          PATH: `${bin}:${Deno.env.get("PATH") ?? ""}`,
        },
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(viaOpener.code, 0, new TextDecoder().decode(viaOpener.stderr));
      const printed = new TextDecoder().decode(viaOpener.stdout).split("\n")[0]!;
      assert.match(printed, /\/ui\/login\?token=/);
      assert.equal((await Deno.readTextFile(openedFile)).trim(), printed);

      await using browser = await launchBrowser();
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
      page.on("pageerror", (e) => errors.push(String(e)));
      const started = performance.now();
      const opened = await page.goto(url);
      assert.equal(opened?.status(), 200);
      assert.equal(new URL(page.url()).pathname, "/ui/");
      assert.match(opened?.headers()["content-security-policy"] ?? "", /script-src 'self'/);
      await page.waitForFunction('document.getElementById("live")?.textContent === "live"', { timeout: 10_000 });
      const firstState = performance.now() - started;
      const firstPaint = Number(
        await page.evaluate('performance.getEntriesByName("first-contentful-paint")[0]?.startTime ?? NaN'),
      );
      assert.ok(firstPaint > 0, "the browser recorded a first contentful paint");
      const [cookie] = await browser.cookies();
      assert.equal(cookie?.name, "ggen_ui");
      assert.equal(cookie?.httpOnly, true);
      assert.equal(cookie?.sameSite, "Strict");
      // The link worked once: a second use is refused
      const reused = await fetch(url, { redirect: "manual" });
      assert.equal(reused.status, 401);
      await reused.body?.cancel();
      // With the session cookie, a foreign Origin (CSRF) and a foreign Host (DNS rebinding) are refused
      const session = `${cookie!.name}=${cookie!.value}`;
      const foreign = await fetch(`${base}/ui/state`, { headers: { cookie: session, origin: "http://evil.example" } });
      assert.equal(foreign.status, 403);
      await foreign.body?.cancel();
      // (fetch sets Host itself: the rebinding browser's request is written by hand)
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(base).port) });
      await conn.write(new TextEncoder().encode(
        `GET /ui/state HTTP/1.1\r\nhost: evil.example\r\ncookie: ${session}\r\nconnection: close\r\n\r\n`,
      ));
      const answer = new Uint8Array(256);
      const n = await conn.read(answer);
      conn.close();
      assert.match(new TextDecoder().decode(answer.subarray(0, n ?? 0)), /^HTTP\/1\.1 421/);
      const own = await fetch(`${base}/ui/state`, { headers: { cookie: session } });
      assert.equal(own.status, 200);
      assert.equal((await own.json()).status.peerId, hub.peerId);

      // The graph: this node and its 5 peers; a sixth appears
      const graphNodes = () =>
        page.$eval("#graph", (g) => (g as unknown as { dataset: { nodes?: string } }).dataset.nodes ?? "");
      await within(15_000, "5 peers in the graph", async () => (await graphNodes()).split(" ").length === 6);
      assert.ok((await graphNodes()).includes(hub.peerId));
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-network.png"), fullPage: true });
      const sixth = await startDaemon(join(work.path, "peer5"), { bootstrap: [hub.addr] });
      daemons.push(sixth);
      const appeared = await within(
        10_000,
        "the sixth peer in the graph",
        async () => (await graphNodes()).includes(sixth.peerId),
      );

      // A transfer from the hub, rate-limited: its progress shows while it runs
      // About 2.6 MB that does not compress: about 5 s at the hub's upload limit
      const pkg = await writePackage(join(work.path, "big"), { id: "io.dash.big", version: "1.0.0" });
      for (let i = 0; i < 40; i++) {
        await Deno.writeFile(join(pkg, "templates", `noise${i}.bin`), crypto.getRandomValues(new Uint8Array(65536)));
      }
      assert.equal((await ggen(["publish", "--p2p", pkg], { home: hub.home })).code, 0);
      const client = join(work.path, "client");
      await Deno.mkdir(client);
      const install = ggen(["install", "io.dash.big", "--json"], {
        home: client,
        env: { GGEN_MODE: "p2p", GGEN_BOOTSTRAP: hub.addr, GGEN_MIN_SOURCES: "1" },
      });
      await within(
        20_000,
        "an upload in progress",
        async () =>
          await page.$$eval("#transfers progress", (ps) =>
            ps.some((p) => {
              const bar = p as unknown as { value: number; max: number };
              return bar.value > 0 && bar.value < bar.max;
            })),
      );
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-transfer.png"), fullPage: true });
      const installed = await install;
      assert.equal(installed.code, 0, installed.stderr);

      // A peer's announcement, heard over gossipsub, and a CLI on this home falling back from a
      // refused central
      const small = await writePackage(join(work.path, "small"), { id: "io.dash.small", version: "1.0.0" });
      assert.equal((await ggen(["publish", "--p2p", small], { home: daemons[1]!.home })).code, 0);
      const feed = () => page.$eval("#announcements", (u) => (u as unknown as { innerText: string }).innerText);
      await within(15_000, "the announcement in its feed", async () => (await feed()).includes("io.dash.small@1.0.0"));
      const refused = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const closedPort = (refused.addr as Deno.NetAddr).port;
      refused.close();
      const project = join(work.path, "project");
      await Deno.mkdir(project);
      const fellBack = await ggen(["info", "io.dash.big"], {
        home: hub.home,
        cwd: project,
        env: { GGEN_REGISTRY: `http://127.0.0.1:${closedPort}` },
      });
      assert.equal(fellBack.code, 0, fellBack.stderr);
      await within(10_000, "the fallback in the events feed", async () => {
        const kinds = await page.$$eval(
          "#events li",
          (ls) => ls.map((l) => (l as unknown as { dataset: { kind: string } }).dataset.kind),
        );
        return kinds.includes("unavailable") && kinds.includes("answered");
      });
      await page.screenshot({ path: join(ARTIFACTS, "dashboard-feeds.png"), fullPage: true });
      assert.deepEqual(errors, [], "the page logged errors (CSP violations included)");
      await recordFigure(
        "dashboard",
        `one-time link, cookie HttpOnly + SameSite=Strict; no cookie 401, used token 401, foreign Origin 403, ` +
          `foreign Host 421; first contentful paint ${Math.round(firstPaint)} ms, first live state ` +
          `${Math.round(firstState)} ms after opening the link; ` +
          `a sixth peer appeared in the graph ${(appeared / 1000).toFixed(1)} s after it started`,
      );
    } finally {
      for (const d of daemons.reverse()) await d.stop();
    }
  },
});
