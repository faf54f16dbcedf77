import { StringDecoder } from 'node:string_decoder';
import { Readable } from 'node:stream';
import { parse as parseCsv, type Info } from 'csv-parse';
import { parse as parseCsvSync } from 'csv-parse/sync';
import { AssayError, jsonPath, jsonValueProblem, MAX_IMPORT_BYTES, MAX_IMPORT_ROW_BYTES, MAX_JSON_DEPTH } from '@assay/contracts';

export type ImportFormat = 'csv' | 'tsv' | 'json' | 'jsonl';
export const IMPORT_FORMATS: readonly ImportFormat[] = ['csv', 'tsv', 'json', 'jsonl'];

/** A row of an import file, parsed: data for a testcase, or the reason it cannot be one. */
export type ParsedRow =
  | { readonly kind: 'row'; readonly line: number; readonly id: string | null; readonly jsonData: Record<string, unknown> }
  | { readonly kind: 'refused'; readonly line: number; readonly code: string; readonly reason: string };

export interface ParseImportOptions {
  readonly format: ImportFormat;
  /**
   * The column (CSV, TSV) or field (JSON, JSONL) that carries a testcase id: a row with one
   * updates that testcase. null: no id column, every row is a new testcase. Default "id".
   */
  readonly idField?: string | null;
  /** CSV/TSV: whether a column holds JSON other than strings (from the testset's schema); then its cells are read as JSON text. */
  readonly isJsonColumn?: (column: string) => boolean;
  /** The whole file; past it, PAYLOAD_TOO_LARGE is thrown from the iteration. */
  readonly maxBytes?: number;
  /** One row; a longer one is refused. */
  readonly maxRowBytes?: number;
}

/**
 * Media types an import understands. `format` from `?format=` wins over the Content-Type.
 */
export function importFormatOf(contentType: string | undefined, format: string | undefined): ImportFormat {
  if (format) {
    const f = format.toLowerCase();
    if ((IMPORT_FORMATS as readonly string[]).includes(f)) return f as ImportFormat;
    if (f === 'ndjson') return 'jsonl';
    throw new AssayError('UNSUPPORTED_MEDIA_TYPE', `format=${format} is not supported: use csv, tsv, json or jsonl.`);
  }
  const media = (contentType ?? '').split(';')[0].trim().toLowerCase();
  switch (media) {
    case 'text/csv':
    case 'application/csv':
      return 'csv';
    case 'text/tab-separated-values':
    case 'text/tsv':
      return 'tsv';
    case 'application/json':
      return 'json';
    case 'application/jsonl':
    case 'application/x-jsonl':
    case 'application/jsonlines':
    case 'application/x-jsonlines':
    case 'application/x-ndjson':
    case 'application/ndjson':
      return 'jsonl';
    default:
      throw new AssayError(
        'UNSUPPORTED_MEDIA_TYPE',
        `${media ? `Content-Type ${media} is` : 'A request without Content-Type is'} not an import format: send the file as the raw body with Content-Type text/csv, text/tab-separated-values, application/json (an array of objects) or application/x-ndjson (JSON Lines), or add ?format=csv|tsv|json|jsonl.`,
      );
  }
}

/**
 * The bytes of `source` up to `maxBytes`; past that the stream just ends and `exceeded()` says so.
 * Ending in-band (rather than failing the stream) lets every row before the limit be read and
 * stored first; the row the limit cut through is then dropped by parseImport.
 */
