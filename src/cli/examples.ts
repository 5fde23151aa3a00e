/**
 * The example packages the demo publishes: `examples/` beside the source, or, in the single-file
 * build, the copy that `deno task bundle` embedded (written out to a directory of the demo's own).
 * @module
 */
import { dirname, join, normalize } from "node:path";
import { fileURLToPath } from "node:url";

/** The global the single-file build sets: `globalThis[Symbol.for(EMBEDDED_EXAMPLES_KEY)]`, path → text */
export const EMBEDDED_EXAMPLES_KEY = "ggen.examples";

/** A directory holding one directory per example package; `work` receives the embedded copy */
export async function examplesDir(work: string): Promise<string> {
  const files = (globalThis as Record<symbol, unknown>)[Symbol.for(EMBEDDED_EXAMPLES_KEY)];
  if (typeof files !== "object" || files === null) return fileURLToPath(new URL("../../examples", import.meta.url));
  const dir = join(work, "examples");
  for (const [path, text] of Object.entries(files as Record<string, unknown>)) {
    const target = normalize(join(dir, path));
    // The build wrote these paths; still, nothing lands outside the directory
    if (typeof text !== "string" || !target.startsWith(dir + "/")) continue;
    await Deno.mkdir(dirname(target), { recursive: true });
    await Deno.writeTextFile(target, text);
  }
  return dir;
}
