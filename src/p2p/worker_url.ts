/**
 * Where the P2P worker's code comes from: `workers/p2p_worker.ts` run from source, or the part
 * the single-file build embeds (see core/embedded.ts).
 * @module
 */
import { embeddedModuleUrl } from "../core/mod.ts";

/** The URL to start the P2P worker from */
export async function workerUrl(home: string): Promise<string> {
  return await embeddedModuleUrl("p2p_worker", home) ?? import.meta.resolve("../../workers/p2p_worker.ts");
}
