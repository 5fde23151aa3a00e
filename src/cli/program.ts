/**
 * The `ggen` command line: commander definitions that call one function per command.
 * @module
 */
import { Command, CommanderError, Option } from "commander";
import { resolve as resolvePath } from "node:path";
import {
  ConfigError,
  createLogger,
  DEFAULT_REGISTRY_PORT,
  GGEN_VERSION,
  IntegrityError,
  type Logger,
} from "../core/base.ts";
import { UsageError } from "./usage.ts";
import { CONFIG_KEYS, type ConfigFlags, loadConfig, readConfigFile } from "./config.ts";
import type { Context } from "./context.ts";
import { createOutput, snakeKeys } from "./output.ts";
import { commands, type ServerCommands, serverCommands } from "./parts.ts";
import { p2pCommands } from "./p2p_cmd.ts";
import { loadWorkerAhead } from "./node_ahead.ts";
import { trustCommands } from "./trust_cmd.ts";
import { addExamples, completionScript } from "./help.ts";

// Each command's code loads when it runs (parts.ts): `--help`, `--version`, `completions` and
// `config show|get` load none of it (no registry client, libp2p, store, archive code or SQLite)

interface GlobalOptions {
  registry?: string;
  json?: boolean;
  verbose?: boolean;
  quiet?: boolean;
}

export { UsageError };