export function byteLimit(source: Readable, maxBytes: number): { stream: Readable; exceeded: () => boolean } {
  let exceeded = false;
  async function* limited(): AsyncGenerator<Buffer> {
    let seen = 0;
    for await (const chunk of source as AsyncIterable<Buffer>) {
      if (seen + chunk.length > maxBytes) {
        exceeded = true;
        if (maxBytes > seen) yield chunk.subarray(0, maxBytes - seen);
        return;
      }
      seen += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(limited(), { objectMode: false }), exceeded: () => exceeded };
}

export function tooLarge(maxBytes: number): AssayError {
  return new AssayError(
    'PAYLOAD_TOO_LARGE',
    `The file is larger than the ${Math.round(maxBytes / 1024 / 1024)} MiB import limit: split it into smaller files.`,
    { maxBytes },
  );
}

/**
 * Reads an import file as it streams in and yields its rows one by one: memory holds one row (and
 * the parser's read-ahead), whatever the file's size. Rows that cannot be testcases (a CSV row
 * with the wrong number of columns, a JSON line that does not parse, a value that is not an
 * object) are yielded as refused, with their line, and reading goes on. A file that cannot be
 * read at all (no header, not a JSON array) throws BAD_USER_INPUT / INVALID_JSON before any row.
 */
export async function* parseImport(source: Readable, options: ParseImportOptions): AsyncGenerator<ParsedRow> {
  const maxBytes = options.maxBytes ?? MAX_IMPORT_BYTES;
  const limited = byteLimit(source, maxBytes);
  const idField = options.idField === undefined ? 'id' : options.idField;
  const maxRowBytes = options.maxRowBytes ?? MAX_IMPORT_ROW_BYTES;
  const rows = (() => {
    switch (options.format) {
      case 'csv':
      case 'tsv':
        return parseDelimited(limited.stream, options.format === 'tsv' ? '\t' : ',', idField, options.isJsonColumn ?? (() => false), maxRowBytes);
      case 'jsonl':
        return parseJsonLines(limited.stream, idField, maxRowBytes);
      case 'json':
        return parseJsonArray(limited.stream, idField, maxRowBytes);
    }
  })();
  // One row is held back: when the file turns out too large, the last row read may be cut short
  // (and so may a parse error at the cut), so it is dropped rather than stored.
  let held: ParsedRow | undefined;
  try {
    for await (const row of rows) {
      if (held) yield held;
      held = row;
    }
  } catch (error) {
    if (!limited.exceeded()) {
      // The file is unreadable further on: the row before is whole.
      if (held) yield held;
      throw error;
    }
  } finally {
    limited.stream.destroy();
  }
  if (limited.exceeded()) throw tooLarge(maxBytes);
  if (held) yield held;
}

/** Object rows: the id field (when a string) comes out; anything else is refused. */
function toRow(line: number, value: unknown, idField: string | null): ParsedRow {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'refused', line, code: 'BAD_USER_INPUT', reason: `line ${line}: a testcase must be a JSON object of fields, not ${Array.isArray(value) ? 'an array' : value === null ? 'null' : typeof value}.` };
  }
  const tooDeep = tooDeepRefusal(line, value);
  if (tooDeep) return tooDeep;
  const data = value as Record<string, unknown>;
  if (idField === null || !(idField in data)) return { kind: 'row', line, id: null, jsonData: data };
  const { [idField]: id, ...rest } = data;
  if (id === null || id === '') return { kind: 'row', line, id: null, jsonData: rest };
  if (typeof id !== 'string') {
    return { kind: 'refused', line, code: 'BAD_USER_INPUT', reason: `line ${line}: "${idField}" must be a testcase id (a string), or be left out for a new testcase.` };
  }
  return { kind: 'row', line, id, jsonData: rest };
}

/** The JSON nesting limit of every way in (MAX_JSON_DEPTH, as the API's JSON scalar): a deeper row is refused. */
function tooDeepRefusal(line: number, data: object): ParsedRow | undefined {
  const problem = jsonValueProblem(data);
  if (problem?.kind !== 'TOO_DEEP') return undefined;
  return {
    kind: 'refused',
    line,
    code: 'INVALID_JSON',
    reason: `line ${line}: ${jsonPath('$', problem.keys)} nests objects and arrays more than ${MAX_JSON_DEPTH} levels deep, the limit: flatten it, or put the deeper part in a JSON string.`,
  };
}

interface CsvRecord {
  record: (string | undefined)[];
  info: Info & { lines: number };
  raw: string;
}

