/**
 * Verdaccio 6, the self-hosted npm registry, as the reference beside ggen's central registry in
 * the same run: started with npx (Node.js, no uplinks, anonymous publish) on loopback, filled
 * through the npm publish protocol (PUT of the package document with its tarball attached).
 * Verdaccio 6.0.5 is the last 6.x that runs on Node.js 20.
 * @module
 */
import { join } from "node:path";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";

const VERSION = "6.0.5";

/** A running Verdaccio */
export interface Verdaccio extends AsyncDisposable {
  /** Base URL, such as http://127.0.0.1:4873 */
  url: string;
  /** Publish `name@version` with `tarball` as its bytes (any bytes: Verdaccio does not unpack) */
  publish(name: string, version: string, tarball: Uint8Array, description: string, keywords: string[]): Promise<void>;
}

/** Start Verdaccio in `dir`, or say why it cannot run here */
export async function startVerdaccio(dir: string): Promise<Verdaccio | string> {
  await Deno.mkdir(join(dir, "storage"), { recursive: true });
  const config = join(dir, "config.yaml");
  await Deno.writeTextFile(
    config,
    [
      `storage: ${join(dir, "storage")}`,
      "auth: { htpasswd: { file: " + join(dir, "htpasswd") + ", max_users: -1 } }",
      "uplinks: {}",
      "packages: { '**': { access: $all, publish: $anonymous, unpublish: $anonymous } }",
      "max_body_size: 300mb",
      "log: { type: stdout, format: pretty, level: error }",
    ].join("\n") + "\n",
  );
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  // npx installs it (once) and says where its executable is; that runs directly, so stopping it
  // stops Verdaccio (npx does not pass SIGTERM on to its child)
  let bin: string;
  try {
    const found = await new Deno.Command("npx", {
      args: ["--yes", "-p", `verdaccio@${VERSION}`, "-c", "command -v verdaccio"],
      stdout: "piped",
      stderr: "null",
    }).output();
    bin = new TextDecoder().decode(found.stdout).trim();
    if (!found.success || !bin) return `npx could not install verdaccio@${VERSION}`;
  } catch (err) {
    return `npx is not installed (${(err as Error).message})`;
  }
  const child = new Deno.Command(bin, {
    args: ["--config", config, "--listen", `127.0.0.1:${port}`],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited */ }
    await child.status;
  };
  // The first run downloads Verdaccio: bounded
  const deadline = Date.now() + 180_000;
  for (;;) {
    const up = await fetch(`${url}/-/ping`).then((r) => r.body?.cancel().then(() => r.ok), () => false);
    if (up) break;
    if (Date.now() > deadline) {
      await stop();
      return `Verdaccio ${VERSION} did not answer on ${url} within 180 s`;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return {
    url,
    async publish(name, version, tarball, description, keywords) {
      const file = `${name}-${version}.tgz`;
      const body = {
        _id: name,
        name,
        description,
        "dist-tags": { latest: version },
        versions: {
          [version]: {
            name,
            version,
            description,
            keywords,
            dist: {
              shasum: createHash("sha1").update(tarball).digest("hex"),
              integrity: `sha512-${createHash("sha512").update(tarball).digest("base64")}`,
              tarball: `${url}/${name}/-/${file}`,
            },
          },
        },
        _attachments: {
          [file]: {
            content_type: "application/octet-stream",
            data: Buffer.from(tarball.buffer, tarball.byteOffset, tarball.byteLength).toString("base64"),
            length: tarball.byteLength,
          },
        },
      };
      const res = await fetch(`${url}/${encodeURIComponent(name).replace("%40", "@")}`, {
        method: "PUT",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`Verdaccio refused ${name}@${version}: ${res.status} ${text.slice(0, 200)}`);
    },
    [Symbol.asyncDispose]: stop,
  };
}
