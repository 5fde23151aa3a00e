/**
 * Test hosts in Linux network namespaces: N namespaces on one bridge with a multicast route, so
 * mDNS is real multicast. Needs root and iproute2; {@link netnsUnavailable} says why not.
 * @module
 */
import { MAIN, runFlags } from "./helpers.ts";

async function run(cmd: string, args: string[]): Promise<{ code: number; stderr: string }> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "piped" }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

async function ip(...args: string[]): Promise<void> {
  const r = await run("ip", args);
  if (r.code !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.trim()}`);
}

/** Why namespaces cannot be used here, or undefined when they can */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "network namespaces need Linux";
  if (Deno.uid() !== 0) return "creating network namespaces needs root";
  try {
    const probe = `ggp${Deno.pid % 100000}`;
    const r = await run("ip", ["netns", "add", probe]);
    if (r.code !== 0) return `the kernel refused a network namespace: ${r.stderr.trim()}`;
    await run("ip", ["netns", "del", probe]);
  } catch {
    return "iproute2 (`ip`) is not installed";
  }
  return undefined;
}

/** A set of test hosts */
export interface Hosts extends AsyncDisposable {
  /** Namespace names, one per host */
  names: string[];
  /** IPv4 address of host i */
  address(i: number): string;
}

/** Create `n` hosts 10.79.<tag>.1..n on one bridge */
export async function createHosts(n: number): Promise<Hosts> {
  // A random free subnet and names, so concurrent runs on one machine never share or delete each
  // other's hosts; `ip netns add` fails when the name is taken
  let tag = 0;
  for (let attempt = 0; attempt < 20 && tag === 0; attempt++) {
    const candidate = 1 + Math.floor(Math.random() * 250);
    if ((await run("ip", ["netns", "add", `ggsw${candidate}`])).code === 0) tag = candidate;
  }
  if (tag === 0) throw new Error("No free test subnet: remove stale namespaces with `ip netns list`");
  const sw = `ggsw${tag}`;
  const names = Array.from({ length: n }, (_, i) => `gg${tag}h${i + 1}`);
  const cleanup = async () => {
    for (const name of names) await run("ip", ["netns", "del", name]);
    await run("ip", ["netns", "del", sw]);
  };
  try {
    await ip("-n", sw, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0");
    await ip("-n", sw, "link", "set", "br0", "up");
    for (const [i, name] of names.entries()) {
      await ip("netns", "add", name);
      await ip(
        "link",
        "add",
        `h${i}x${tag}`,
        "netns",
        name,
        "type",
        "veth",
        "peer",
        "name",
        `p${i}x${tag}`,
        "netns",
        sw,
      );
      await ip("-n", sw, "link", "set", `p${i}x${tag}`, "master", "br0", "up");
      await ip("-n", name, "link", "set", "lo", "up");
      await ip("-n", name, "addr", "add", `10.79.${tag}.${i + 1}/24`, "dev", `h${i}x${tag}`);
      await ip("-n", name, "link", "set", `h${i}x${tag}`, "up");
      await ip("-n", name, "route", "add", "224.0.0.0/4", "dev", `h${i}x${tag}`);
    }
  } catch (err) {
    await cleanup();
    throw err;
  }
  return { names, address: (i) => `10.79.${tag}.${i + 1}`, [Symbol.asyncDispose]: cleanup };
}

/** A `ggen` command run inside host namespace `ns` */
export function ggenInHost(
  ns: string,
  args: string[],
  opts: { env: Record<string, string>; stdout?: "null" | "piped"; stderr?: "null" | "piped" },
): Deno.Command {
  return new Deno.Command("ip", {
    args: ["netns", "exec", ns, Deno.execPath(), "run", "--quiet", ...runFlags(args), MAIN, ...args],
    env: { NO_COLOR: "1", ...opts.env },
    stdout: opts.stdout ?? "null",
    stderr: opts.stderr ?? "null",
  });
}