async function* parseDelimited(
  input: Readable,
  delimiter: string,
  idField: string | null,
  isJsonColumn: (column: string) => boolean,
  maxRowBytes: number,
): AsyncGenerator<ParsedRow> {
  // Refusals come from csv-parse's 'skip' events, which fire while it parses ahead of what has been
  // taken from it: they are held until the records before them have been yielded.
  const refusals: ParsedRow[] = [];
  const parser = parseCsv({
    delimiter,
    bom: true,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    skip_records_with_error: true,
    max_record_size: maxRowBytes,
    info: true,
    raw: true,
  });
  parser.on('skip', (error: Error & { code?: string; lines?: number }) => {
    if (error.code === 'CSV_MAX_RECORD_SIZE') {
      // Past this, csv-parse cannot find where the next record starts (it is most often an
      // unclosed quote swallowing the rest of the file): stop the import here.
      parser.destroy(
        new AssayError(
          'PAYLOAD_TOO_LARGE',
          `line ${error.lines ?? '?'}: a row longer than ${maxRowBytes} bytes (often a quote that is never closed); the import stopped there.`,
          { line: error.lines },
        ),
      );
      return;
    }
    refusals.push({ kind: 'refused', line: error.lines ?? 0, code: 'BAD_USER_INPUT', reason: `line ${error.lines ?? '?'}: ${error.message}` });
  });
  const refusalsBefore = function* (line: number): Generator<ParsedRow> {
    refusals.sort((a, b) => a.line - b.line);
    while (refusals.length && refusals[0].line < line) yield refusals.shift()!;
  };
  input.on('error', (error) => parser.destroy(error));
  input.pipe(parser);

  let header: string[] | null = null;
  let jsonColumns: boolean[] = [];
  for await (const item of parser as AsyncIterable<CsvRecord>) {
    const line = startLine(item);
    yield* refusalsBefore(line);
    if (!header) {
      header = item.record.map((name) => name ?? '');
      const seen = new Set<string>();
      for (const name of header) {
        if (name === '') throw new AssayError('BAD_USER_INPUT', `The header (line ${line}) has an empty column name: name every column.`);
        if (seen.has(name)) throw new AssayError('BAD_USER_INPUT', `The header (line ${line}) names column "${name}" twice: column names must be unique.`);
        seen.add(name);
      }
      jsonColumns = header.map((name) => name !== idField && isJsonColumn(name));
      continue;
    }
    // An empty cell without quotes is an absent field; "" (quoted) is the empty string. csv-parse
    // tells them apart only through `cast`, which costs a lot per cell: parse the few records
    // that have an empty cell again, with it.
    const cells = item.record.includes('') ? emptyCellsMarked(item.raw, delimiter) : item.record;
    if (cells.length !== header.length) {
      yield {
        kind: 'refused',
        line,
        code: 'BAD_USER_INPUT',
        reason: `line ${line}: ${cells.length} columns where the header has ${header.length}; the row was not imported.`,
      };
      continue;
    }
    let id: string | null = null;
    const data: Record<string, unknown> = {};
    for (let i = 0; i < header.length; i++) {
      const cell = cells[i];
      if (header[i] === idField) {
        id = cell === undefined || cell === '' ? null : cell;
        continue;
      }
      if (cell === undefined) continue;
      data[header[i]] = jsonColumns[i] ? jsonCell(cell) : cell;
    }
    yield tooDeepRefusal(line, data) ?? { kind: 'row', line, id, jsonData: data };
  }
  yield* refusalsBefore(Infinity);
  if (!header) throw new AssayError('BAD_USER_INPUT', 'The file is empty: a CSV or TSV import starts with a header line naming the columns.');
}

function emptyCellsMarked(raw: string, delimiter: string): (string | undefined)[] {
  const [record] = parseCsvSync(raw, {
    delimiter,
    relax_column_count: true,
    relax_quotes: true,
    skip_empty_lines: true,
    cast: (value, context) => (value === '' && !context.quoting ? undefined : value),
  }) as (string | undefined)[][];
  return record ?? [];
}

/** A cell of a column the schema types as non-string: its JSON value when it is JSON text, else the text (the schema check then reports it). */
function jsonCell(cell: string): unknown {
  try {
    return JSON.parse(cell);
  } catch {
    return cell;
  }
}

/** The line a record starts on: csv-parse reports the line it ends on; the raw text says how many lines it spans. */
function startLine(item: CsvRecord): number {
  const raw = item.raw.replace(/^[\r\n]+/, '').replace(/\r?\n$|\r$/, '');
  let breaks = 0;
  for (let i = 0; i < raw.length; i++) if (raw.charCodeAt(i) === 10) breaks++;
  return item.info.lines - breaks;
}

/** Decoded text chunks of a byte stream (UTF-8, a leading BOM dropped). */
async function* textChunks(input: Readable): AsyncGenerator<string> {
  const decoder = new StringDecoder('utf8');
  let first = true;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    let text = decoder.write(chunk);
    if (first && text.length) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    if (text) yield text;
  }
  const rest = decoder.end();
  if (rest) yield rest;
}

async function* parseJsonLines(input: Readable, idField: string | null, maxRowBytes: number): AsyncGenerator<ParsedRow> {
  let buffer = '';
  let lineNo = 0;
  let skippingLong = false;
  const lineRow = (text: string): ParsedRow | null => {
    lineNo++;
    const trimmed = text.endsWith('\r') ? text.slice(0, -1) : text;
    if (trimmed.trim() === '') return null;
    let value: unknown;
    try {
      value = JSON.parse(trimmed);
    } catch (error) {
      return { kind: 'refused', line: lineNo, code: 'INVALID_JSON', reason: `line ${lineNo}: not valid JSON (${(error as Error).message}).` };
    }
    return toRow(lineNo, value, idField);
  };
  for await (const chunk of textChunks(input)) {
    let start = 0;
    for (let nl = chunk.indexOf('\n'); nl !== -1; nl = chunk.indexOf('\n', start)) {
      const piece = chunk.slice(start, nl);
      start = nl + 1;
      if (skippingLong) {
        skippingLong = false;
        lineNo++;
        continue;
      }
      const row = lineRow(buffer + piece);
      buffer = '';
      if (row) yield row;
    }
    if (!skippingLong) buffer += chunk.slice(start);
    if (buffer.length > maxRowBytes) {
      yield { kind: 'refused', line: lineNo + 1, code: 'PAYLOAD_TOO_LARGE', reason: `line ${lineNo + 1}: longer than ${maxRowBytes} bytes; the row was not imported.` };
      buffer = '';
      skippingLong = true;
    }
  }
  if (!skippingLong && buffer.length) {
    const row = lineRow(buffer);
    if (row) yield row;
  }
}

