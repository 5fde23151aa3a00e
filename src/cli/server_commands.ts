/**
 * The commands that run or administer a registry (the HTTP server, SQLite/PostgreSQL/S3 storage,
 * metrics, README rendering) and the demo that starts one. They load apart from the rest of the
 * CLI: in the single-file build they are a part of their own (core/embedded.ts), so the commands
 * every user runs do not parse the S3 SDK, the PostgreSQL driver or the HTML sanitiser.
 * @module
 */
export {
  configCheckCommand,
  migrateCommand,
  serveCommand,
  tokenCreateCommand,
  tokenRevokeCommand,
} from "./registry_cmd.ts";
export { registryImportCommand } from "./registry_import.ts";
export { registryExportCommand } from "./registry_export.ts";
export { demoCommand } from "./demo.ts";
