/**
 * A throwaway S3-compatible object store for tests: a single-node OpenStack Swift (object,
 * container, account and proxy servers, one device, one replica) with the s3api middleware and
 * tempauth, on free 127.0.0.1 ports, in a temp directory removed afterwards. Undefined, with the
 * install command, when Swift is not installed.
 * @module
 */
import { join } from "node:path";

/** A running store and its credentials (S3 signature v4 over tempauth's account) */
export interface SwiftS3 {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  stop(): Promise<void>;
}

/** The install command printed when Swift is missing */
export const SWIFT_INSTALL =
  "apt-get install -y --no-install-recommends swift-proxy swift-object swift-container swift-account";

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function run(program: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(program, { args, stdout: "null", stderr: "piped" }).output();
  if (out.code !== 0 && out.code !== 1) {
    // swift-ring-builder exits 1 on a rebalance warning, which a one-device ring always gets
    throw new Error(`${program} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Start the store, or undefined (with the reason on stderr) when Swift is missing */
export async function startSwiftS3(): Promise<SwiftS3 | undefined> {
  try {
    Deno.statSync("/usr/bin/swift-proxy-server");
  } catch {
    console.error(`  OpenStack Swift is not installed: skipped (install it with: ${SWIFT_INSTALL})`);
    return undefined;
  }
  const base = await Deno.makeTempDir({ prefix: "ggen-swift-" });
  const conf = join(base, "etc");
  const dev = join(base, "srv");
  await Deno.mkdir(join(dev, "d1"), { recursive: true });
  await Deno.mkdir(conf, { recursive: true });
  await Deno.writeTextFile(
    join(conf, "swift.conf"),
    `[swift-hash]\nswift_hash_path_suffix = ggen-${crypto.randomUUID()}\nswift_hash_path_prefix = ggen\n` +
      "[storage-policy:0]\nname = gold\ndefault = yes\n",
  );
  const user = (await new Deno.Command("id", { args: ["-un"], stdout: "piped" }).output()).stdout;
  const common = [
    `swift_dir = ${conf}`,
    `devices = ${dev}`,
    "mount_check = false",
    "bind_ip = 127.0.0.1",
    "workers = 0",
    `user = ${new TextDecoder().decode(user).trim()}`,
    "log_level = WARNING",
    "log_address = /nonexistent-dev-log",
  ].join("\n");
  const backendPorts: number[] = [];
  for (const srv of ["object", "container", "account"]) {
    const port = freePort();
    backendPorts.push(port);
    await Deno.writeTextFile(
      join(conf, `${srv}-server.conf`),
      `[DEFAULT]\n${common}\nbind_port = ${port}\n[pipeline:main]\npipeline = ${srv}-server\n` +
        `[app:${srv}-server]\nuse = egg:swift#${srv}\n`,
    );
    const builder = join(conf, `${srv}.builder`);
    await run("swift-ring-builder", [builder, "create", "6", "1", "1"]);
    await run("swift-ring-builder", [builder, "add", `r1z1-127.0.0.1:${port}/d1`, "100"]);
    await run("swift-ring-builder", [builder, "rebalance"]);
  }
  const proxyPort = freePort();
  await Deno.writeTextFile(
    join(conf, "proxy-server.conf"),
    `[DEFAULT]\n${common}\nbind_port = ${proxyPort}\n` +
      "[pipeline:main]\npipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api " +
      "tempauth copy proxy-logging proxy-server\n" +
      "[app:proxy-server]\nuse = egg:swift#proxy\naccount_autocreate = true\nallow_account_management = true\n" +
      "[filter:catch_errors]\nuse = egg:swift#catch_errors\n[filter:gatekeeper]\nuse = egg:swift#gatekeeper\n" +
      "[filter:healthcheck]\nuse = egg:swift#healthcheck\n[filter:proxy-logging]\nuse = egg:swift#proxy_logging\n" +
      "[filter:cache]\nuse = egg:swift#memcache\nmemcache_servers = 127.0.0.1:1\n" +
      "[filter:listing_formats]\nuse = egg:swift#listing_formats\n[filter:copy]\nuse = egg:swift#copy\n" +
      "[filter:s3api]\nuse = egg:swift#s3api\nlocation = us-east-1\n" +
      "[filter:tempauth]\nuse = egg:swift#tempauth\nuser_test_tester = testing .admin\n",
  );
  const children: Deno.ChildProcess[] = [];
  for (const srv of ["object", "container", "account", "proxy"]) {
    children.push(
      new Deno.Command(`/usr/bin/swift-${srv}-server`, {
        args: [join(conf, `${srv}-server.conf`)],
        stdout: "null",
        stderr: "null",
      }).spawn(),
    );
  }
  const endpoint = `http://127.0.0.1:${proxyPort}`;
  const stop = async () => {
    for (const c of children) {
      try {
        c.kill("SIGKILL");
      } catch { /* gone */ }
    }
    await Promise.all(children.map((c) => c.status));
    await Deno.remove(base, { recursive: true }).catch(() => {});
  };
  // Ready when the object, container and account servers accept connections and the proxy answers
  // its health check (bounded: 30 s); the proxy alone answers 503 "reduce your request rate" for
  // every request its backends are not up for yet (a loaded machine starts them seconds apart)
  const listening = async (port: number) => {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  };
  for (let i = 0; i < 300; i++) {
    try {
      const backends = await Promise.all(backendPorts.map(listening));
      const res = await fetch(`${endpoint}/healthcheck`);
      await res.body?.cancel();
      if (res.ok && backends.every(Boolean)) {
        return { endpoint, accessKeyId: "test:tester", secretAccessKey: "testing", stop };
      }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop();
  throw new Error("Swift (proxy, object, container and account servers) did not come up within 30 s");
}
