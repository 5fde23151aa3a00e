/**
 * The hybrid registry's circuit breaker and central's observed latency, kept between commands in
 * `$GGEN_HOME/backend-health.json` (best effort: a read-only home only costs the next command the
 * same timeouts). Light on purpose: the command-line code reads it before the commands load, to
 * know whether central failed moments ago.
 * @module
 */
import { join } from "node:path";
import { backendKey } from "../core/base.ts";
import type { BackendHealthStore } from "../registry/client/mod.ts";

/** The state file of `home` */
export function backendHealthFile(home: string): BackendHealthStore {
  const path = join(home, "backend-health.json");
  return {
    load() {
      try {
        const data = JSON.parse(Deno.readTextFileSync(path)) as Record<string, unknown>;
        return Object.fromEntries(
          Object.entries(data).filter((e): e is [string, number] => typeof e[1] === "number" && Number.isFinite(e[1])),
        );
      } catch {
        return {};
      }
    },
    save(state) {
      try {
        // A first command may find central down before anything else made the home
        Deno.mkdirSync(home, { recursive: true });
        const tmp = `${path}.tmp-${crypto.randomUUID()}`;
        Deno.writeTextFileSync(tmp, JSON.stringify(state));
        Deno.renameSync(tmp, path);
      } catch {
        // a read-only home only costs the next command the same timeouts
      }
    },
  };
}

/** True while the breaker skips the central registry at `centralUrl` (it failed moments ago) */
export function centralSkipped(home: string, centralUrl: string): boolean {
  const until = backendHealthFile(home).load()[backendKey({ name: "central", url: centralUrl })];
  return until !== undefined && until > Date.now();
}
