/**
 * What the commands do, behind their definitions in program.ts: the one module the CLI loads
 * once a command runs. The single-file build carries it as a part of its own (see
 * src/core/embedded.ts), so `--version`, `--help`, `config get` and `completions` parse only
 * commander and the configuration code, never the registry client, the store, the archive code
 * or SQLite.
 * @module
 */
export * as cacheCommands from "./cache_cmd.ts";
export * as configWrite from "./config_write.ts";
export * as context from "./context.ts";
export * as dashboard from "./dashboard_cmd.ts";
export * as init from "./init.ts";
export * as install from "./install.ts";
export * as login from "./login.ts";
export * as p2pActions from "./p2p_actions.ts";
export * as project from "./project_cmd.ts";
export * as publish from "./publish.ts";
export * as search from "./search.ts";
export * as store from "../store/mod.ts";
export * as trustActions from "./trust_actions.ts";
export { gt as semverGreater } from "semver";