/**
 * A JSON array of objects, element by element: a small scanner finds where each top-level element
 * ends (tracking strings, escapes and nesting) and JSON.parse reads it, so memory holds one
 * element at a time. An element that does not parse is refused and the next one is read.
 */
async function* parseJsonArray(input: Readable, idField: string | null, maxRowBytes: number): AsyncGenerator<ParsedRow> {
  type Phase = 'start' | 'between' | 'element' | 'end';
  let phase: Phase = 'start';
  let depth = 0;
  let inString = false;
  let escaped = false;
  let element = '';
  let elementLine = 0;
  let tooLong = false;
  let line = 1;
  let expectComma = false;
  let elementNumber = 0;
  const finish = (): ParsedRow => {
    const text = element;
    element = '';
    const where = `line ${elementLine} (element ${++elementNumber})`;
    if (tooLong) {
      tooLong = false;
      return { kind: 'refused', line: elementLine, code: 'PAYLOAD_TOO_LARGE', reason: `${where}: longer than ${maxRowBytes} bytes; it was not imported.` };
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { kind: 'refused', line: elementLine, code: 'INVALID_JSON', reason: `${where}: not valid JSON (${(error as Error).message}).` };
    }
    const row = toRow(elementLine, value, idField);
    return row.kind === 'refused' ? { ...row, reason: row.reason.replace(`line ${elementLine}:`, `${where}:`) } : row;
  };
  const notAnArray = (what: string) =>
    new AssayError('INVALID_JSON', `A JSON import is one array of objects ([{…}, {…}]); ${what} at line ${line}. For one object per line, send JSON Lines (application/x-ndjson).`);

  for await (const chunk of textChunks(input)) {
    let segmentStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk.charCodeAt(i);
      if (phase === 'element') {
        if (inString) {
          if (escaped) escaped = false;
          else if (c === 92 /* \ */) escaped = true;
          else if (c === 34 /* " */) inString = false;
          else if (c === 10) line++;
          continue;
        }
        if (c === 34) inString = true;
        else if (c === 123 || c === 91) depth++;
        else if (c === 125 || c === 93) {
          if (depth === 0) {
            // `]` closing the array right after a scalar element.
            if (!tooLong) element += chunk.slice(segmentStart, i);
            yield finish();
            phase = 'end';
            continue;
          }
          depth--;
          if (depth === 0) {
            if (!tooLong) element += chunk.slice(segmentStart, i + 1);
            yield finish();
            phase = 'between';
            expectComma = true;
          }
        } else if (c === 44 /* , */ && depth === 0) {
          if (!tooLong) element += chunk.slice(segmentStart, i);
          yield finish();
          phase = 'between';
          expectComma = false;
        } else if (c === 10) line++;
        continue;
      }
      if (c === 10) {
        line++;
        continue;
      }
      if (c === 32 || c === 9 || c === 13) continue;
      if (phase === 'start') {
        if (c !== 91) throw notAnArray(`found "${chunk[i]}" instead of "["`);
        phase = 'between';
        expectComma = false;
        continue;
      }
      if (phase === 'end') throw notAnArray('found more after the closing "]"');
      // between elements
      if (c === 93 /* ] */) {
        phase = 'end';
        continue;
      }
      if (c === 44 && expectComma) {
        expectComma = false;
        continue;
      }
      phase = 'element';
      elementLine = line;
      depth = 0;
      segmentStart = i;
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth = 1;
      if (depth === 1 || inString) continue;
      // A scalar: read until the next comma or bracket at depth 0.
    }
    if (phase === 'element' && !tooLong) {
      element += chunk.slice(segmentStart);
      if (element.length > maxRowBytes) {
        tooLong = true;
        element = '';
      }
    }
  }
  if (phase === 'element') {
    yield { kind: 'refused', line: elementLine, code: 'INVALID_JSON', reason: `line ${elementLine}: the file ends inside this element (no closing "]").` };
  } else if (phase === 'start') {
    throw notAnArray('the file is empty');
  } else if (phase === 'between') {
    throw notAnArray('the closing "]" is missing');
  }
}
