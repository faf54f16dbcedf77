import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueBusPrefix } from '@assay/testing';
import { storedEvents } from '../test-support/events';
import { MemoryLogger } from '../test-support/memory-logger';
import { delay, waitFor } from '../test-support/wait-for';
import { JetStreamBus } from './jetstream-bus';

/**
 * A nats-server of this test's own (the shared one must not be restarted), stopped and started
 * again under a running consumer: the client reconnects, the consumer logs and keeps consuming.
 */
const NATS_SERVER = process.env.NATS_SERVER_BIN ?? 'nats-server';
const haveServerBinary = spawnSync(NATS_SERVER, ['--version']).status === 0;
if (!haveServerBinary) process.stderr.write(`reconnect.spec: no ${NATS_SERVER} binary (set NATS_SERVER_BIN): skipped\n`);
const prefix = uniqueBusPrefix('reconnect');
const storeDir = mkdtempSync(join(tmpdir(), 'assay-bus-nats-'));
let port: number;
let server: ChildProcess | undefined;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address() as { port: number };
      probe.close(() => resolve(p));
    });
  });
}

const accepts = (p: number) =>
  new Promise<boolean>((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
    socket.connect(p, '127.0.0.1');
  });

async function startServer(): Promise<void> {
  server = spawn(NATS_SERVER, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', storeDir], { stdio: 'ignore' });
  await waitFor(() => accepts(port), `nats-server on ${port}`);
}

async function stopServer(): Promise<void> {
  const proc = server;
  server = undefined;
  if (!proc || proc.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}

beforeAll(async () => {
  if (!haveServerBinary) return;
  port = await freePort();
  await startServer();
});

afterAll(async () => {
  await stopServer();
  rmSync(storeDir, { recursive: true, force: true });
});

(haveServerBinary ? it : it.skip)('keeps consuming after the server restarts', async () => {
  const logger = new MemoryLogger();
  const bus = await JetStreamBus.connect({ url: `nats://127.0.0.1:${port}`, streamName: prefix.toUpperCase(), subjectPrefix: prefix, logger, pullExpiresMs: 2000 });
  try {
    const handled = new Set<string>();
    const handle = await bus.consume(
      { name: 'survivor', eventTypes: ['Survived'], maxInFlight: 5, maxBatch: 5, ackWaitMs: 5000, maxDeliver: 10, backoffMs: [100] },
      async (batch) => {
        for (const d of batch) {
          handled.add(d.event.eventId);
          d.ack();
        }
      },
    );
    const before = storedEvents('Survived', 10);
    await bus.publish(before);
    await waitFor(() => handled.size >= 10, 'the first ten');

    await stopServer();
    await delay(500);
    await startServer();

    const after = storedEvents('Survived', 10);
    // Until the client has reconnected a publish gets no PubAck; the relay would retry the same way.
    await waitFor(
      () => bus.publish(after).then(() => true, () => false),
      'a publish after the restart',
    );
    await waitFor(() => handled.size >= 20, () => `all twenty, got ${handled.size}`);
    await handle.stop();
    expect([...before, ...after].every((e) => handled.has(e.eventId))).toBe(true);
    expect(logger.lines.some((l) => l.message === 'NATS disconnect' || l.message === 'pull failed: pausing, then pulling again')).toBe(true);
  } finally {
    await bus.close();
  }
});
