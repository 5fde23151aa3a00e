/**
 * Figures of a running process for the P2P bench: its resident set, its CPU time, and where a
 * daemon's memory sits by its own account.
 * @module
 */
import { join } from "node:path";
import { MIB } from "../src/core/constants.ts";
import { partFileName, runtimeDir } from "../src/core/embedded.ts";
import { ggen, V8_FLAGS } from "../tests/helpers.ts";

/**
 * Resident pages of a `deno run` of `code` (then idle) after a second, as the runtime's floor (with
 * ggen's V8 flags); `dir` holds the script, which may also read `readable` (a worker's module)
 */
export async function idlePages(dir: string, code: string, readable: string[] = []): Promise<ResidentPages> {
  const file = join(dir, `idle-${crypto.randomUUID()}.js`);
  await Deno.writeTextFile(file, `${code}\nsetInterval(() => {}, 1000);\n`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", V8_FLAGS, `--allow-read=${[file, ...readable].join(",")}`, "--allow-env", file],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((r) => setTimeout(r, 1000));
  const pages = residentPages(child.pid);
  child.kill("SIGKILL");
  await child.status;
  return pages;
}

/** CPU seconds (user + system) a process has used: /proc through `cat` (Deno guards /proc itself) */
export function cpuSeconds(pid: number): number {
  const out = new Deno.Command("cat", { args: [`/proc/${pid}/stat`], stdout: "piped" }).outputSync();
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th, in ticks
  const fields = new TextDecoder().decode(out.stdout).split(") ")[1]?.split(" ") ?? [];
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Where a daemon's resident memory sits, from its own `p2p status`: each isolate's V8 heap, the
 * buffers outside the heaps, and the rest (the runtime, compiled code, native libraries, stacks)
 */
export async function memoryBreakdown(home: string, main: string): Promise<string> {
  const r = await ggen(["p2p", "status", "--json"], { home, main });
  // --json output has snake_case keys
  type Isolate = { heap_used: number; heap_total: number; external: number };
  const m = (JSON.parse(r.stdout) as { memory?: { rss: number; worker: Isolate; main?: Isolate } }).memory;
  if (!m?.main) throw new Error(`p2p status names no memory figures: ${r.stderr}`);
  const mb = (bytes: number) => (bytes / MIB).toFixed(1);
  const external = m.worker.external + m.main.external;
  const rest = m.rss - m.worker.heap_total - m.main.heap_total - external;
  return `RSS ${mb(m.rss)} MB: P2P worker heap ${mb(m.worker.heap_used)} used of ${
    mb(m.worker.heap_total)
  }, main heap ${mb(m.main.heap_used)} of ${mb(m.main.heap_total)}; buffers ${mb(external)}; rest ${mb(rest)}`;
}

/** A process's resident pages by what backs them, in MB */
export interface ResidentPages {
  rss: number;
  /** Pages of the deno executable itself: file-backed and shared by every Deno process */
  executable: number;
  /** Other mapped files: shared libraries, Deno's code caches */
  otherFiles: number;
  /** Anonymous memory: V8's heaps, malloc's arenas, stacks */
  anonymous: number;
  /** Pages no other process shares (USS): what the process alone adds to the machine */
  unique: number;
}

/** {@link ResidentPages} of `pid`, from `/proc/PID/smaps` through `cat` (Deno guards /proc itself) */
export function residentPages(pid: number): ResidentPages {
  const out = new Deno.Command("cat", { args: [`/proc/${pid}/smaps`], stdout: "piped" }).outputSync();
  const pages: ResidentPages = { rss: 0, executable: 0, otherFiles: 0, anonymous: 0, unique: 0 };
  let kind: "executable" | "otherFiles" | "anonymous" = "anonymous";
  for (const line of new TextDecoder().decode(out.stdout).split("\n")) {
    // A mapping's header: address range, permissions, offset, device, inode, then its path if any
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (header) {
      const [, inode, path] = header;
      kind = path === Deno.execPath() ? "executable" : inode !== "0" ? "otherFiles" : "anonymous";
      continue;
    }
    const field = /^(Rss|Private_Clean|Private_Dirty):\s+(\d+) kB$/.exec(line);
    if (!field) continue;
    const mb = Number(field[2]) / 1024;
    if (field[1] === "Rss") {
      pages.rss += mb;
      pages[kind] += mb;
    } else pages.unique += mb;
  }
  return pages;
}

/** {@link ResidentPages} as one line for a results table */
export function describePages(p: ResidentPages): string {
  return `RSS ${p.rss.toFixed(1)} MB: the deno executable's pages ${p.executable.toFixed(1)} (file-backed, shared ` +
    `by every Deno process), anonymous ${p.anonymous.toFixed(1)} (V8 heaps, malloc, stacks), other files ` +
    `${p.otherFiles.toFixed(1)}; unique to the process (USS) ${p.unique.toFixed(1)} MB`;
}

/** Resident set size of a process in MB (`ps`, since Deno guards /proc behind --allow-all) */
export function rssMb(pid: number): number {
  const out = new Deno.Command("ps", { args: ["-o", "rss=", "-p", String(pid)], stdout: "piped" }).outputSync();
  return Number(new TextDecoder().decode(out.stdout).trim() || 0) / 1024;
}

/**
 * The P2P worker part a single file's daemon (`p2p start`) wrote out when it first ran with `home`
 * (src/core/embedded.ts names it by its digest, which the single file's first line carries)
 */
export function workerPart(singleFile: string, home: string): string {
  const head = Deno.readTextFileSync(singleFile).slice(0, 4096);
  const sha256 = /"p2p_worker":"([0-9a-f]{64})"/.exec(head)?.[1];
  if (!sha256) throw new Error(`${singleFile} names no embedded P2P worker`);
  // The daemon's file (parts are named by the V8 flags of the process that loads them)
  const part = join(runtimeDir(home), partFileName("p2p_worker", sha256, ["p2p", "start"]));
  if (!Deno.statSync(part).isFile) throw new Error(`${part} is not a file`);
  return part;
}
