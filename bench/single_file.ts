/**
 * The single file users install (`deno task bundle`), built into a bench's work directory so the
 * benchmarks measure what users run.
 * @module
 */
import { join } from "node:path";
import { ROOT } from "../tests/helpers.ts";

/** Build `DIR/ggen.js` with scripts/bundle.ts; returns its path */
export async function buildSingleFile(dir: string): Promise<string> {
  const file = join(dir, "ggen.js");
  const built = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "--allow-run", "scripts/bundle.ts", "--output", file],
    cwd: ROOT,
    stderr: "piped",
  }).output();
  if (!built.success) throw new Error(`deno task bundle failed: ${new TextDecoder().decode(built.stderr)}`);
  return file;
}
