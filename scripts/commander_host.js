// @ts-check
/**
 * What commander reaches of Node.js, on Deno's own APIs, for the single file's parsed part.
 * commander imports node:process, node:fs and node:child_process at the top of its module, and
 * Deno's compatibility layer loads and compiles each at every start: about 20 ms of `ggen
 * --version` (bench:startup's per-built-in row). scripts/bundle.ts puts this function's source
 * in place of those three imports. ggen configures commander's output and exit (exitOverride),
 * so `process` serves only what commander still reads: its streams, terminal width and colours,
 * NO_COLOR / FORCE_COLOR, argv, platform. `fs` and `child_process` serve only executable
 * subcommands (`git`-style `ggen-foo` programs), which ggen does not define: they refuse.
 * Source runs (`deno run main.ts`) import commander unchanged.
 * @module
 */

/** The process, fs and child_process stand-ins commander's module uses */
export function commanderHost() {
  const encoder = new TextEncoder();
  /** @param {typeof Deno.stdout | typeof Deno.stderr} file */
  const stream = (file) => ({
    /** @param {string} text */
    write(text) {
      const bytes = encoder.encode(text);
      // writeSync may take part of the bytes (a full pipe): write the rest
      for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
      return true;
    },
    get isTTY() {
      return file.isTerminal();
    },
    get columns() {
      return file.isTerminal() ? Deno.consoleSize().columns : undefined;
    },
    hasColors: () => file.isTerminal() && !Deno.noColor,
  });
  /**
   * A variable this process may read; any other reads as unset, never as a permission prompt
   * (`--version` and `--help` run with no permission at all)
   * @param {string | symbol} name
   */
  const variable = (name) =>
    typeof name === "string" && Deno.permissions.querySync({ name: "env", variable: name }).state === "granted"
      ? Deno.env.get(name)
      : undefined;
  /** @type {Record<string, string | undefined>} */
  const env = new Proxy({}, { get: (_, name) => variable(name), has: (_, name) => variable(name) !== undefined });
  const refuse = () => {
    throw new Error("ggen defines no executable subcommands");
  };
  const process = {
    stdout: stream(Deno.stdout),
    stderr: stream(Deno.stderr),
    env,
    // Read only when commander is given no arguments to parse (ggen always gives them)
    get argv() {
      return [Deno.execPath(), Deno.mainModule, ...Deno.args];
    },
    execArgv: [],
    get execPath() {
      return Deno.execPath();
    },
    platform: Deno.build.os === "windows" ? "win32" : Deno.build.os,
    versions: {},
    exitCode: undefined,
    /** @param {number} [code] */
    exit: (code) => Deno.exit(code ?? 0),
    on: refuse,
  };
  return { process, fs: { existsSync: refuse, realpathSync: refuse }, childProcess: { spawn: refuse } };
}
