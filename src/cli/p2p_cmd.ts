import type { Command } from "commander";
import type { Context } from "./context.ts";
import type { ConfigFlags } from "./config.ts";
export function p2pCommands(_program: Command, _open: (cmd: Command, flags?: ConfigFlags) => Promise<Context>): void {}
export function publishP2P(_c: Context, _dir: string): Promise<void> {
  return Promise.resolve();
}
