import { AssayError, MAX_JSON_DEPTH } from '@assay/contracts';
import type { RunView } from '@assay/runs';
import { GraphQLError, parseValue } from 'graphql';
import { classifyError, formatClientError } from '../src/errors';
import { isNewer, reviveRunView, RunUpdatesHub, RunUpdateStream } from '../src/run-updates';
import { DateTimeScalar, JSONScalar } from '../src/scalars';
import { MemoryLogger } from './fakes';

describe('JSON scalar', () => {
  it('accepts any JSON value from variables and rejects what JSON cannot represent', () => {
    for (const v of [null, 'text', '{"not":"parsed"}', 0, -1.5, true, [], [1, [2, { a: null }]], { a: { b: ['c'] } }]) {
      expect(JSONScalar.parseValue(v)).toEqual(v);
    }
    for (const v of [NaN, Infinity, new Date(), () => 1, { a: 1n }, { nested: [undefined, Symbol('x')] }]) {
      expect(() => JSONScalar.parseValue(v)).toThrow(expect.objectContaining({ extensions: { code: 'INVALID_JSON' } }));
    }
  });

  it('converts inline literals, including variables inside them', () => {
    const ast = parseValue('{a: [1, 2.5, "s", false, null, {b: $v}], c: $missing}');
    expect(JSONScalar.parseLiteral(ast, { v: { deep: true } })).toEqual({ a: [1, 2.5, 's', false, null, { b: { deep: true } }] });
    expect(() => JSONScalar.parseLiteral(parseValue('{a: ENUM_WORD}'), {})).toThrow(/quote it/);
  });

  it('accepts objects and arrays nested MAX_JSON_DEPTH levels deep and refuses deeper ones, without overflowing the stack', () => {
    const nested = (levels: number, leaf: unknown = 'leaf'): unknown => {
      let value = leaf;
      for (let i = 0; i < levels; i++) value = i % 2 ? { k: value } : [value];
      return value;
    };
    expect(MAX_JSON_DEPTH).toBe(100);
    expect(JSONScalar.parseValue(nested(MAX_JSON_DEPTH))).toEqual(nested(MAX_JSON_DEPTH));
    const tooDeep = expect.objectContaining({ extensions: { code: 'INVALID_JSON' }, message: expect.stringContaining('more than 100 levels deep') });
    expect(() => JSONScalar.parseValue(nested(MAX_JSON_DEPTH + 1))).toThrow(tooDeep);
    // 100,000 levels: an INVALID_JSON, not a RangeError (the stack).
    expect(() => JSONScalar.parseValue(nested(100_000))).toThrow(tooDeep);
    // The path names the first array or object past the limit: here at level 101.
    expect(() => JSONScalar.parseValue({ a: [{ b: nested(MAX_JSON_DEPTH - 2) }] })).toThrow(/^JSON value at \$\.a\[0\]\.b(\.k\[0\]){48}\.k nests objects and arrays more than 100 levels deep, the limit: flatten it/);

    // The same in literals; a variable inside one is checked on its own, like any variable.
    const literal = (levels: number, leaf = '1') => parseValue('[{k: '.repeat(levels / 2) + leaf + '}]'.repeat(levels / 2));
    expect(() => JSONScalar.parseLiteral(literal(MAX_JSON_DEPTH), {})).not.toThrow();
    expect(() => JSONScalar.parseLiteral(literal(MAX_JSON_DEPTH + 2), {})).toThrow(tooDeep);
    expect(() => JSONScalar.parseLiteral(literal(1_000), {})).toThrow(tooDeep);
    expect(JSONScalar.parseLiteral(literal(MAX_JSON_DEPTH - 2, '$v'), { v: nested(MAX_JSON_DEPTH) })).toBeDefined();
    expect(() => JSONScalar.parseLiteral(literal(2, '$v'), { v: nested(MAX_JSON_DEPTH + 1) })).toThrow(tooDeep);
  });
});

describe('DateTime scalar', () => {
  it('serialises Dates and ISO strings as UTC ISO strings and rejects garbage', () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2025, 0, 2, 3, 4, 5)))).toBe('2025-01-02T03:04:05.000Z');
    expect(DateTimeScalar.serialize('2025-01-02T04:04:05+01:00')).toBe('2025-01-02T03:04:05.000Z');
    expect(() => DateTimeScalar.serialize(new Date('nope'))).toThrow();
    expect(() => DateTimeScalar.parseValue('yesterday')).toThrow(/ISO-8601/);
  });
});

