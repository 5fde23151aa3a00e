/**
 * Design §5.1, DNS failure: the central client remembers where the registry's name resolved; when
 * the name stops resolving it retries once at that address, over TLS with the certificate checked
 * against the name; without a remembered address, or with a certificate for another name, the
 * failure is an UnavailableError (the hybrid registry falls back at once).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { createLogger, silentLogger } from "../src/core/logger.ts";
import { UnavailableError } from "../src/core/mod.ts";
import { type AddressBook, createCentralRegistry } from "../src/registry/client/mod.ts";
import { startCentral } from "./central_helpers.ts";
import { recordFigure } from "./figures.ts";
import { tempDir } from "./helpers.ts";

/** Resolves nowhere (RFC 6761 reserves .invalid) */
const DEAD_NAME = "ggen-central.invalid";

function memoryBook(entries: Record<string, string> = {}): AddressBook & { entries: Record<string, string> } {
  return { entries, get: (h) => entries[h], remember: (h, a) => void (entries[h] = a) };
}

/** A CA and a server certificate for `name`, made with openssl */
async function certificateFor(dir: string, name: string): Promise<{ ca: string; cert: string; key: string }> {
  const run = async (args: string[]) => {
    const r = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" }).output();
    assert.equal(r.code, 0, new TextDecoder().decode(r.stderr));
  };
  await Deno.writeTextFile(join(dir, "ext"), `subjectAltName=DNS:${name}\nbasicConstraints=CA:FALSE\n`);
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  await run(["req", "-x509", ...ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=ggen test CA"]);
  await run(["req", ...ec, "-keyout", "srv.key", "-out", "srv.csr", "-subj", `/CN=${name}`]);
  await run([
    "x509",
    "-req",
    "-in",
    "srv.csr",
    "-CA",
    "ca.pem",
    "-CAkey",
    "ca.key",
    "-CAcreateserial",
    "-out",
    "srv.pem",
    "-days",
    "2",
    "-extfile",
    "ext",
  ]);
  return {
    ca: join(dir, "ca.pem"),
    cert: await Deno.readTextFile(join(dir, "srv.pem")),
    key: await Deno.readTextFile(join(dir, "srv.key")),
  };
}

Deno.test("DNS failure: the last address that answered is retried, the certificate still checked", async (t) => {
  await using work = await tempDir();
  const central = await startCentral(work.path);
  const port = Number(new URL(central.server.url).port);
  try {
    await central.publish("io.dns.pkg");

    await t.step("a contact by name records where the name resolved", async () => {
      const book = memoryBook();
      const client = createCentralRegistry({ logger: silentLogger }, {
        url: `http://localhost:${port}`,
        addresses: book,
      });
      assert.equal((await client.info("io.dns.pkg")).id, "io.dns.pkg");
      for (let i = 0; i < 100 && !book.entries.localhost; i++) await new Promise((r) => setTimeout(r, 20));
      assert.match(book.entries.localhost ?? "", /^(127\.0\.0\.1|::1)$/);
    });

    await t.step("a name that no longer resolves is tried at its last address", async () => {
      const warnings: string[] = [];
      const client = createCentralRegistry({
        logger: createLogger({ level: "warn", sink: (l) => warnings.push(l) }),
      }, { url: `http://${DEAD_NAME}:${port}`, addresses: memoryBook({ [DEAD_NAME]: "127.0.0.1" }) });
      const info = await client.info("io.dns.pkg");
      assert.equal(info.versions[0]?.version, "1.0.0");
      assert.ok(warnings.some((w) => w.includes(`${DEAD_NAME} does not resolve: trying 127.0.0.1`)), warnings.join());
    });

    await t.step("without a last address the failure stands, at once", async () => {
      const client = createCentralRegistry({ logger: silentLogger }, {
        url: `http://${DEAD_NAME}:${port}`,
        addresses: memoryBook(),
        retries: 0,
      });
      const t0 = performance.now();
      await assert.rejects(client.info("io.dns.pkg"), UnavailableError);
      await recordFigure(
        "dns-failure",
        `central's name does not resolve: with its last address the install goes on there; without one the ` +
          `central client gives up after ${Math.round(performance.now() - t0)} ms (design §5.1: within 2 s)`,
      );
    });

    await t.step("over TLS the certificate is checked against the name, not the address", async () => {
      const certs = await certificateFor(work.path, DEAD_NAME);
      // TLS in front of the central registry, as a reverse proxy would put it
      const front = Deno.serve(
        { hostname: "127.0.0.1", port: 0, cert: certs.cert, key: certs.key, onListen() {} },
        async (req) => {
          const url = new URL(req.url);
          return await fetch(`${central.server.url}${url.pathname}${url.search}`, { headers: req.headers });
        },
      );
      const previous = Deno.env.get("DENO_CERT");
      Deno.env.set("DENO_CERT", certs.ca);
      try {
        const tlsPort = front.addr.port;
        const good = createCentralRegistry({ logger: silentLogger }, {
          url: `https://${DEAD_NAME}:${tlsPort}`,
          addresses: memoryBook({ [DEAD_NAME]: "127.0.0.1" }),
        });
        assert.equal((await good.info("io.dns.pkg")).id, "io.dns.pkg");
        // Same address, another name: the certificate does not match and nothing is read
        const other = "other-registry.invalid";
        const wrong = createCentralRegistry({ logger: silentLogger }, {
          url: `https://${other}:${tlsPort}`,
          addresses: memoryBook({ [other]: "127.0.0.1" }),
          retries: 0,
        });
        const err = await wrong.info("io.dns.pkg").then(() => undefined, (e: unknown) => e);
        assert.ok(err instanceof UnavailableError, `expected UnavailableError, got ${err}`);
        assert.match(String((err.cause as Error | undefined)?.message), /altnames|certificate/i);
      } finally {
        if (previous === undefined) Deno.env.delete("DENO_CERT");
        else Deno.env.set("DENO_CERT", previous);
        await front.shutdown();
      }
    });
  } finally {
    await central.stop();
  }
});
