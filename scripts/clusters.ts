/**
 * Throwaway PostgreSQL servers for tests, the demo and the benchmark: `initdb` into a temporary
 * directory, started on a free loopback port (as the `postgres` OS user when running as root,
 * which PostgreSQL requires), stopped and removed afterwards.
 *
 * @example
 * ```ts
 * import { startCluster } from "./clusters.ts";
 * const server = await startCluster("source");
 * console.log(server.url("postgres"));
 * await server.stop();
 * ```
 * @module
 */

import { dirname, join } from "node:path";
import { findTool } from "../lib/pg_tools.ts";

/** The superuser password of every throwaway server (they listen on 127.0.0.1 only). */
export const PASSWORD = "xmat-test-pw";

/** A running throwaway server. */
export interface Cluster {
  name: string;
  port: number;
  dir: string;
  dataDir: string;
  /** The directory of `initdb`, `pg_ctl`, `pg_dump`, … */
  bin: string;
  /** A URL for a database (default `postgres`) as a user (default the superuser). */
  url(database?: string, user?: string, password?: string): string;
  /** Runs `pg_ctl` with these arguments against this server. */
  pgCtl(args: string[]): Promise<void>;
  /** Stops the server and removes its directory. */
  stop(): Promise<void>;
}

function isRoot(): boolean {
  return Deno.uid?.() === 0;
}

async function run(cmd: string, args: string[], asPostgres: boolean): Promise<string> {
  const [program, list] = asPostgres
    ? ["runuser", ["-u", "postgres", "--", cmd, ...args]]
    : [cmd, args];
  const out = await new Deno.Command(program, {
    args: list,
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed:\n${text}`);
  return text;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Options of a throwaway server. */
export interface ClusterOptions {
  /** Extra `postgresql.conf` settings. */
  settings?: Record<string, string | number>;
  /** Durability off (fsync, full_page_writes) for speed; on for benchmarks that compare fairly. */
  fast?: boolean;
}

/** Starts a throwaway server. */
export async function startCluster(name: string, options: ClusterOptions = {}): Promise<Cluster> {
  // The real directory (initdb may be a link on PATH): the other server tools are beside it.
  const bin = dirname(await Deno.realPath((await findTool("initdb")).path));
  const asPostgres = isRoot();
  const dir = await Deno.makeTempDir({ prefix: `pgxmat-${name}-` });
  const dataDir = join(dir, "data");
  if (asPostgres) await run("chown", ["postgres:", dir], false);
  const pwfile = join(dir, "pwfile");
  await Deno.writeTextFile(pwfile, `${PASSWORD}\n`);
  if (asPostgres) await run("chown", ["postgres:", pwfile], false);
  await run(join(bin, "initdb"), [
    "-D",
    dataDir,
    "-U",
    "postgres",
    `--pwfile=${pwfile}`,
    "--auth-local=trust",
    "--auth-host=scram-sha-256",
    "--encoding=UTF8",
    "--locale=C",
    "--no-sync",
  ], asPostgres);
  const settings: Record<string, string | number> = {
    listen_addresses: "'127.0.0.1'",
    unix_socket_directories: `'${dir}'`,
    max_connections: 100,
    ...(options.fast !== false
      ? { fsync: "off", full_page_writes: "off", synchronous_commit: "off" }
      : {}),
    ...options.settings,
  };
  await Deno.writeTextFile(
    join(dataDir, "postgresql.auto.conf"),
    Object.entries(settings).map(([k, v]) => `${k} = ${v}\n`).join(""),
    { append: true },
  );
  return await launch(name, bin, dir, dataDir, asPostgres);
}

/**
 * Starts a hot standby of `primary`: a base backup of it, streaming from it, in a temporary
 * directory of its own.
 */
export async function startStandby(primary: Cluster, name: string): Promise<Cluster> {
  const asPostgres = isRoot();
  const dir = await Deno.makeTempDir({ prefix: `pgxmat-${name}-` });
  if (asPostgres) await run("chown", ["postgres:", dir], false);
  const dataDir = join(dir, "data");
  // Over the primary's socket, where the superuser is trusted.
  await run(join(primary.bin, "pg_basebackup"), [
    `--pgdata=${dataDir}`,
    `--host=${primary.dir}`,
    `--port=${primary.port}`,
    "--username=postgres",
    "--write-recovery-conf",
    "--wal-method=stream",
    "--checkpoint=fast",
    "--no-sync",
  ], asPostgres);
  await Deno.writeTextFile(
    join(dataDir, "postgresql.auto.conf"),
    `unix_socket_directories = '${dir}'\n`,
    { append: true },
  );
  return await launch(name, primary.bin, dir, dataDir, asPostgres);
}

/** Starts the server of a data directory on a free port. */
async function launch(
  name: string,
  bin: string,
  dir: string,
  dataDir: string,
  asPostgres: boolean,
): Promise<Cluster> {
  const pgCtl = (args: string[]) =>
    run(join(bin, "pg_ctl"), ["-D", dataDir, "-l", join(dir, "server.log"), ...args], asPostgres)
      .then(() => {});
  let port = 0;
  for (let attempt = 0; attempt < 5; attempt++) {
    port = freePort();
    try {
      await pgCtl(["-w", "-t", "60", "-o", `-p ${port}`, "start"]);
      break;
    } catch (error) {
      if (attempt === 4) throw error;
    }
  }
  return {
    name,
    port,
    dir,
    dataDir,
    bin,
    url: (database = "postgres", user = "postgres", password = PASSWORD) =>
      `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${
        encodeURIComponent(database)
      }`,
    pgCtl,
    stop: async () => {
      await pgCtl(["-m", "immediate", "-w", "stop"]).catch(() => {});
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** How tests find the servers `scripts/test.ts` started (passed in one environment variable). */
export interface TestServers {
  source: { url: string; port: number; dataDir: string; dir: string };
  target: { url: string; port: number; dataDir: string; dir: string };
  bin: string;
}

/** The environment variable that carries `TestServers` to the test processes. */
export const SERVERS_ENV = "PGXMAT_TEST_SERVERS";

/** Describes two clusters for `SERVERS_ENV`. */
export function describeServers(source: Cluster, target: Cluster): TestServers {
  const side = (c: Cluster) => ({ url: c.url(), port: c.port, dataDir: c.dataDir, dir: c.dir });
  return { source: side(source), target: side(target), bin: source.bin };
}
