/**
 * Generates the hostile-archive corpus: raw ustar/PAX headers written byte by byte, so the corpus
 * can hold what no well-behaved tar writer produces. Each case names its attack class. The
 * lessons of node-tar CVE-2021-32803, -32804, -37701, -37712, -37713 and CVE-2024-28863 apply.
 * @module
 */
import { gzipSync } from "node:zlib";
import { concatBytes } from "../../src/core/bytes.ts";

const enc = new TextEncoder();

/** One raw tar entry */
interface RawEntry {
  name: string;
  type?: string;
  body?: Uint8Array | string;
  /** Size written in the header; defaults to the body length */
  headerSize?: number | "negative-base256" | "minus-one-base256";
  linkname?: string;
  /** PAX records placed in an extended header before this entry */
  pax?: Record<string, string>;
}

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, "0") + "\0";
}

function header(
  e: { name: string; type: string; size: number | "negative-base256" | "minus-one-base256"; linkname?: string },
): Uint8Array {
  const h = new Uint8Array(512);
  h.set(enc.encode(e.name).subarray(0, 100), 0);
  h.set(enc.encode(octal(0o644, 8)), 100);
  h.set(enc.encode(octal(0, 8)), 108);
  h.set(enc.encode(octal(0, 8)), 116);
  if (e.size === "negative-base256" || e.size === "minus-one-base256") {
    // base-256 (GNU) encoding: high bit set, two's complement; all 0xFF is -1
    h.fill(0xff, 124, 136);
    if (e.size === "minus-one-base256") h[135] = 0xfe;
  } else {
    h.set(enc.encode(octal(e.size, 12)), 124);
  }
  h.set(enc.encode(octal(946684800, 12)), 136);
  h.set(enc.encode(e.type), 156);
  if (e.linkname) h.set(enc.encode(e.linkname).subarray(0, 100), 157);
  h.set(enc.encode("ustar\0"), 257);
  h.set(enc.encode("00"), 263);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(enc.encode(sum.toString(8).padStart(6, "0") + "\0 "), 148);
  return h;
}

function padded(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(body.byteLength / 512) * 512);
  out.set(body);
  return out;
}

function paxBody(records: Record<string, string>): Uint8Array {
  let text = "";
  for (const [k, v] of Object.entries(records)) {
    const rest = ` ${k}=${v}\n`;
    let len = rest.length + 1;
    while (String(len).length + rest.length !== len) len = String(len).length + rest.length;
    text += `${len}${rest}`;
  }
  return enc.encode(text);
}

/** Build a raw tar from entries */
export function rawTar(entries: RawEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.pax) {
      const pb = paxBody(e.pax);
      parts.push(header({ name: "PaxHeader", type: "x", size: pb.byteLength }), padded(pb));
    }
    const body = typeof e.body === "string" ? enc.encode(e.body) : e.body ?? new Uint8Array(0);
    parts.push(
      header({
        name: e.name,
        type: e.type ?? "0",
        size: e.headerSize ?? body.byteLength,
        ...(e.linkname ? { linkname: e.linkname } : {}),
      }),
      padded(body),
    );
  }
  parts.push(new Uint8Array(1024));
  return concatBytes(parts);
}

const gz = (tar: Uint8Array) => new Uint8Array(gzipSync(tar));

/** One corpus case */
export interface HostileCase {
  klass: string;
  bytes: Uint8Array;
}

/** Generate the corpus; `outside` is an absolute path an attack tries to write */
export function generateCorpus(outside: string): HostileCase[] {
  const f = (name: string, body = "x"): RawEntry => ({ name, body });
  const cases: HostileCase[] = [];
  const add = (klass: string, entries: RawEntry[]) => cases.push({ klass, bytes: gz(rawTar(entries)) });
  add("absolute path", [f(outside)]);
  add("absolute path", [f("/etc/ggen-evil")]);
  add("dot-dot", [f("../ggen-evil")]);
  add("dot-dot", [f("a/b/../../../ggen-evil")]);
  add("backslash dot-dot", [f("..\\ggen-evil")]);
  add("backslash dot-dot", [f("a\\..\\..\\ggen-evil")]);
  add("drive-relative path", [f("C:ggen-evil")]);
  add("drive-relative path", [f("c:/windows/ggen-evil")]);
  add("symlink leaving the target", [{ name: "link", type: "2", linkname: "/" }, f("link/ggen-evil")]);
  add("symlink leaving the target", [{ name: "up", type: "2", linkname: ".." }]);
  add("directory then symlink of the same name", [
    { name: "d", type: "5" },
    { name: "d", type: "2", linkname: "/tmp" },
    f("d/ggen-evil"),
  ]);
  add("hardlink to an outside path", [{ name: "h", type: "1", linkname: outside }]);
  add("hardlink to an outside path", [{ name: "h", type: "1", linkname: "../../etc/passwd" }]);
  add("character device", [{ name: "null", type: "3" }]);
  add("block device", [{ name: "sda", type: "4" }]);
  add("fifo", [{ name: "pipe", type: "6" }]);
  add("NFC/NFD collision", [f("caf\u00e9"), f("cafe\u0301")]);
  add("case-insensitive duplicate", [f("README"), f("readme")]);
  add("NUL in a PAX path", [{ name: "innocent", body: "x", pax: { path: "evil\0.txt" } }]);
  add("PAX size different from header size", [{ name: "a", body: "0123456789", pax: { size: "4096" } }, f("b")]);
  add("negative base-256 size", [{ name: "neg", body: "", headerSize: "negative-base256" }]);
  add("negative base-256 size", [{ name: "neg", body: "", headerSize: "minus-one-base256" }]);
  add("depth over 1024", [{
    name: "deep",
    body: "x",
    pax: { path: Array.from({ length: 1100 }, () => "d").join("/") + "/f" },
  }]);
  add("over-long path", [{ name: "long", body: "x", pax: { path: "p".repeat(5000) } }]);
  add("duplicate entry", [f("same", "one"), f("same", "two")]);
  add("archive containing the install marker", [
    f("ggen.toml", '[package]\nid = "io.evil.pkg"\nname = "e"\nversion = "1.0.0"\ndescription = "d"\n'),
    f(".ggen-complete", "forged"),
  ]);
  const good = gz(rawTar([f("a", "a".repeat(100_000)), f("b")]));
  cases.push({ klass: "truncated gzip", bytes: good.subarray(0, Math.floor(good.byteLength / 2)) });
  cases.push({ klass: "truncated gzip", bytes: good.subarray(0, good.byteLength - 4) });
  // A multi-member gzip of zeros: 160 members of 64 MiB each would inflate to 10 GiB
  const member = new Uint8Array(gzipSync(new Uint8Array(64 * 1024 * 1024), { level: 9 }));
  const bomb = new Uint8Array(member.byteLength * 160);
  for (let i = 0; i < 160; i++) bomb.set(member, i * member.byteLength);
  cases.push({ klass: "gzip bomb (10 GiB)", bytes: bomb });
  return cases;
}
