import { spawn } from 'node:child_process';
import { statSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { StartupError } from '@assay/runtime';

/**
 * The account PostgreSQL runs as when Assay runs as root: the postgres user's uid and primary gid
 * only (Node's spawn with uid/gid drops supplementary groups, so those grant nothing here).
 */
export interface Account {
  readonly uid: number;
  readonly gid: number;
}

/** Can `account` execute (`x`) or write (`w`) `path`? Asked of the system, as that account. */
export type AccessProbe = (path: string, need: 'x' | 'w', account: Account) => Promise<boolean>;

/** `test -x` / `test -w` run as the account; detached, so a Ctrl-C during start-up cannot kill it and make it read as "no access". */
export const probeAs: AccessProbe = (path, need, account) =>
  new Promise((resolve, reject) => {
    const test = spawn('test', [`-${need}`, path], { uid: account.uid, gid: account.gid, cwd: '/', stdio: 'ignore', detached: true });
    test.once('error', reject);
    test.once('exit', (code) => resolve(code === 0));
  });

/** A folder (or the file itself) whose mode keeps the account out. */
export interface Blocker {
  readonly path: string;
  readonly mode: number;
  readonly uid: number;
}

/**
 * Where the modes along `path` stop `account` from executing it (`x`) or writing it (`w`): the
 * first folder above it it may not enter, else `path` itself when it lacks the permission. Reads
 * mode bits only (no ACLs), to explain a refusal the probe found.
 */
export function blockedAt(path: string, account: Account, need: 'x' | 'w', stat: (path: string) => Stats = statSync): Blocker | undefined {
  const target = resolve(path);
  const ancestors: string[] = [];
  for (let dir = dirname(target); ; dir = dirname(dir)) {
    ancestors.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  for (const dir of ancestors) {
    const s = stat(dir);
    if (!allows(s, account, 0o1)) return { path: dir, mode: s.mode & 0o7777, uid: s.uid };
  }
  const s = stat(target);
  const bits = need === 'w' ? (s.isDirectory() ? 0o3 : 0o2) : 0o1; // writing a folder takes entering it too
  return allows(s, account, bits) ? undefined : { path: target, mode: s.mode & 0o7777, uid: s.uid };
}

/** Whether `stats`' permission bits (`bits` of rwx as 4/2/1) are granted to `account`. */
function allows(stats: Stats, account: Account, bits: number): boolean {
  if (account.uid === 0) return true;
  const shift = stats.uid === account.uid ? 6 : stats.gid === account.gid ? 3 : 0;
  return ((stats.mode >> shift) & bits) === bits;
}

/**
 * As root, PostgreSQL runs as the postgres user: it must run the bundled binaries and write the
 * data folder. Says what to do when it cannot (Assay cloned under /root, say, which is mode 0700),
 * instead of initdb's "spawn EACCES" or "could not access directory".
 */
export async function postgresUserAccessProblem(
  binaries: readonly string[],
  dataDir: string,
  account: Account,
  probe: AccessProbe = probeAs,
  stat: (path: string) => Stats = statSync,
): Promise<StartupError | undefined> {
  const preamble = 'Assay runs as root, so its embedded PostgreSQL runs as the user postgres, which';
  const elsewhere = 'clone Assay outside /root (or any other folder other users cannot enter)';
  for (const binary of binaries) {
    if (await probe(binary, 'x', account)) continue;
    const folder = dirname(binary);
    return new StartupError(
      'POSTGRES_BINARIES_INACCESSIBLE',
      `${preamble} cannot run the PostgreSQL binaries in ${folder}${because(blockedAt(binary, account, 'x', stat))}. ` +
        `The binaries live in Assay's node_modules: ${elsewhere}, or run npm start as a user other than root.`,
      { binaries: folder },
    );
  }
  if (!(await probe(dataDir, 'w', account)) || !(await probe(dataDir, 'x', account))) {
    return new StartupError(
      'DATA_DIR_INACCESSIBLE',
      `${preamble} cannot write the data folder ${dataDir}${because(blockedAt(dataDir, account, 'w', stat))}. ` +
        `Set ASSAY_DATA_DIR to a folder the postgres user can write (e.g. /var/lib/assay), ${elsewhere}, or run npm start as a user other than root.`,
      { dataDir },
    );
  }
  return undefined;
}

function because(blocker: Blocker | undefined): string {
  if (!blocker) return ' (check its permissions and those of the folders above it: ACLs, a read-only mount)';
  const owner = blocker.uid === 0 ? 'root' : `uid ${blocker.uid}`;
  return `: ${blocker.path} (mode ${blocker.mode.toString(8).padStart(4, '0')}, owner ${owner}) keeps it out`;
}
