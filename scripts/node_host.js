// @ts-check
/**
 * What the single file's parsed part (commander and ggen's start-up code) takes from node:events,
 * node:path, node:url and node:util, on Deno's own APIs. Importing any node: module makes Deno load
 * its Node.js compatibility layer before the program runs: 11-14 ms of `ggen --version` and
 * `--help` (the same file with and without these four imports, interleaved runs). scripts/bundle.ts
 * puts this in place of those imports in the CLI's bundle and stops when the bundle imports
 * anything else of them; the commands part and the P2P worker keep the real modules (they need
 * the layer anyway), and so do source runs. Each function is Node's for POSIX paths
 * (tests/node_host_test.ts compares them with the real ones); on Windows the real modules serve.
 * @module
 */

/** POSIX path helpers, as Node's lib/path.js has them */
function posixPath() {
  const SLASH = 47;
  const DOT = 46;
  /**
   * `path` without "." and ".." segments and repeated slashes (Node's normalizeString)
   * @param {string} path
   * @param {boolean} allowAboveRoot
   */
  const normalizeString = (path, allowAboveRoot) => {
    let res = "";
    let lastSegmentLength = 0;
    let lastSlash = -1;
    let dots = 0;
    let code = 0;
    for (let i = 0; i <= path.length; ++i) {
      if (i < path.length) code = path.charCodeAt(i);
      else if (code === SLASH) break;
      else code = SLASH;
      if (code === SLASH) {
        if (lastSlash === i - 1 || dots === 1) {
          // an empty or "." segment
        } else if (dots === 2) {
          if (
            res.length < 2 || lastSegmentLength !== 2 || res.charCodeAt(res.length - 1) !== DOT ||
            res.charCodeAt(res.length - 2) !== DOT
          ) {
            if (res.length > 2) {
              const lastSlashIndex = res.lastIndexOf("/");
              if (lastSlashIndex === -1) {
                res = "";
                lastSegmentLength = 0;
              } else {
                res = res.slice(0, lastSlashIndex);
                lastSegmentLength = res.length - 1 - res.lastIndexOf("/");
              }
              lastSlash = i;
              dots = 0;
              continue;
            } else if (res.length !== 0) {
              res = "";
              lastSegmentLength = 0;
              lastSlash = i;
              dots = 0;
              continue;
            }
          }
          if (allowAboveRoot) {
            res += res.length > 0 ? "/.." : "..";
            lastSegmentLength = 2;
          }
        } else {
          if (res.length > 0) res += `/${path.slice(lastSlash + 1, i)}`;
          else res = path.slice(lastSlash + 1, i);
          lastSegmentLength = i - lastSlash - 1;
        }
        lastSlash = i;
        dots = 0;
      } else if (code === DOT && dots !== -1) {
        ++dots;
      } else {
        dots = -1;
      }
    }
    return res;
  };
  /** @param {string} path */
  const normalize = (path) => {
    if (path.length === 0) return ".";
    const isAbsolute = path.charCodeAt(0) === SLASH;
    const trailingSeparator = path.charCodeAt(path.length - 1) === SLASH;
    let normalized = normalizeString(path, !isAbsolute);
    if (normalized.length === 0) return isAbsolute ? "/" : trailingSeparator ? "./" : ".";
    if (trailingSeparator) normalized += "/";
    return isAbsolute ? `/${normalized}` : normalized;
  };
  /** @param {string[]} paths */
  const join = (...paths) => {
    const joined = paths.filter((p) => p.length > 0).join("/");
    return joined.length === 0 ? "." : normalize(joined);
  };
  /** @param {string[]} paths */
  const resolve = (...paths) => {
    let resolved = "";
    let absolute = false;
    for (let i = paths.length - 1; i >= -1 && !absolute; i--) {
      const path = i >= 0 ? paths[i] ?? "" : Deno.cwd();
      if (path.length === 0) continue;
      resolved = `${path}/${resolved}`;
      absolute = path.charCodeAt(0) === SLASH;
    }
    resolved = normalizeString(resolved, !absolute);
    if (absolute) return `/${resolved}`;
    return resolved.length > 0 ? resolved : ".";
  };
  // commander calls these only for executable subcommands and a name taken from a script file,
  // which ggen has neither of
  const refuse = () => {
    throw new Error("ggen's single file has no executable subcommands");
  };
  return { sep: "/", delimiter: ":", normalize, join, resolve, dirname: refuse, basename: refuse, extname: refuse };
}

