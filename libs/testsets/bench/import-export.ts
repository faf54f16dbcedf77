/**
 * Import and export of a large testset against a real PostgreSQL, the way the gateway does it
 * (parseImport → importTestcases; streamTestcaseData → CSV / JSONL), without HTTP:
 *
 *   SWC_NODE_PROJECT=tsconfig.base.json node -r @swc-node/register libs/testsets/bench/import-export.ts [rows] [csv|tsv|json|jsonl]
 *
 * Prints the time of each phase and the peak RSS. Uses DATABASE_URL (or the local server) and a
 * throw-away database.
 */
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Database } from '@assay/database';
import { isNonStringField, projectDecider, projectStreamId } from '@assay/domain';
import { eventStoreMigrations, PostgresEventStore } from '@assay/event-store';
import { createTestDatabase } from '@assay/testing';
import { csvRows, csvStringifier, ImportFormat, jsonlLines, parseImport, startTestsetProjections, TestsetCommands, TestsetQueries, testsetMigrations } from '../src';

async function main(): Promise<void> {
  const n = Number(process.argv[2] ?? 100_000);
  const format = (process.argv[3] ?? 'csv') as ImportFormat;
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
  const database = await createTestDatabase('assay_bench_testsets');
  const db = await Database.connect({ url: database.url, migrations: [...eventStoreMigrations, ...testsetMigrations], applicationName: 'bench' });
  const store = new PostgresEventStore(db);
  const projections = startTestsetProjections({ store, db, pollIntervalMs: 50 });
  try {
    let appendMs = 0;
    const append = store.append.bind(store);
    store.append = async (...args) => {
      const t = Date.now();
      try {
        return await append(...args);
      } finally {
        appendMs += Date.now() - t;
      }
    };
    const queries = new TestsetQueries(db);
    const commands = new TestsetCommands(store, queries, { projectionTimeoutMs: 120_000 });
    await store.append([{ streamId: projectStreamId('p'), expectedVersion: 'no_stream', events: [...projectDecider.decide({ type: 'CreateProject', projectId: 'p', name: 'bench' }, { exists: false })] }]);
    const schema = { type: 'object', required: ['question'], properties: { question: { type: 'string' }, answer: { type: 'string' }, difficulty: { type: 'integer' } } };
    const testset = await commands.createTestset({ projectId: 'p', name: 'bench', jsonSchema: schema, fieldMapping: { inputs: ['question'], expected: ['answer'] } });

    // The file is generated as it is read (as a socket would deliver it): only the import's own memory shows.
    let fileBytes = 0;
    const source = Readable.from((function* () {
      for (const chunk of makeFile(n, format)) {
        fileBytes += chunk.length;
        yield chunk;
      }
    })());
    const t0 = Date.now();
    const rows = parseImport(source, { format, isJsonColumn: (c) => isNonStringField(schema, c) });
    const summary = await commands.importTestcases(testset.id, rows);
    const importMs = Date.now() - t0;
    if (summary.rowsTaken !== n) throw new Error(`imported ${summary.rowsTaken} of ${n}`);

    let bytes = 0;
    const sink = () => new Writable({ write(chunk, _e, cb) { bytes += chunk.length; cb(); } });
    const t1 = Date.now();
    const view = (await queries.getTestset(testset.id))!;
    await pipeline(csvRows(view.fields, queries.streamTestcaseData(testset.id)), csvStringifier(), sink());
    const csvMs = Date.now() - t1;
    const csvBytes = bytes;
    bytes = 0;
    const t2 = Date.now();
    await pipeline(jsonlLines(queries.streamTestcaseData(testset.id)), sink());
    const jsonlMs = Date.now() - t2;
    console.log(
      JSON.stringify({ rows: n, format, fileMB: +(fileBytes / 1e6).toFixed(1), importMs, appendMs, exportCsvMs: csvMs, exportCsvMB: +(csvBytes / 1e6).toFixed(1), exportJsonlMs: jsonlMs, peakRssMB: Math.round(peakRss / 1e6) }),
    );
  } finally {
    clearInterval(sampler);
    await projections.stop();
    await store.close();
    await db.close();
    await database.drop();
  }
}

/** The file in ~64 KB chunks. */
function* makeFile(n: number, format: ImportFormat): Generator<Buffer> {
  const item = (i: number) => ({ question: `Question ${i}, with "quotes" and\nnewline ✓`, answer: `answer ${i}`, difficulty: i % 5 });
  const d = format === 'tsv' ? '\t' : ',';
  let part = format === 'csv' || format === 'tsv' ? `question${d}answer${d}difficulty\r\n` : format === 'json' ? '[' : '';
  for (let i = 0; i < n; i++) {
    const t = item(i);
    if (format === 'csv' || format === 'tsv') part += `"${t.question.replace(/"/g, '""')}"${d}${t.answer}${d}${t.difficulty}\r\n`;
    else if (format === 'jsonl') part += JSON.stringify(t) + '\n';
    else part += (i ? ',\n' : '') + JSON.stringify(t);
    if (part.length > 65_536) {
      yield Buffer.from(part);
      part = '';
    }
  }
  if (format === 'json') part += ']';
  if (part) yield Buffer.from(part);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
