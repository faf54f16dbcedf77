import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { postmasterHolding, startEmbeddedPostgres, type EmbeddedDatabase } from './embedded-postgres';

const quiet = { info: () => undefined, error: () => undefined };

describe('embedded PostgreSQL on a data folder', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'assay-embedded-pg-'));
  const started: EmbeddedDatabase[] = [];
  const start = async () => {
    const db = await startEmbeddedPostgres(dataDir, quiet);
    started.push(db);
    return db;
  };

  afterAll(async () => {
    for (const db of started) await db.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('initialises the folder, answers queries, and stops', async () => {
    const db = await start();
    const client = new Client({ connectionString: db.url });
    await client.connect();
    expect((await client.query('select current_database() as name')).rows).toEqual([{ name: 'assay' }]);
    await client.end();
    await db.stop();
    expect(postmasterHolding(join(dataDir, 'postgres'))).toBeUndefined();
  }, 60_000);

  it('refuses a second start on the folder with DATA_DIR_IN_USE naming the pid that holds it (before: "error":"undefined")', async () => {
    const first = await start();
    const second = startEmbeddedPostgres(dataDir, quiet);
    await expect(second).rejects.toMatchObject({
      code: 'DATA_DIR_IN_USE',
      message: `data folder ${dataDir} is in use by pid ${first.pid} (another Assay, or a PostgreSQL left from one that was killed): stop it or set ASSAY_DATA_DIR to another folder`,
    });
    await first.stop();
    // Free again once the first has stopped.
    const third = await start();
    await third.stop();
  }, 60_000);

  /** An Assay of its own (a node process) starting the folder's PostgreSQL: what it printed, and the process. */
  async function startInAnotherProcess(): Promise<{ result: { pid?: number; code?: string }; child: ChildProcess }> {
    const script = `
      const { startEmbeddedPostgres } = require(${JSON.stringify(join(__dirname, 'embedded-postgres.ts'))});
      startEmbeddedPostgres(${JSON.stringify(dataDir)}, { info() {}, error() {} }).then(
        (db) => console.log(JSON.stringify({ pid: db.pid })),
        (error) => console.log(JSON.stringify({ code: error.code })));`;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: join(__dirname, '..', '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const deadline = Date.now() + 30_000;
    while (!output.includes('\n') && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    return { result: JSON.parse(output), child };
  }
  const killed = async (child: ChildProcess) => {
    if (child.exitCode !== null || child.signalCode !== null) return; // it ended by itself
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  };

  it('after its Assay was killed (kill -9, the OOM killer), stops the PostgreSQL left running and starts (before: DATA_DIR_IN_USE until killed by hand)', async () => {
    const { result, child } = await startInAnotherProcess();
    const leftover = result.pid!;
    await killed(child);
    expect(postmasterHolding(join(dataDir, 'postgres'))).toBe(leftover);

    const db = await start();
    expect(db.pid).not.toBe(leftover);
    expect(() => process.kill(leftover, 0)).toThrow();
    await db.stop();
  }, 60_000);

  it('a start refused because another Assay runs leaves that Assay the owner: a later start does not take its PostgreSQL for a leftover', async () => {
    const first = await startInAnotherProcess();
    try {
      const refused = await startInAnotherProcess();
      expect(refused.result).toEqual({ code: 'DATA_DIR_IN_USE' });
      await killed(refused.child);
      await expect(startEmbeddedPostgres(dataDir, quiet)).rejects.toMatchObject({ code: 'DATA_DIR_IN_USE' });
      expect(() => process.kill(first.result.pid!, 0)).not.toThrow();
    } finally {
      process.kill(first.result.pid!, 'SIGINT'); // its PostgreSQL, then its process
      await killed(first.child);
      while (postmasterHolding(join(dataDir, 'postgres')) !== undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }, 90_000);

  it("fails with PostgreSQL's last log lines when it stops for another reason", async () => {
    const conf = join(dataDir, 'postgres', 'postgresql.conf');
    const original = readFileSync(conf, 'utf8');
    appendFileSync(conf, "\nshared_buffers = 'lots'\n");
    try {
      const failure = await startEmbeddedPostgres(dataDir, quiet).then(
        () => undefined,
        (error) => error,
      );
      expect(failure).toMatchObject({ code: 'EMBEDDED_POSTGRES_FAILED', message: expect.stringContaining('invalid value for parameter "shared_buffers": "lots"') });
      expect(failure.details.postgresLog.join('\n')).toContain('shared_buffers');
    } finally {
      writeFileSync(conf, original);
    }
  }, 60_000);

  it('names ASSAY_PG_PORT when the port it was given is taken', async () => {
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    const port = (holder.address() as { port: number }).port;
    try {
      await expect(startEmbeddedPostgres(dataDir, quiet, { port })).rejects.toMatchObject({
        code: 'PORT_IN_USE',
        message: `port ${port} is in use: stop what holds it or set ASSAY_PG_PORT to another port`,
      });
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  }, 60_000);

  it("is out of reach of the terminal's Ctrl-C: SIGINT to the process group leaves PostgreSQL running until Assay stops it", async () => {
    // A process of its own group, as `npm start` is in a terminal, that stops PostgreSQL a second after SIGINT.
    const script = `
      const { startEmbeddedPostgres } = require(${JSON.stringify(join(__dirname, 'embedded-postgres.ts'))});
      startEmbeddedPostgres(${JSON.stringify(dataDir)}, { info() {}, error() {} }).then((db) => {
        process.on('SIGINT', async () => {
          await new Promise((resolve) => setTimeout(resolve, 1000));
          let alive = true;
          try { process.kill(db.pid, 0); } catch { alive = false; }
          console.log(JSON.stringify({ aliveAfterSigint: alive }));
          await db.stop();
          process.exit(0);
        });
        console.log(JSON.stringify({ pid: db.pid }));
      }, (error) => { console.log(JSON.stringify({ error: String(error) })); process.exit(1); });`;
    const child = spawn(process.execPath, ['-r', '@swc-node/register', '-e', script], { cwd: join(__dirname, '..', '..', '..'), detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: Record<string, unknown>[] = [];
    child.stdout!.on('data', (chunk: Buffer) => lines.push(...chunk.toString().trim().split('\n').map((line) => JSON.parse(line))));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 30_000;
    while (!lines.some((line) => 'pid' in line || 'error' in line) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    const pid = lines.find((line) => 'pid' in line)?.pid as number;
    expect(lines).toEqual([{ pid: expect.any(Number) }]);

    process.kill(-child.pid!, 'SIGINT'); // what Ctrl-C does: SIGINT to every process of the foreground group
    await exited;
    expect(lines[1]).toEqual({ aliveAfterSigint: true });
    expect(() => process.kill(pid, 0)).toThrow(); // and stopped by db.stop()
    expect(postmasterHolding(join(dataDir, 'postgres'))).toBeUndefined();
  }, 60_000);
});