/** Listeners by event name, as much of Node's EventEmitter as commander's Command uses */
class EventEmitter {
  /** @type {Map<string | symbol, Function[]>} */
  #listeners = new Map();
  /**
   * @param {string | symbol} name
   * @param {Function} listener
   */
  on(name, listener) {
    const listeners = this.#listeners.get(name);
    if (listeners) listeners.push(listener);
    else this.#listeners.set(name, [listener]);
    return this;
  }
  /**
   * @param {string | symbol} name
   * @param {unknown[]} args
   */
  emit(name, ...args) {
    const listeners = this.#listeners.get(name);
    if (!listeners?.length) {
      if (name === "error") throw args[0] instanceof Error ? args[0] : new Error(`Unhandled error: ${String(args[0])}`);
      return false;
    }
    for (const listener of [...listeners]) listener.apply(this, args);
    return true;
  }
  /** @param {string | symbol} name */
  listenerCount(name) {
    return this.#listeners.get(name)?.length ?? 0;
  }
}

/**
 * What the CLI's bundle imports of node:events, node:path, node:url and node:util, by module
 * @returns {Promise<{ events: any, path: any, url: any, util: any }>}
 */
export async function nodeHost() {
  if (Deno.build.os === "windows") {
    const [events, path, url, util] = await Promise.all([
      import("node:events"),
      import("node:path"),
      import("node:url"),
      import("node:util"),
    ]);
    return { events, path: path.default, url, util };
  }
  const path = posixPath();
  /** @param {string | URL} input */
  const fileURLToPath = (input) => {
    const url = typeof input === "string" ? new URL(input) : input;
    if (url.protocol !== "file:") throw new TypeError("The URL must be of scheme file");
    if (url.hostname !== "") throw new TypeError(`File URL host must be "localhost" or empty on ${Deno.build.os}`);
    if (/%2f/i.test(url.pathname)) throw new TypeError("File URL path must not include encoded / characters");
    return decodeURIComponent(url.pathname);
  };
  /** @param {string} filepath */
  const pathToFileURL = (filepath) => {
    let resolved = path.resolve(filepath);
    // resolve drops a trailing slash: a directory's URL keeps it
    if (filepath.endsWith("/") && !resolved.endsWith("/")) resolved += "/";
    // What the URL parser would read as something else: "%" first, so no escape is escaped again
    const escaped = resolved.replace(/%/g, "%25").replace(/\\/g, "%5C").replace(/\n/g, "%0A").replace(/\r/g, "%0D")
      .replace(/\t/g, "%09").replace(/\?/g, "%3F").replace(/#/g, "%23");
    return new URL(`file://${escaped}`);
  };
  // Node's pattern of ANSI escape sequences (lib/internal/util/inspect.js)
  const ansi = new RegExp(
    "[\\u001B\\u009B][[\\]()#;?]*" +
      "(?:(?:(?:(?:;[-a-zA-Z\\d\\/\\#&.:=?%@~_]+)*" +
      "|[a-zA-Z\\d]+(?:;[-a-zA-Z\\d\\/\\#&.:=?%@~_]*)*)?" +
      "(?:\\u0007|\\u001B\\u005C|\\u009C))" +
      "|(?:(?:\\d{1,4}(?:;\\d{0,4})*)?[\\dA-PR-TZcf-ntqry=><~]))",
    "g",
  );
  /** @param {string} text */
  const stripVTControlCharacters = (text) => text.replace(ansi, "");
  return { events: { EventEmitter }, path, url: { fileURLToPath, pathToFileURL }, util: { stripVTControlCharacters } };
}
