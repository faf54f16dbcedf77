import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authHeaders, gql, rawGql, useApiKey } from '../support/graphql-client';
import { addRecordsInBatches, allRecords, createRunWithTwoMetrics, scoreAnomalies } from '../support/run-flow';
import { freePort } from '../support/service-stack';

const ROOT = join(__dirname, '..', '..');

/** `npm start` as a new user runs it: one process, embedded PostgreSQL, in-process bus. */
describe('embedded default (npm start)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'assay-embedded-'));
  let port: number;
  let assay: { child: ChildProcess; output: string[] } | undefined;

  const start = async () => {
    const child = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...process.env, ASSAY_DATA_DIR: dataDir, PORT: String(port), DATABASE_URL: '', NATS_URL: '', LOG_LEVEL: 'warn', ASSAY_INIT_API_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // its own process group, so stopping reaches node behind npm
    });
    const output: string[] = [];
    child.stdout!.on('data', (chunk) => output.push(chunk.toString()));
    child.stderr!.on('data', (chunk) => output.push(chunk.toString()));
    assay = { child, output };
    const deadline = Date.now() + 90_000;
    while (!output.join('').includes(`Assay is running at http://localhost:${port}/graphql`)) {
      if (child.exitCode !== null) throw new Error(`npm start exited with ${child.exitCode}\n${output.join('')}`);
      if (Date.now() > deadline) throw new Error(`npm start did not print its URL in time\n${output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  const stop = async () => {
    const child = assay?.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    await exited;
  };

  beforeAll(async () => {
    port = await freePort();
  });

  afterAll(async () => {
    await stop();
    rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  const KEY_LINE = /^Admin API key \(shown only this once; store it now\): (assay_[a-z0-9]{12}_[A-Za-z0-9]{40})$/m;

  it('prints its URL and a first admin key, scores a small run over HTTP, and keeps the data (and no new key) across a restart', async () => {
    await start();
    const httpUrl = `http://localhost:${port}/graphql`;
    // First start: the admin key is printed once, as a plain line, and every call needs it.
    const printed = KEY_LINE.exec(assay!.output.join(''));
    if (!printed) throw new Error(`npm start printed no admin key\n${assay!.output.join('')}`);
    const adminKey = printed[1];
    expect((await rawGql(httpUrl, '{ __typename }', {}, null)).errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    useApiKey(adminKey);
    const { run, metricIds } = await createRunWithTwoMetrics(httpUrl, 'embedded');
    await addRecordsInBatches(httpUrl, run.id, 30, 10);
    const deadline = Date.now() + 60_000;
    let status = '';
    while (status !== 'COMPLETED') {
      if (Date.now() > deadline) throw new Error(`run stayed ${status}\n${assay!.output.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await gql(httpUrl, 'query ($id: ID!) { run(id: $id) { status } }', { id: run.id })).run.status;
    }
    expect(scoreAnomalies(await allRecords(httpUrl, run.id), metricIds)).toEqual({ missing: [], doubled: [] });
    const csv = await fetch(`http://localhost:${port}/runs/${run.id}/export.csv`, { headers: authHeaders() });
    expect(csv.status).toBe(200);
    expect((await csv.text()).trim().split('\r\n')).toHaveLength(31); // header + 30 records: JSON text escapes the newlines in inputs

    await stop();
    await start();
    // Later starts print no key; the first one still works.
    expect(assay!.output.join('')).not.toMatch(/Admin API key/);
    const { run: again } = await gql(httpUrl, 'query ($id: ID!) { run(id: $id) { status numRecords numScores notes } }', { id: run.id });
    expect(again).toEqual({ status: 'COMPLETED', numRecords: 30, numScores: 60, notes: 'embedded' });
  }, 240_000);
});
