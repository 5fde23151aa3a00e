/**
 * Which files of a package directory get packed: gitignore-syntax rules (the `ignore` library)
 * from built-in defaults (VCS data, installs, dependencies, build output, secrets and keys, a
 * registry's data) and the package's own `.ggenignore` (whose `!` lines can bring a default
 * back); an `include` list in the manifest, when present, keeps only what it names. Files that
 * look like secrets and are still packed are reported, so `pack --list` and `publish --dry-run`
 * can warn before anything leaves the machine.
 * @module
 */
import { join } from "node:path";
import { PROJECT_DIR } from "../core/mod.ts";

/** The name of a package's own ignore file */
export const IGNORE_FILE = ".ggenignore";

/** Never packed unless a `.ggenignore` line brings them back */
export const DEFAULT_IGNORES: readonly string[] = [
  ".git/",
  ".hg/",
  ".svn/",
  `${PROJECT_DIR}/`,
  "node_modules/",
  "target/",
  "dist/",
  ".DS_Store",
  "ggen.lock",
  "*.tar.gz",
  ".env",
  ".env.*",
  "*.pem",
  "*.key",
  "*.p12",
  "id_rsa*",
  "id_ed25519*",
  ".npmrc",
  ".netrc",
  "registry.db*",
  "registry.pub",
  "blobs/",
  "p2p.db*",
  "identity.key",
  "trust.toml",
];

/** Names that look like secrets: packed only on purpose, and then with a warning */
const SECRET_LOOKING = [
  ".env*",
  "*.pem",
  "*.key",
  "*.p12",
  "id_rsa*",
  "id_ed25519*",
  "*secret*",
  "*.token",
  ".npmrc",
  ".netrc",
];

/** The decision for one path, relative to the package root with "/" separators */
export interface FileSelector {
  /** False when the path (a directory when it ends with "/") is not packed */
  packs(path: string): boolean;
  /** True when a packed file looks like a secret */
  looksSecret(path: string): boolean;
}

/** The selector of a package directory: defaults, its `.ggenignore`, the manifest's `include` */
export async function fileSelector(dir: string, include: string[] = []): Promise<FileSelector> {
  // Loaded here, not at the start: the library reads `process` when loaded, which makes Deno load
  // its Node.js layer, and only `pack` and `publish` select files
  const { default: ignore } = await import("ignore");
  const rules = ignore().add([...DEFAULT_IGNORES]);
  const secretLooking = ignore().add(SECRET_LOOKING);
  try {
    rules.add(await Deno.readTextFile(join(dir, IGNORE_FILE)));
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  const included = include.length ? ignore().add(include) : undefined;
  return {
    packs(path) {
      if (rules.ignores(path)) return false;
      // Directories are walked; the include list decides for files (and the manifest always goes)
      if (!included || path.endsWith("/") || path === "ggen.toml") return true;
      return included.ignores(path);
    },
    looksSecret: (path) => secretLooking.ignores(path),
  };
}
