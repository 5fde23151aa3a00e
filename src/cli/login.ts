/**
 * `ggen login` / `ggen logout`: keep a publish token in `$GGEN_HOME/config.toml` (written 0600),
 * read from standard input (hidden on a TTY), never from the command line where `ps` and the
 * shell history would show it. `GGEN_TOKEN` still overrides it.
 * @module
 */
import { isWellFormedToken, readAllLimited } from "../core/mod.ts";
import { removeConfigValue, setConfigValue } from "./config_write.ts";
import type { Context } from "./context.ts";
import { UsageError } from "./usage.ts";

/** Read one line from a TTY without echoing it */
async function readHidden(prompt: string): Promise<string> {
  await Deno.stderr.write(new TextEncoder().encode(prompt));
  Deno.stdin.setRaw(true);
  const bytes: number[] = [];
  const buf = new Uint8Array(1);
  try {
    while (bytes.length < 4096) {
      const n = await Deno.stdin.read(buf);
      if (n === null || buf[0] === 13 || buf[0] === 10) break;
      if (buf[0] === 3) throw new DOMException("Interrupted", "AbortError"); // Ctrl-C
      if (buf[0] === 127) bytes.pop();
      else bytes.push(buf[0]!);
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stderr.write(new TextEncoder().encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes)).trim();
}

/** `ggen login [--registry URL]`: with --registry, that URL is saved as the central registry too */
export async function loginCommand(ctx: Context, opts: { registry?: string | undefined }): Promise<void> {
  const token = Deno.stdin.isTerminal()
    ? await readHidden("Paste the token printed by `ggen registry token create` (input hidden): ")
    : new TextDecoder().decode(
      await readAllLimited(Deno.stdin.readable, {
        limit: 4096,
        tooLarge: () => new UsageError("ggen login reads one token on stdin: got more than 4096 bytes"),
      }),
    ).trim();
  if (!isWellFormedToken(token)) {
    throw new UsageError(
      "That is not a ggen token (ggen_ + 32 characters + a 6-hex checksum): copy the whole token printed by " +
        "`ggen registry token create`, e.g. ggen login < token.txt",
    );
  }
  const file = ctx.config.configFile;
  if (opts.registry) await setConfigValue(file, "registry.central_url", opts.registry);
  await setConfigValue(file, "registry.token", token);
  ctx.out.result(
    { saved: file, registry: opts.registry ?? ctx.config.registry.centralUrl },
    `Token saved in ${file} (mode 0600) for ${opts.registry ?? ctx.config.registry.centralUrl}`,
  );
}

/** `ggen logout`: forget the saved token */
export async function logoutCommand(ctx: Context): Promise<void> {
  const file = ctx.config.configFile;
  const removed = await removeConfigValue(file, "registry.token");
  ctx.out.result(
    { removed, file },
    removed ? `Token removed from ${file}` : `No token saved in ${file}`,
  );
}
