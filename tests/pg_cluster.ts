/**
 * A throwaway PostgreSQL cluster for tests: initdb in a temp directory, a server on a free
 * 127.0.0.1 port (fsync off: nothing here must survive), stopped and removed afterwards. As root
 * the server runs as the `postgres` user, as PostgreSQL requires. Undefined, with the install
 * command, when PostgreSQL is not installed.
 * @module
 */
import { join } from "node:path";

/** A running cluster */
export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:PORT/postgres` */
  url: string;
  stop(): Promise<void>;
}

/** The install command printed when PostgreSQL is missing */
export const PG_INSTALL = "apt-get install -y --no-install-recommends postgresql";

function pgBin(): string | undefined {
  try {
    const versions = [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).sort((a, b) =>
      Number(b) - Number(a)
    );
    for (const v of versions) {
      const bin = join("/usr/lib/postgresql", v, "bin");
      try {
        Deno.statSync(join(bin, "initdb"));
        return bin;
      } catch { /* not this one */ }
    }
  } catch { /* not installed */ }
  return undefined;
}

async function run(cmd: string[], asPostgres: boolean): Promise<void> {
  const [program, ...args] = asPostgres ? ["runuser", "-u", "postgres", "--", ...cmd] : cmd;
  const out = await new Deno.Command(program!, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(
      `${cmd.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}${new TextDecoder().decode(out.stdout)}`,
    );
  }
}

/** Start a cluster, or undefined (with the reason on stderr) when PostgreSQL is missing */
export async function startPgCluster(): Promise<PgCluster | undefined> {
  const bin = pgBin();
  if (!bin) {
    console.error(`  PostgreSQL is not installed: skipped (install it with: ${PG_INSTALL})`);
    return undefined;
  }
  const root = Deno.uid() === 0;
  const dir = await Deno.makeTempDir({ prefix: "ggen-pg-" });
  if (root) await run(["chown", "postgres:postgres", dir], false);
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  const data = join(dir, "data");
  await run(
    [join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "-N"],
    root,
  );
  await run([
    join(bin, "pg_ctl"),
    "-D",
    data,
    "-l",
    join(dir, "server.log"),
    "-w",
    "-t",
    "30",
    "-o",
    `-p ${port} -c listen_addresses=127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    "start",
  ], root);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    async stop() {
      await run([join(bin, "pg_ctl"), "-D", data, "-m", "immediate", "-w", "stop"], root).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}