/** Run the CLI with `argv` (without the program name); resolves to the exit code */
export async function runCli(argv: string[], signal: AbortSignal): Promise<number> {
  let ctx: Context | undefined;
  const program = new Command("ggen")
    .description("ggen marketplace: search, install and publish ggen packages, from a central registry or peers")
    .version(GGEN_VERSION, "-V, --version", "print the version of ggen")
    .option("--registry <url>", "central registry URL (overrides GGEN_REGISTRY and config)")
    .option("--json", "machine-readable output (JSON lines)")
    .option("-v, --verbose", "debug logging, error causes and stacks")
    .option("-q, --quiet", "only warnings and errors on stderr")
    .configureHelp({ showGlobalOptions: true })
    .exitOverride()
    .configureOutput({ writeErr: (s) => Deno.stderr.writeSync(new TextEncoder().encode(s)) })
    .showHelpAfterError();

  /** The configuration and output, for commands that need no more (`config`, `version`) */
  const settings = async (cmd: Command, flags: ConfigFlags = {}) => {
    const g = cmd.optsWithGlobals() as GlobalOptions & ConfigFlags;
    const config = await loadConfig({
      ...(g.registry ? { registry: g.registry } : {}),
      ...(g.verbose ? { verbose: true } : {}),
      ...(g.quiet ? { quiet: true } : {}),
      ...flags,
    });
    const logger: Logger = createLogger({ level: config.logLevel });
    logger.debug(`config: ${config.configFile}, mode ${config.registry.mode}, central ${config.registry.centralUrl}`);
    return { config, logger, out: createOutput({ json: Boolean(g.json) }) };
  };
  const open = async (cmd: Command, flags: ConfigFlags = {}): Promise<Context> => {
    const base = await settings(cmd, flags);
    // The P2P worker, when a node is the likely way, loads on its own thread while this one loads
    // the commands' code: started first, as that keeps this thread busy
    await loadWorkerAhead(cmd.name(), base.config, base.logger);
    const { context } = await commands();
    ctx = context.createContext({ ...base, signal });
    return ctx;
  };
  const onServer = async (cmd: Command, run: (m: ServerCommands, c: Context) => Promise<void>) => {
    const c = await open(cmd);
    await run(await serverCommands(c.config.home), c);
  };
  const modeFlags = (c: Command) =>
    c.addOption(new Option("--p2p", "use only the P2P network").conflicts("central"))
      .addOption(new Option("--central", "use only the central registry"))
      .addOption(
        new Option("--offline", "never touch the network: only what earlier commands cached").conflicts([
          "p2p",
          "central",
          "preferOffline",
        ]),
      )
      .addOption(new Option("--prefer-offline", "the caches first, the network only for what they lack"));
  const modeOf = (
    o: { p2p?: boolean; central?: boolean; offline?: boolean; preferOffline?: boolean },
  ): ConfigFlags => ({
    ...(o.p2p ? { p2p: true } : {}),
    ...(o.central ? { central: true } : {}),
    ...(o.offline ? { network: "offline" as const } : o.preferOffline ? { network: "prefer-offline" as const } : {}),
  });

  modeFlags(program.command("search <query>").description("search packages"))
    .option("--limit <n>", "most results", (v) => parseIntArg(v, "--limit"), 20)
    .action(async (query: string, o, cmd: Command) => {
      await (await commands()).search.searchCommand(await open(cmd, modeOf(o)), query, { limit: o.limit });
    });
  modeFlags(program.command("info <spec>").description("show a package and its versions (ID[@RANGE])"))
    .action(async (spec: string, o, cmd: Command) =>
      await (await commands()).search.infoCommand(await open(cmd, modeOf(o)), spec)
    );
  modeFlags(
    program.command("install [specs...]").description(
      "install packages (ID[@RANGE]) into this project; without arguments, exactly what ggen.lock pins",
    ),
  )
    .option("--locked", "fail if ggen.lock would change (like cargo build --locked)")
    .action(async (specs: string[], o, cmd: Command) => {
      const c = await open(cmd, modeOf(o));
      const { store, install } = await commands();
      const { projectRoot, readLockfile } = store;
      if (specs.length === 0 && Object.keys((await readLockfile(projectRoot())).requires).length === 0) {
        throw new UsageError("Nothing to install: give ID[@RANGE], or run in a project with a ggen.lock");
      }
      if (o.locked && specs.length > 0) throw new UsageError("--locked installs exactly ggen.lock: give no package");
      const installed = await install.installPackages(c, specs, o.locked ? { locked: true } : {});
      // Lines for what changed; a package already in place and intact is counted, not reprinted
      for (const p of installed) {
        if (p.action !== "unchanged") {
          c.out.result(p, `${p.action === "repaired" ? "Repaired" : "Installed"} ${p.id}@${p.version} (${p.source})`);
        } else if (c.out.json) c.out.result(p, "");
      }
      const unchanged = installed.filter((p) => p.action === "unchanged").length;
      if (unchanged > 0) {
        c.logger.info(`${unchanged} package${unchanged === 1 ? "" : "s"} already installed and intact`);
      }
    });
  modeFlags(program.command("update [id]").description("update packages within their ranges and rewrite ggen.lock"))
    .action(async (id: string | undefined, o, cmd: Command) => {
      const c = await open(cmd, modeOf(o));
      const { store, install, semverGreater } = await commands();
      const before = new Map((await store.readLockfile(store.projectRoot())).packages.map((p) => [p.id, p.version]));
      const locked = await install.installPackages(c, [], { unlock: id ? new Set([id]) : "all" });
      for (const p of locked) {
        const old = before.get(p.id);
        // After a yank, "update" can move down: say which way it went
        const change = !old
          ? "added"
          : old === p.version
          ? "unchanged"
          : semverGreater(p.version, old)
          ? "upgraded"
          : "downgraded";
        const text = change === "unchanged"
          ? `${p.id}@${p.version} up to date`
          : change === "added"
          ? `Added ${p.id}@${p.version}`
          : `${
            change === "upgraded" ? "Updated" : "Downgraded (the locked version was yanked)"
          } ${p.id} ${old} -> ${p.version}`;
        c.out.result({ ...p, previous: old ?? null, change }, text);
      }
    });
  program.command("version").description("print the version of ggen").action(async (_o, cmd: Command) => {
    const c = await settings(cmd);
    c.out.result({ version: GGEN_VERSION, deno: Deno.version.deno }, GGEN_VERSION);
  });
  program.command("outdated").description("requirements whose locked version is behind the registry's newest")
    .action(async (_o, cmd: Command) => await (await commands()).project.outdatedCommand(await open(cmd)));
  program.command("tree").description("the locked packages as the dependency tree of the project's requirements")
    .action(async (_o, cmd: Command) => await (await commands()).project.treeCommand(await open(cmd)));
  program.command("completions <shell>").description("print a completion script for bash, zsh or fish")
    .action((shell: string) => void Deno.stdout.writeSync(new TextEncoder().encode(completionScript(program, shell))));
  program.command("list").description("list installed packages").action(async (_o, cmd: Command) => {
    const c = await open(cmd);
    const { isInstalled, projectRoot, readLockfile } = (await commands()).store;
    const root = projectRoot();
    const lock = await readLockfile(root);
    for (const p of lock.packages) {
      // The lock says what should be there; the project's directory says whether it is
      const installed = await isInstalled(root, p.id, p.version);
      c.out.result(
        { ...p, installed },
        `${p.id}@${p.version}  sha256:${p.sha256.slice(0, 16)}…${p.id in lock.requires ? "" : "  (dependency)"}${
          installed ? "" : "  NOT INSTALLED (run `ggen install`)"
        }`,
      );
    }
  });
  program.command("verify").description(
    "check installed files against ggen.lock and the store; non-zero exit on any difference",
  )
    .action(async (_o, cmd: Command) => {
      const c = await open(cmd);
      const { projectRoot, readLockfile, verifyProject } = (await commands()).store;
      const diffs = await verifyProject(projectRoot(), c.cache);
      for (const d of diffs) c.out.result(d, `${d.problem.padEnd(13)} ${d.package}  ${d.path}`);
      if (diffs.length > 0) {
        throw new IntegrityError(
          `Verification failed: ${diffs.length} difference${
            diffs.length === 1 ? "" : "s"
          }; to restore a package, delete its directory under .ggen/packages and run \`ggen install\``,
        );
      }
      const count = (await readLockfile(projectRoot())).packages.length;
      // Scripts get a line on success too
      c.out.result({ ok: true, packages: count, differences: 0 }, `All ${count} locked packages match`);
    });
  program.command("remove <id>").description("remove a package from this project").action(
    async (id: string, _o, cmd: Command) => await (await commands()).install.removePackage(await open(cmd), id),
  );
  program.command("init [dir]").description("create a new package (manifest, README, a template) in DIR")
    .option("--id <id>", "reverse-DNS package id (default: io.ggen.<directory name>)")
    .action(async (dir: string | undefined, o, cmd: Command) =>
      await (await commands()).init.initCommand(await open(cmd), dir ?? ".", o)
    );
  program.command("pack [dir]").description("pack a package directory into a deterministic .tar.gz")
    .option("--out <file>", "output file")
    .option("--list", "list the files that would be packed, with sizes, and write nothing")
    .action(async (dir: string | undefined, o, cmd: Command) =>
      await (await commands()).publish.packCommand(await open(cmd), dir ?? ".", o)
    );
  modeFlags(program.command("publish [dir]").description("sign and publish a package directory"))
    .option("--key <name>", "signing key in $GGEN_HOME/keys", "default")
    .option("--dry-run", "pack and check everything, show what would be published, upload nothing")
    .action(async (dir: string | undefined, o, cmd: Command) => {
      const c = await open(cmd, modeOf(o));
      const { publish, p2pActions } = await commands();
      if (o.dryRun) await publish.packCommand(c, dir ?? ".", { list: true });
      else if (o.p2p) await p2pActions.publishP2P(c, dir ?? ".", { key: o.key });
      else await publish.publishCommand(c, dir ?? ".", { key: o.key });
    });
  program.command("yank <spec>").description("yank ID@VERSION on the central registry (signed by an owner's key)")
    .option("--undo", "unyank")
    .option("--key <name>", "owner's signing key in $GGEN_HOME/keys", "default")
    .action(async (spec: string, o, cmd: Command) =>
      await (await commands()).publish.yankCommand(await open(cmd), spec, o)
    );

  const registry = program.command("registry").description("run and administer a central registry");
  registry.command("serve").description("serve the registry API")
    .option("--config <file>", "server configuration (default: <data>/registry.toml when it exists)")
    .option("--host <host>", "address to bind (overrides the file; default 127.0.0.1)")
    .option(
      "--port <port>",
      `port, 0 for any (overrides the file; default ${DEFAULT_REGISTRY_PORT})`,
      (v) => parseIntArg(v, "--port"),
    )
    .option("--data <dir>", "data directory", "./ggen-registry")
    .action(async (o, cmd: Command) =>
      await onServer(cmd, (m, c) => m.serveCommand(c, { ...o, data: resolvePath(o.data) }))
    );
  registry.command("config").description("registry server configuration")
    .command("check [file]").description("validate a registry.toml and print what it sets")
    .option("--data <dir>", "data directory whose registry.toml is checked when no file is given", "./ggen-registry")
    .action(async (file: string | undefined, o, cmd: Command) =>
      await onServer(cmd, (m, c) => m.configCheckCommand(c, file, { ...o, data: resolvePath(o.data) }))
    );
  registry.command("migrate").description(
    "move an embedded registry (SQLite + files) into the storage a registry.toml names",
  )
    .requiredOption("--from <dir>", "the embedded registry's data directory")
    .requiredOption("--to <file>", "the registry.toml naming the target storage (PostgreSQL and/or S3)")
    .option("--data <dir>", "the new instance's data directory (the registry key is copied there; default: --from)")
    .action(async (o, cmd: Command) => await onServer(cmd, (m, c) => m.migrateCommand(c, o)));
  registry.command("import <paths...>").description(
    "load package directories, a marketplace directory or an index.json into a registry, signed by your key",
  )
    .requiredOption("--data <dir>", "the registry's data directory")
    .option("--config <file>", "registry.toml (its storage section is used)")
    .option("--key <name>", "signing key (created when it is the default and missing)")
    .action(async (paths: string[], o, cmd: Command) =>
      await onServer(cmd, (m, c) => m.registryImportCommand(c, paths, o))
    );
  registry.command("export <out>").description(
    "write index.json and the tarballs to a directory any web server can serve as a read-only central source",
  )
    .requiredOption("--data <dir>", "the registry's data directory")
    .option("--config <file>", "registry.toml (its storage section is used)")
    .action(async (out: string, o, cmd: Command) => await onServer(cmd, (m, c) => m.registryExportCommand(c, out, o)));
  const token = registry.command("token").description("manage publish tokens");
  token.command("create").description("create a token (printed once, stored hashed)")
    .requiredOption("--data <dir>", "the registry's data directory (the one `registry serve --data` uses)")
    .option("--config <file>", "the server configuration `registry serve` uses (its storage is used)")
    .option("--name <name>", "label")
    .option("--scopes <list>", "comma-separated: publish-new,publish-update,yank,owners")
    .option("--prefix <idPrefix>", "only ids with this prefix")
    .option("--expires-days <n>", "lifetime in days", (v) => parseIntArg(v, "--expires-days"))
    .action(async (o, cmd: Command) => await onServer(cmd, (m, c) => m.tokenCreateCommand(c, o)));
  token.command("revoke [tokenId]").description("revoke a token by its id, or --stdin with the secret on stdin")
    .requiredOption("--data <dir>", "the registry's data directory (the one `registry serve --data` uses)")
    .option("--config <file>", "the server configuration `registry serve` uses (its storage is used)")
    .option("--stdin", "read the token secret from standard input")
    .action(async (t: string | undefined, o, cmd: Command) =>
      await onServer(cmd, (m, c) => m.tokenRevokeCommand(c, t, o))
    );

  const config = program.command("config").description("show or change $GGEN_HOME/config.toml");
  config.command("show").description("print the resolved configuration").action(async (_o, cmd: Command) => {
    const c = await settings(cmd);
    const { token: _t, ...registrySafe } = c.config.registry;
    const shown = { ...c.config, registry: { ...registrySafe, token: c.config.registry.token ? "(set)" : "(unset)" } };
    c.out.result(shown, JSON.stringify(snakeKeys(shown), null, 2));
  });
  config.command("get <key>").description("print the value of one key in effect and where it comes from").action(
    async (key: string, _o, cmd: Command) => {
      const c = await settings(cmd);
      if (!CONFIG_KEYS.includes(key)) {
        throw new ConfigError(`Unknown config key "${key}": known keys are ${CONFIG_KEYS.join(", ")}`);
      }
      const { explainKey } = await import("./config_explain.ts");
      const explained = explainKey(c.config, await readConfigFile(c.config.configFile), key);
      const shown = explained.value === null ? "(unset)" : [explained.value].flat().join(",");
      c.out.result(explained, `${shown}    (${explained.origin})`);
    },
  );
  config.command("set <key> <value>").description("set one key, validated").action(
    async (key: string, value: string, _o, cmd: Command) => {
      const c = await open(cmd);
      await (await commands()).configWrite.setConfigValue(c.config.configFile, key, value);
      c.out.result({ key, value }, `Set ${key} in ${c.config.configFile}`);
    },
  );

  p2pCommands(program, open);
  trustCommands(program, open);
  program.command("login").description("save a publish token (read from stdin, hidden on a TTY) in config.toml, 0600")
    .action(async (_o, cmd: Command) =>
      await (await commands()).login.loginCommand(await open(cmd), {
        registry: (cmd.optsWithGlobals() as GlobalOptions).registry,
      })
    );
  program.command("logout").description("remove the saved publish token")
    .action(async (_o, cmd: Command) => await (await commands()).login.logoutCommand(await open(cmd)));
  const cache = program.command("cache").description("the local blob and metadata caches under $GGEN_HOME");
  cache.command("verify").description("re-hash every cached blob and evict the corrupt ones")
    .action(async (_o, cmd: Command) => await (await commands()).cacheCommands.cacheVerifyCommand(await open(cmd)));
  cache.command("clean").description(
    "remove every cached blob and metadata document (ggen install restores a project's)",
  )
    .action(async (_o, cmd: Command) => await (await commands()).cacheCommands.cacheCleanCommand(await open(cmd)));
  cache.command("dir").description("print the cache directory")
    .action(async (_o, cmd: Command) => (await commands()).cacheCommands.cacheDirCommand(await open(cmd)));
  program.command("demo").description("start a local registry with example packages and show search and install")
    .action(async (_o, cmd: Command) => await onServer(cmd, (m, c) => m.demoCommand(c)));

  addExamples(program);

  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === "commander.helpDisplayed" || err.code === "commander.version" || err.exitCode === 0) return 0;
      return 2;
    }
    throw err;
  } finally {
    await ctx?.close();
  }
}

function parseIntArg(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`Invalid ${flag} "${v}": must be a non-negative integer`);
  return n;
}