describe('run update ordering', () => {
  const view = (revision: number, numScores = 0, numFailures = 0) =>
    ({ id: 'r', revision, streamVersion: 1, numScores, numFailures, createdAt: new Date(0), lastEventAt: new Date(0) }) as unknown as RunView;

  it('isNewer: a higher revision, whatever the counts did', () => {
    expect(isNewer(view(1), null)).toBe(true);
    expect(isNewer(view(2), view(1))).toBe(true);
    expect(isNewer(view(1), view(1))).toBe(false);
    expect(isNewer(view(1, 9), view(2, 0))).toBe(false);
    // A re-score sets the counts back to zero; a failed execution or a human correction moves none.
    expect(isNewer(view(5, 0, 0), view(4, 8, 2))).toBe(true);
    expect(isNewer(view(5, 8, 2), view(4, 8, 2))).toBe(true);
  });

  it('a stream keeps only the newest pending view', async () => {
    const stream = new RunUpdateStream('r', () => undefined);
    stream.offer(view(1));
    stream.offer(view(3));
    stream.offer(view(2));
    expect((await stream.next()).value.revision).toBe(3);
    const waiting = stream.next();
    stream.offer(view(2)); // older than what was sent
    stream.offer(view(4));
    expect((await waiting).value.revision).toBe(4);
    const ended = stream.next();
    await stream.return();
    expect(await ended).toEqual({ value: undefined, done: true });
  });

  it('the hub reads its subscribed runs again, so a broadcast lost on the way (NATS down a moment) is made up for', async () => {
    const stored = new Map<string, RunView>([['r', view(3, 1)]]);
    const asked: string[][] = [];
    const hub = new RunUpdatesHub({ onBroadcast: () => () => undefined }, new MemoryLogger(), {
      readRuns: async (ids) => {
        asked.push([...ids]);
        return ids.flatMap((id) => (stored.has(id) ? [stored.get(id)!] : []));
      },
      resyncEveryMs: 0,
    });
    const stream = hub.open('r');
    stream.offer(view(3, 1)); // the snapshot
    expect((await stream.next()).value.revision).toBe(3);

    await hub.resync(); // nothing changed: nothing pushed
    stored.set('r', view(7, 2)); // a change whose broadcast never arrived
    await hub.resync();
    expect((await stream.next()).value).toMatchObject({ revision: 7, numScores: 2 });
    expect(asked).toEqual([['r'], ['r']]);

    stream.close();
    await hub.resync(); // no subscribers: no query
    expect(asked).toHaveLength(2);
  });

  it('revives broadcast payloads (objects or JSON text) and refuses malformed ones', () => {
    const json = JSON.stringify({ id: 'r', streamVersion: 2, revision: 2, createdAt: '2025-01-01T00:00:00.000Z', lastEventAt: '2025-01-01T00:00:01.000Z' });
    const revived = reviveRunView(json)!;
    expect(revived.createdAt).toEqual(new Date('2025-01-01T00:00:00.000Z'));
    expect(revived.updatedAt).toEqual(revived.lastEventAt);
    expect(reviveRunView(JSON.parse(json))!.lastEventAt).toBeInstanceOf(Date);
    expect(reviveRunView('{oops')).toBeNull();
    expect(reviveRunView({ id: 'r' })).toBeNull();
    expect(reviveRunView({ id: 'r', streamVersion: 1, revision: 1, createdAt: 'garbage', lastEventAt: 'x' })).toBeNull();
  });
});

describe('error policy', () => {
  const logger = new MemoryLogger();
  const located = (original: Error) => new GraphQLError(original.message, { path: ['field'], originalError: original });

  it('classifies errors', () => {
    expect(classifyError(located(new AssayError('RUN_NOT_FOUND', 'x'))).kind).toBe('assay');
    expect(classifyError(located(new Error('db down'))).kind).toBe('internal');
    expect(classifyError(new GraphQLError('Cannot query field "x"', { extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })).kind).toBe('graphql');
    expect(classifyError(new GraphQLError('Cannot return null for non-nullable field Run.id.', { path: ['run', 'id'] })).kind).toBe('internal');
    const coercion = new GraphQLError('Variable "$v" got invalid value', { originalError: new GraphQLError('bad', { extensions: { code: 'INVALID_JSON' } }) });
    expect(classifyError(coercion).kind).toBe('invalid-json');
  });

  it('never sends internal details', () => {
    const error = located(new Error('password=hunter2'));
    const out = formatClientError({ message: error.message, path: ['field'], extensions: { code: 'INTERNAL_SERVER_ERROR', stacktrace: ['x'] } }, error, logger);
    expect(out).toEqual({ message: expect.stringContaining('errorId'), path: ['field'], locations: undefined, extensions: { code: 'INTERNAL', errorId: expect.any(String) } });
    expect(JSON.stringify(logger.lines)).toContain('hunter2');
  });
});

describe('JSON scalar error paths', () => {
  it('names where the bad value is', () => {
    expect(() => JSONScalar.parseValue({ a: [1, { b: NaN }] })).toThrow('JSON value at $.a[1].b is not a finite number.');
  });
});
