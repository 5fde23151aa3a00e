/**
 * The CLI's code beyond parsing: the commands (src/cli/commands.ts) and the registry's server
 * side (src/cli/server_commands.ts), each the source file or the single-file build's embedded
 * part of that name (src/core/embedded.ts). Imported by a computed URL, so that `deno bundle`
 * leaves them out of the code every start parses.
 * @module
 */
import { embeddedModuleUrl } from "../core/base.ts";
import { defaultHome } from "./config.ts";

/** The server side (HTTP server, storage, metrics): `ggen registry …` and the demo */
export type ServerCommands = typeof import("./server_commands.ts");

/** The server side's module */
export async function serverCommands(home: string): Promise<ServerCommands> {
  const url = await embeddedModuleUrl("server", home) ?? import.meta.resolve("./server_commands.ts");
  return await import(url) as ServerCommands;
}

/** The module with what every command does */
export type Commands = typeof import("./commands.ts");

let loading: Promise<Commands> | undefined;

/** The commands' module, loaded on first use */
export function commands(): Promise<Commands> {
  loading ??= (async () => {
    const url = await embeddedModuleUrl("commands", defaultHome()) ?? import.meta.resolve("./commands.ts");
    return await import(url) as Commands;
  })();
  return loading;
}
