/**
 * scripts/node_host.js, the single file's stand-in for what its parsed part imports of
 * node:events, node:path, node:url and node:util: each function gives what the real module gives,
 * over inputs chosen for their edge cases (tests/bundle_test.ts runs the whole CLI with it).
 */
import assert from "node:assert/strict";
import { EventEmitter as NodeEventEmitter } from "node:events";
import nodePath from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { stripVTControlCharacters } from "node:util";
import { nodeHost } from "../scripts/node_host.js";

const host = await nodeHost();
const POSIX = Deno.build.os !== "windows";

const SEGMENTS = [
  "",
  ".",
  "..",
  "/",
  "//",
  "a",
  "a/",
  "/a",
  "a/b",
  "a//b/",
  "./a",
  "../a",
  "a/../..",
  "/../a",
  "a/./b/../c",
  "...",
  "a/..b/.c",
  "/x y/ünï/😀",
  "..a/b..",
];

Deno.test({
  name: "node host: join, resolve and normalize give what node:path gives",
  ignore: !POSIX,
  fn: () => {
    for (const a of SEGMENTS) {
      assert.equal(host.path.normalize(a), nodePath.normalize(a), `normalize(${a})`);
      assert.equal(host.path.resolve(a), nodePath.resolve(a), `resolve(${a})`);
      for (const b of SEGMENTS) {
        assert.equal(host.path.join(a, b), nodePath.join(a, b), `join(${a}, ${b})`);
        assert.equal(host.path.resolve(a, b), nodePath.resolve(a, b), `resolve(${a}, ${b})`);
        assert.equal(host.path.join("/home/u", a, b), nodePath.join("/home/u", a, b), `join(/home/u, ${a}, ${b})`);
      }
    }
    assert.equal(host.path.join(), nodePath.join());
    assert.equal(host.path.resolve(), nodePath.resolve());
    assert.equal(host.path.sep, nodePath.sep);
    assert.equal(host.path.delimiter, nodePath.delimiter);
    // What commander uses only for executable subcommands refuses
    assert.throws(() => host.path.basename("/a/b.js"), /no executable subcommands/);
  },
});

Deno.test({
  name: "node host: file URLs convert as node:url converts them, both ways",
  ignore: !POSIX,
  fn: () => {
    const paths = [
      "/",
      "/a/b.js",
      "/a/b/",
      "/x y/ünï",
      "/p%41th",
      "/q?r#s",
      "/tab\there",
      "/new\nline",
      "/back\\slash",
      "rel/x",
    ];
    for (const p of paths) {
      assert.equal(host.url.pathToFileURL(p).href, pathToFileURL(p).href, `pathToFileURL(${JSON.stringify(p)})`);
      const url = pathToFileURL(p);
      assert.equal(host.url.fileURLToPath(url), fileURLToPath(url), `fileURLToPath(${url.href})`);
      assert.equal(host.url.fileURLToPath(url.href), fileURLToPath(url.href));
    }
    for (const bad of ["https://example.com/a", "file://host/a", "file:///a%2Fb", "file:///a%2fb"]) {
      assert.throws(() => fileURLToPath(bad), TypeError);
      assert.throws(() => host.url.fileURLToPath(bad), TypeError, bad);
    }
  },
});

Deno.test("node host: stripVTControlCharacters removes what node:util removes", () => {
  const samples = [
    "plain",
    "\x1b[1mbold\x1b[22m",
    "\x1b[38;5;245mgrey\x1b[0m and \x1b[31mred\x1b[39m",
    "\x1b]8;;https://example.com\x07link\x1b]8;;\x07",
    "\x9b32mcsi\x9b0m",
    "\x1b[2K\x1b[1G\x1b[?25l cursor",
    "not \x1b an escape",
    "ünï 😀 \x1b[4munder\x1b[24m",
  ];
  for (const s of samples) {
    assert.equal(host.util.stripVTControlCharacters(s), stripVTControlCharacters(s), JSON.stringify(s));
  }
});

Deno.test("node host: EventEmitter calls listeners in order with the emitter as this, as Node's does", () => {
  for (const Emitter of [host.events.EventEmitter, NodeEventEmitter]) {
    const emitter = new Emitter();
    const calls: unknown[][] = [];
    assert.equal(emitter.emit("option:x", 1), false);
    assert.equal(emitter.listenerCount("option:x"), 0);
    emitter.on("option:x", function (this: unknown, value: unknown) {
      calls.push(["first", value, this === emitter]);
    });
    assert.equal(emitter.on("option:x", (value: unknown) => calls.push(["second", value])), emitter);
    assert.equal(emitter.listenerCount("option:x"), 2);
    assert.equal(emitter.emit("option:x", "v"), true);
    assert.deepEqual(calls, [["first", "v", true], ["second", "v"]]);
    assert.throws(() => emitter.emit("error", new Error("boom")), /boom/);
  }
});
