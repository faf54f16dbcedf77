import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres } from './embedded-postgres';
import { blockedAt, postgresUserAccessProblem, type AccessProbe } from './postgres-user-access';

/** Someone who owns none of the files below and is in none of their groups, as the postgres user is for a root's clone. */
const stranger = { uid: 54321, gid: 54321 };

describe('what keeps the postgres user out', () => {
  const root = mkdtempSync(join(tmpdir(), 'assay-access-'));
  const privateDir = join(root, 'private'); // like /root: mode 0700
  const openDir = join(root, 'open');
  beforeAll(() => {
    chmodSync(root, 0o755);
    mkdirSync(join(privateDir, 'assay', 'bin'), { recursive: true });
    chmodSync(privateDir, 0o700);
    mkdirSync(join(openDir, 'bin'), { recursive: true, mode: 0o755 });
    mkdirSync(join(openDir, 'data'), { mode: 0o777 });
    chmodSync(join(openDir, 'data'), 0o777);
    for (const dir of [join(privateDir, 'assay', 'bin'), join(openDir, 'bin')]) writeFileSync(join(dir, 'postgres'), '', { mode: 0o755 });
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is the first folder on the path it may not enter', () => {
    expect(blockedAt(join(privateDir, 'assay', 'bin', 'postgres'), stranger, 'x')).toMatchObject({ path: privateDir, mode: 0o700 });
    expect(blockedAt(join(privateDir, 'assay', '.assay-data'), stranger, 'w')).toMatchObject({ path: privateDir, mode: 0o700 });
  });

  it('is the path itself when it lacks the permission, and nothing when all is open', () => {
    expect(blockedAt(join(openDir, 'bin', 'postgres'), stranger, 'x')).toBeUndefined();
    expect(blockedAt(join(openDir, 'data'), stranger, 'w')).toBeUndefined();
    expect(blockedAt(join(openDir, 'bin'), stranger, 'w')).toMatchObject({ path: join(openDir, 'bin'), mode: 0o755 });
  });

  it('the owner of the folders passes', () => {
    const owner = { uid: process.getuid!(), gid: process.getgid!() };
    expect(blockedAt(join(privateDir, 'assay', 'bin', 'postgres'), owner, 'x')).toBeUndefined();
  });

  // The probe (test -x / test -w run as the postgres user) needs root; here it answers from the modes.
  const modesProbe: AccessProbe = async (path, need, account) => blockedAt(path, account, need) === undefined;

  it('binaries in a private folder: POSTGRES_BINARIES_INACCESSIBLE, naming the folder and what to do', async () => {
    const binary = join(privateDir, 'assay', 'bin', 'postgres');
    const problem = await postgresUserAccessProblem([binary], join(openDir, 'data'), stranger, modesProbe);
    expect(problem).toMatchObject({ code: 'POSTGRES_BINARIES_INACCESSIBLE', details: { binaries: join(privateDir, 'assay', 'bin') } });
    expect(problem!.message).toContain(`cannot run the PostgreSQL binaries in ${join(privateDir, 'assay', 'bin')}: ${privateDir} (mode 0700, owner `);
    expect(problem!.message).toContain('clone Assay outside /root');
    expect(problem!.message).toContain('run npm start as a user other than root');
  });

  it('a data folder in a private folder: DATA_DIR_INACCESSIBLE, pointing at ASSAY_DATA_DIR', async () => {
    const dataDir = join(privateDir, 'assay', '.assay-data');
    const problem = await postgresUserAccessProblem([join(openDir, 'bin', 'postgres')], dataDir, stranger, modesProbe);
    expect(problem).toMatchObject({ code: 'DATA_DIR_INACCESSIBLE', details: { dataDir } });
    expect(problem!.message).toContain(`cannot write the data folder ${dataDir}: ${privateDir} (mode 0700`);
    expect(problem!.message).toContain('Set ASSAY_DATA_DIR to a folder the postgres user can write');
  });

  it('nothing to say when the postgres user can reach both', async () => {
    expect(await postgresUserAccessProblem([join(openDir, 'bin', 'postgres')], join(openDir, 'data'), stranger, modesProbe)).toBeUndefined();
  });

  it('a refusal the modes do not explain (ACLs, a read-only mount) still says what to check', async () => {
    const problem = await postgresUserAccessProblem([join(openDir, 'bin', 'postgres')], join(openDir, 'data'), stranger, async (_path, need) => need === 'x');
    expect(problem!.message).toContain('check its permissions and those of the folders above it');
  });

  // As root (PostgreSQL then runs as the postgres user): the old code failed in initdb with
  // "could not access directory … Permission denied".
  (process.getuid?.() === 0 ? it : it.skip)('as root, npm start on a data folder inside a 0700 folder fails with DATA_DIR_INACCESSIBLE', async () => {
    const dataDir = join(privateDir, 'data');
    await expect(startEmbeddedPostgres(dataDir, { info: () => undefined, error: () => undefined })).rejects.toMatchObject({
      code: 'DATA_DIR_INACCESSIBLE',
      message: expect.stringContaining(`cannot write the data folder ${dataDir}: ${privateDir} (mode 0700, owner root) keeps it out`),
    });
  }, 60_000);
});
