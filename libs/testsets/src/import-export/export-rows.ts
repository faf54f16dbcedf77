import { stringify } from 'csv-stringify';
import { Readable, type Transform } from 'node:stream';

/**
 * Testset exports. Both are meant to be imported again (into the same testset they update the
 * testcases by id), so nothing is rewritten for spreadsheets:
 *
 * CSV (RFC 4180, UTF-8, CRLF): columns `id`, then every top-level field of the testset's testcases
 * in order of first appearance. A string is written as it is (quoted when it holds a comma, a
 * quote, a line break, or is empty: `""` is the empty string); any other JSON value as JSON text
 * (`42`, `true`, `{"a":1}`); an absent field or null as an empty unquoted cell, which an import
 * reads as "absent". So CSV → testset → CSV is exact, and JSON values come back as JSON when the
 * testset's schema types their column (see parseImport).
 *
 * JSONL: one object per testcase, `{"id": …, <its fields as stored>}`: field order and values
 * exactly as imported.
 */
export function csvRows(fields: readonly string[], testcases: AsyncIterable<{ id: string; jsonText: string }>): Readable {
  async function* rows(): AsyncGenerator<(string | null)[]> {
    yield ['id', ...fields];
    for await (const testcase of testcases) {
      const data = JSON.parse(testcase.jsonText) as Record<string, unknown>;
      const row: (string | null)[] = [testcase.id];
      for (const field of fields) row.push(cellOf(data[field]));
      yield row;
    }
  }
  return Readable.from(rows(), { objectMode: true, highWaterMark: 64 });
}

export function csvStringifier(options: { bom?: boolean } = {}): Transform {
  return stringify({
    record_delimiter: 'windows',
    // csv-stringify quotes a field holding the record delimiter (\r\n) but not a lone \n or \r:
    // quote those too, and the empty string (so that it differs from an absent field).
    quoted_match: [/^$/, /[\r\n]/],
    bom: options.bom ?? false,
  });
}

function cellOf(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

export function jsonlLines(testcases: AsyncIterable<{ id: string; jsonText: string }>): Readable {
  async function* lines(): AsyncGenerator<string> {
    let batch = '';
    let n = 0;
    for await (const testcase of testcases) {
      const id = JSON.stringify(testcase.id);
      batch += testcase.jsonText === '{}' ? `{"id":${id}}\n` : `{"id":${id},${testcase.jsonText.slice(1)}\n`;
      // Hand out ~64 KB strings rather than one per line: fewer writes to the socket.
      if (++n % 200 === 0 || batch.length > 65_536) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  return Readable.from(lines(), { objectMode: false, highWaterMark: 1 });
}
