/**
 * What commands print: results on stdout (JSON lines with `--json`), progress on stderr when it
 * is a terminal.
 * @module
 */

import { escapeTerminal } from "../core/base.ts";

const encoder = new TextEncoder();

/** Escape each line of text for the terminal: names and descriptions come from publishers and peers */
function safeLines(text: string): string {
  return text.split("\n").map(escapeTerminal).join("\n");
}

/** A camelCase field name; data keys (package ids, versions, peer ids) never match */
const CAMEL_KEY = /^[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*$/;

/**
 * The one naming style of `--json` output: snake_case keys, as in ggen's files and wire formats
 * (ggen.toml, ggen.lock, config keys, records). Internal objects keep TypeScript's camelCase;
 * the conversion happens here, at the edge.
 */
export function snakeKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snakeKeys);
  if (value === null || typeof value !== "object" || Object.getPrototypeOf(value) !== Object.prototype) return value;
  return Object.fromEntries(
    Object.entries(value).map((
      [k, v],
    ) => [CAMEL_KEY.test(k) ? k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`) : k, snakeKeys(v)]),
  );
}

/** Output of one command run */
export interface Output {
  readonly json: boolean;
  /** A result row: JSON line, or the text form */
  result(value: unknown, text: string): void;
  /** A human-only line on stdout (skipped with --json) */
  line(text: string): void;
  /** A progress bar on stderr for a TTY; a no-op otherwise */
  progress(label: string, total?: number): Progress;
}

/** A running progress display */
export interface Progress {
  update(done: number): void;
  done(): void;
}

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Create the output for `--json` or text */
export function createOutput(init: { json: boolean }): Output {
  const out = (s: string) => Deno.stdout.writeSync(encoder.encode(s + "\n"));
  const tty = Deno.stderr.isTerminal();
  return {
    json: init.json,
    result(value, text) {
      out(init.json ? JSON.stringify(snakeKeys(value)) : safeLines(text));
    },
    line(text) {
      if (!init.json) out(safeLines(text));
    },
    progress(label, total) {
      if (!tty) return { update() {}, done() {} };
      let last = 0;
      const started = performance.now();
      const draw = (done: number) => {
        const pct = total ? ` ${Math.floor((done / total) * 100)}%` : "";
        // Speed and time left once there is something to measure
        const seconds = (performance.now() - started) / 1000;
        const rate = seconds > 0.5 ? done / seconds : 0;
        const eta = rate > 0 && total ? `, ${Math.ceil((total - done) / rate)} s left` : "";
        const speed = rate > 0 ? `  ${formatBytes(rate)}/s${eta}` : "";
        Deno.stderr.writeSync(
          encoder.encode(
            `\r${escapeTerminal(label)} ${formatBytes(done)}${
              total ? ` / ${formatBytes(total)}` : ""
            }${pct}${speed}\x1b[K`,
          ),
        );
      };
      return {
        update(done) {
          const now = performance.now();
          if (now - last < 100) return;
          last = now;
          draw(done);
        },
        done() {
          Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
        },
      };
    },
  };
}
