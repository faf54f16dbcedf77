import { MAX_REQUEST_BYTES } from '@assay/contracts';
import { RUN_UPDATED_TOPIC, type RunView } from '@assay/runs';
import type { Client } from 'graphql-ws';
import { RunUpdatesHub } from '../src';
import { boot, type Booted } from './boot';
import { collect, gql, sleep, waitFor, wsClient } from './helpers';

const SUBSCRIPTION = `subscription($runId: ID!) { runUpdated(runId: $runId) {
  id status notes numRecords numScores numFailures streamVersion revision createdAt updatedAt lastEventAt
  aggregates { metricId count passed } records(first: 1) { edges { node { id } } pageInfo { hasNextPage } } } }`;

describe('gateway runUpdated subscription over graphql-ws', () => {
  let g: Booted;
  const clients: Client[] = [];

  beforeEach(async () => {
    g = await boot();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.dispose()));
    await g.app.close();
  });

  function client(): Client {
    const c = wsClient(g.base);
    clients.push(c);
    return c;
  }

  async function newRun(): Promise<{ runId: string; metricId: string }> {
    const project = await g.runs.createProject({ name: 'p' });
    const metric = await g.runs.createMetric({ projectId: project.id, name: 'm', evalType: 'HEURISTIC', outputType: 'BOOLEAN', heuristic: { kind: 'EXACT_MATCH' } });
    const run = await g.runs.createRun({ projectId: project.id, metricIds: [metric.id] });
    return { runId: run.id, metricId: metric.id };
  }

  /** A view as the projector would broadcast it, with chosen counters. */
  async function viewWith(runId: string, counters: Partial<Pick<RunView, 'revision' | 'numScores' | 'numFailures'>>): Promise<RunView> {
    return { ...(await g.runs.getRun(runId))!, ...counters };
  }

  it('pushes the current snapshot first, then every change', async () => {
    const { runId, metricId } = await newRun();
    // Changes before subscribing: the snapshot must already show them.
    const [record] = await g.runs.addRecords(runId, [{ inputs: { q: 1 } }]);
    await g.runs.updateRunNotes(runId, 'changed before subscribing');

    const sub = collect(client(), SUBSCRIPTION, { runId });
    await waitFor(() => sub.messages.length === 1, 5_000, 'snapshot');
    const snapshot = sub.messages[0].data.runUpdated;
    expect(snapshot).toMatchObject({ id: runId, notes: 'changed before subscribing', numRecords: 1, status: 'SCORING', streamVersion: 3 });
    expect(snapshot.records).toEqual({ edges: [{ node: { id: record.id } }], pageInfo: { hasNextPage: false } });
    expect(typeof snapshot.lastEventAt).toBe('string');

    // A change after subscribing arrives through the bus (JSON: dates revived and re-serialised).
    const scored = g.runs.score(runId, record.id, { metricId, value: 1, passed: true, reasoning: 'ok', error: null });
    await waitFor(() => sub.messages.length === 2, 5_000, 'update');
    const update = sub.messages[1].data.runUpdated;
    expect(update).toMatchObject({ id: runId, status: 'COMPLETED', numScores: 1, streamVersion: 4, aggregates: [{ metricId, count: 1, passed: 1 }] });
    expect(update.lastEventAt).toBe(scored.lastEventAt.toISOString());
    expect(update.updatedAt).toBe(scored.updatedAt.toISOString());

    // Broadcasts for other runs are not delivered here.
    const other = await newRun();
    await g.runs.updateRunNotes(other.runId, 'elsewhere');
    await g.runs.updateRunNotes(runId, 'mine');
    await waitFor(() => sub.messages.length === 3, 5_000, 'own update');
    expect(sub.messages.map((m) => m.data.runUpdated.id)).toEqual([runId, runId, runId]);
    expect(sub.errors).toEqual([]);
  });

  it('coalesces updates while a push is pending and never sends an older view after a newer one', async () => {
    const { runId } = await newRun(); // streamVersion 1
    const sub = collect(client(), SUBSCRIPTION, { runId });
    await waitFor(() => sub.messages.length === 1, 5_000, 'snapshot');

    // Hold the next push inside its `aggregates` resolver.
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    let entered = false;
    g.runs.aggregatesGate = async () => {
      entered = true;
      await held;
    };
    const send = async (revision: number, numScores = 0) =>
      g.bus.broadcast(`${RUN_UPDATED_TOPIC}.${runId}`, await viewWith(runId, { revision, numScores }));

    await send(2);
    await waitFor(() => entered, 5_000, 'push of v2 to start');
    await send(3);
    await send(4);
    await send(5, 1);
    await send(3); // stale: older than v5 pending
    await send(4, 1); // stale
    release();
    await waitFor(() => sub.messages.length === 3, 5_000, 'v2 and v5');
    await send(4, 1); // older than what was sent
    await send(5, 1); // duplicate of what was sent
    await send(6, 0); // a re-score: the counts start again at zero, and the view is newer
    await waitFor(() => sub.messages.length === 4, 5_000, 'v6');
    await sleep(100);

    const seen = sub.messages.map((m) => [m.data.runUpdated.revision, m.data.runUpdated.numScores]);
    expect(seen).toEqual([
      [1, 0],
      [2, 0],
      [5, 1],
      [6, 0],
    ]);
    expect(sub.errors).toEqual([]);
  });

  it('an update that lands while the snapshot is read is not lost nor overtaken by the older snapshot', async () => {
    const { runId } = await newRun();
    const stale = await g.runs.getRun(runId); // streamVersion 1
    const newer = await viewWith(runId, { revision: 2, numScores: 0 });
    // The snapshot read returns the stale view, and the newer broadcast arrives during that read.
    const realGetRun = g.runs.getRun.bind(g.runs);
    g.runs.getRun = async (id) => {
      if (id !== runId) return realGetRun(id);
      g.bus.broadcast(`${RUN_UPDATED_TOPIC}.${runId}`, newer);
      return stale;
    };
    const sub = collect(client(), SUBSCRIPTION, { runId });
    await waitFor(() => sub.messages.length === 1, 5_000, 'first push');
    await sleep(100);
    expect(sub.messages.map((m) => m.data.runUpdated.revision)).toEqual([2]);
  });

  it('fans one bus subscription out to every client, and drops it on close', async () => {
    expect(g.bus.handlerCount()).toBe(1);
    const { runId } = await newRun();
    const a = collect(client(), SUBSCRIPTION, { runId });
    const b = collect(client(), SUBSCRIPTION, { runId });
    const c = collect(client(), SUBSCRIPTION, { runId });
    await waitFor(() => a.messages.length === 1 && b.messages.length === 1 && c.messages.length === 1, 5_000, 'snapshots');
    expect(g.bus.handlerCount()).toBe(1);

    const hub = g.app.get(RunUpdatesHub);
    expect(hub.size).toBe(3);
    c.unsubscribe();
    await waitFor(() => hub.size === 2, 5_000, 'the unsubscribed stream to be released');
    await g.runs.updateRunNotes(runId, 'for everyone');
    await waitFor(() => a.messages.length === 2 && b.messages.length === 2, 5_000, 'updates');
    expect(a.messages[1].data.runUpdated.notes).toBe('for everyone');
    expect(b.messages[1].data.runUpdated.notes).toBe('for everyone');
    await sleep(50);
    expect(c.messages).toHaveLength(1);

    await Promise.all(clients.splice(0).map((cl) => cl.dispose()));
    await waitFor(() => hub.size === 0, 5_000, 'streams of closed sockets to be released');
    await g.app.close();
    expect(g.bus.handlerCount()).toBe(0);
    g = await boot(); // afterEach closes it
  });

  it('reports RUN_NOT_FOUND when subscribing to an unknown run, and validation errors with Apollo codes', async () => {
    const sub = collect(client(), SUBSCRIPTION, { runId: 'run_missing' });
    await waitFor(() => sub.messages.length + sub.errors.length > 0 && (sub.completed || sub.errors.length > 0), 5_000, 'error');
    const errors = sub.messages[0]?.errors ?? sub.errors[0];
    expect(errors[0].extensions.code).toBe('RUN_NOT_FOUND');
    expect(errors[0].message).toContain('run_missing');

    const invalid = collect(client(), `subscription { runUpdated(runId: "x") { nope } }`, {});
    await waitFor(() => invalid.errors.length > 0, 5_000, 'validation error');
    expect((invalid.errors[0] as any)[0].extensions.code).toBe('GRAPHQL_VALIDATION_FAILED');

    const badJson = collect(client(), `mutation { addRecords(runId: "x", records: [{outputs: [1, FOO]}]) { id } }`, {});
    await waitFor(() => badJson.errors.length > 0, 5_000, 'JSON literal error');
    expect((badJson.errors[0] as any)[0]).toEqual({
      message: 'Argument "records" of addRecords got an invalid value at "records[0].outputs"; JSON value at $[1] is the bare word FOO: quote it to pass a string ("FOO").',
      locations: [{ line: 1, column: 59 }],
      extensions: { code: 'INVALID_JSON' },
    });
  });

  it('on shutdown, ends open subscriptions as errors (so clients resubscribe elsewhere), not as completed', async () => {
    const { runId } = await newRun();
    const sub = collect(client(), SUBSCRIPTION, { runId });
    await waitFor(() => sub.messages.length === 1, 5_000, 'snapshot');
    const started = Date.now();
    await g.app.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    await waitFor(() => sub.errors.length === 1, 5_000, 'the socket to close');
    expect(sub.completed).toBe(false);
    expect(g.bus.handlerCount()).toBe(0);
    g = await boot(); // afterEach closes it
  });

  it('applies the HTTP body limit to graphql-ws messages: a larger one closes the socket with 1009 and a PAYLOAD_TOO_LARGE reason', async () => {
    const { runId } = await newRun();
    const ADD = `mutation($runId: ID!, $blob: JSON) { addRecords(runId: $runId, records: [{inputs: $blob}]) { id } }`;
    const printed = jest.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      // Over HTTP this body gets 413 PAYLOAD_TOO_LARGE; over the socket the message is never read.
      const tooLarge = collect(client(), ADD, { runId, blob: 'x'.repeat(MAX_REQUEST_BYTES + 1) });
      await waitFor(() => tooLarge.errors.length > 0 || tooLarge.messages.length > 0, 10_000, 'the socket to close');
      expect(tooLarge.messages).toEqual([]);
      const closed = tooLarge.errors[0] as { code: number; reason: string };
      expect(closed.code).toBe(1009);
      expect(closed.reason).toMatch(/^PAYLOAD_TOO_LARGE: .*16 MB limit.*fewer records per call/);
      expect(g.runs.records.get(runId) ?? []).toHaveLength(0);
      expect(g.logger.lines.some((l) => l.msg === 'websocket message rejected' && (l.obj as any).code === 'PAYLOAD_TOO_LARGE')).toBe(true);
      // The client's error, not the server's: nothing printed as an internal error.
      expect(printed).not.toHaveBeenCalled();
    } finally {
      printed.mockRestore();
    }

    // A message below the limit goes through, on a new socket.
    const fits = collect(client(), ADD, { runId, blob: 'y'.repeat(2 * 1024 * 1024) });
    await waitFor(() => fits.completed || fits.errors.length > 0, 10_000, 'the mutation');
    expect(fits.errors).toEqual([]);
    expect(fits.messages[0].data.addRecords).toHaveLength(1);
  });

  it('still serves HTTP queries on the same path', async () => {
    const res = await gql(g.base, '{ __typename }');
    expect(res.body).toEqual({ data: { __typename: 'Query' } });
  });
});
