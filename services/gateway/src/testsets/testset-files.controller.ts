import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Controller, Get, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import { AssayError, isAssayError, MAX_IMPORT_BYTES } from '@assay/contracts';
import { isNonStringField } from '@assay/domain';
import { csvRows, csvStringifier, ImportStoppedError, importFormatOf, jsonlLines, parseImport, tooLarge, type TestsetView } from '@assay/testsets';
import { CurrentPrincipal, type Principal } from '../auth/access';
import { visibleTo } from '../auth/scoped';
import { testsetNotFound } from '../catalog/not-found';
import { GATEWAY_DEPS, GATEWAY_LOGGER, type GatewayDeps } from '../deps';
import { errorBody, INTERNAL_MESSAGE } from '../errors';
import { describeError, sendJson } from '../http';
import type { GatewayLogger } from '../logger';
import { testsetsOf } from './testsets.resolver';

/**
 * The body as sent, decompressed when it says so (Content-Encoding gzip, deflate or br): the size
 * limit then applies to the decompressed bytes, so a small bomb cannot blow up.
 */
function decoded(req: IncomingMessage): Readable {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : null;
  if (encoding !== 'identity' && !decoder) {
    throw new AssayError('UNSUPPORTED_MEDIA_TYPE', `Content-Encoding ${encoding} is not supported: send the file as it is, or gzip, deflate or br.`);
  }
  if (!decoder) return req;
  req.on('error', (error) => decoder.destroy(error));
  // The importer reads the decoder and gets its error through its own listener. zlib can emit
  // again after the importer has stopped listening (corrupt input); without a listener of its own
  // that late error would be an uncaught exception that takes the process down.
  decoder.on('error', () => undefined);
  return req.pipe(decoder);
}

function isZlibError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('Z_');
}

/** Largest import file: ASSAY_MAX_IMPORT_BYTES, default MAX_IMPORT_BYTES (512 MiB). */
export function maxImportBytes(): number {
  const value = Number(process.env.ASSAY_MAX_IMPORT_BYTES);
  return Number.isInteger(value) && value > 0 ? value : MAX_IMPORT_BYTES;
}

const STATUS: Record<string, number> = {
  BAD_USER_INPUT: 400,
  INVALID_JSON: 400,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TESTSET_NOT_FOUND: 404,
  UNAVAILABLE: 503,
};

/**
 * Testset files (need `Authorization: Bearer <key>`; a testset of another project answers 404
 * TESTSET_NOT_FOUND exactly as a missing one):
 *
 * POST /testsets/:id/import — the file is the raw request body (not multipart): CSV (text/csv),
 * TSV (text/tab-separated-values), a JSON array of objects (application/json) or JSON Lines
 * (application/x-ndjson); `?format=csv|tsv|json|jsonl` overrides the Content-Type. UTF-8, a BOM
 * is ignored. Content-Encoding gzip, deflate or br is decompressed as it streams. CSV/TSV: a header line names the fields; an unquoted empty cell is an absent field,
 * `""` the empty string; a column the testset's schema types as non-string (integer, boolean,
 * array…) is read as JSON text. The `id` column / field (`?idField=` names another, `?idField=`
 * empty for none) carries a testcase id: that testcase of this testset is updated; a row without
 * one is a new testcase; an id that is not a testcase of this testset is refused.
 *
 * The file is read as it arrives and imported in batches of 1,000 rows, each batch one
 * transaction: memory stays flat whatever the file's size. Batch-wise, not all-or-nothing: rows
 * that cannot be taken (wrong number of columns, not JSON, not an object, unknown id) are refused
 * with their line and the rest goes in; testcases failing the schema are stored with their
 * validation errors. 200 answers the summary: `{testsetId, format, rowsRead, rowsTaken, created,
 * updated, unchanged, invalid, refusedCount, refused: [{line, code, reason}] (first 1,000)}`.
 * A file over the size limit (ASSAY_MAX_IMPORT_BYTES, default 512 MiB) is refused with 413
 * PAYLOAD_TOO_LARGE: before reading anything when Content-Length says so, otherwise when the
 * limit is crossed, keeping the batches already stored — the error body's `summary` says exactly
 * which (same for a file that turns out unreadable part-way).
 *
 * GET /testsets/:id/export.csv, GET /testsets/:id/export.jsonl — every testcase, `id` first, in
 * the order they were added, streamed with backpressure (see @assay/testsets export-rows for the
 * format; both import again as they are). `?bom=1` prefixes the CSV with a UTF-8 BOM.
 */
@Controller()
export class TestsetFilesController {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_LOGGER) private readonly logger: GatewayLogger,
  ) {}

  @Post('testsets/:id/import')
  async import(
    @CurrentPrincipal() principal: Principal,
    @Param('id') testsetId: string,
    @Query('format') format: string | undefined,
    @Query('idField') idField: string | undefined,
    @Req() req: IncomingMessage,
    @Res() res: ServerResponse,
  ): Promise<void> {
    const url = `/testsets/${testsetId}/import`;
    let testset: TestsetView | null;
    try {
      testset = await this.visibleTestset(principal, testsetId);
      if (!testset) return this.refuse(res, url, testsetNotFound(testsetId).code, testsetNotFound(testsetId).message, req);
      const parsedFormat = importFormatOf(req.headers['content-type'], format);
      const limit = maxImportBytes();
      const declared = Number(req.headers['content-length']);
      if (Number.isFinite(declared) && declared > limit) {
        const error = tooLarge(limit);
        return this.refuse(res, url, error.code, `${error.message} Nothing was imported.`, req);
      }
      const schema = testset.jsonSchema;
      const rows = parseImport(decoded(req), {
        format: parsedFormat,
        idField: idField === undefined ? 'id' : idField === '' ? null : idField,
        isJsonColumn: (column) => isNonStringField(schema, column),
        maxBytes: limit,
      });
      const summary = await testsetsOf(this.deps).commands.importTestcases(testsetId, rows);
      this.logger.info({ method: 'POST', url, format: parsedFormat, rowsTaken: summary.rowsTaken, refused: summary.refusedCount }, 'testset import done');
      sendJson(res, 200, { testsetId, format: parsedFormat, ...summary });
    } catch (error) {
      if (error instanceof ImportStoppedError) {
        const cause = error.cause;
        if (isAssayError(cause)) {
          const status = STATUS[cause.code] ?? 400;
          this.logger.info({ method: 'POST', url, status, code: cause.code, rowsTaken: error.summary.rowsTaken }, 'testset import stopped');
          if (!res.headersSent && !res.destroyed) sendJson(res, status, { ...errorBody(cause.code, cause.message), summary: { testsetId, ...error.summary } });
          return;
        }
        if (isZlibError(cause)) {
          const message = `The body is not valid ${req.headers['content-encoding']} data (${(cause as Error).message}): the import stopped there.`;
          if (!res.headersSent && !res.destroyed) sendJson(res, 400, { ...errorBody('BAD_USER_INPUT', message), summary: { testsetId, ...error.summary } });
          return;
        }
        this.logger.warn({ method: 'POST', url, error: describeError(cause), rowsTaken: error.summary.rowsTaken }, 'testset import stopped (client gone or server error)');
        if (!res.headersSent && !res.destroyed) sendJson(res, 500, { ...errorBody('INTERNAL', INTERNAL_MESSAGE), summary: { testsetId, ...error.summary } });
        return;
      }
      if (isAssayError(error)) return this.refuse(res, url, error.code, error.message, req);
      this.logger.error({ method: 'POST', url, status: 500, error: describeError(error) }, 'testset import failed');
      if (!res.headersSent) sendJson(res, 500, errorBody('INTERNAL', INTERNAL_MESSAGE));
    }
  }

  @Get('testsets/:id/export.csv')
  exportCsv(@CurrentPrincipal() principal: Principal, @Param('id') testsetId: string, @Query('bom') bom: string | undefined, @Res() res: ServerResponse): Promise<void> {
    return this.export(principal, testsetId, 'csv', res, bom === '1' || bom === 'true');
  }

  @Get('testsets/:id/export.jsonl')
  exportJsonl(@CurrentPrincipal() principal: Principal, @Param('id') testsetId: string, @Res() res: ServerResponse): Promise<void> {
    return this.export(principal, testsetId, 'jsonl', res, false);
  }

  private async export(principal: Principal, testsetId: string, format: 'csv' | 'jsonl', res: ServerResponse, bom: boolean): Promise<void> {
    const url = `/testsets/${testsetId}/export.${format}`;
    let testset: TestsetView | null;
    try {
      testset = await this.visibleTestset(principal, testsetId);
    } catch (error) {
      this.logger.error({ method: 'GET', url, status: 500, error: describeError(error) }, 'testset export failed');
      sendJson(res, 500, errorBody('INTERNAL', INTERNAL_MESSAGE));
      return;
    }
    if (!testset) return this.refuse(res, url, 'TESTSET_NOT_FOUND', testsetNotFound(testsetId).message);
    const testcases = testsetsOf(this.deps).queries.streamTestcaseData(testsetId);
    res.statusCode = 200;
    res.setHeader('Content-Type', format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="testset-${testsetId.replace(/[^A-Za-z0-9._-]/g, '_')}.${format}"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    try {
      if (format === 'csv') await pipeline(csvRows(testset.fields, testcases), csvStringifier({ bom }), res);
      else await pipeline(jsonlLines(testcases), res);
    } catch (error) {
      const code = (error as { code?: string } | null)?.code;
      if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE') {
        this.logger.debug({ testsetId }, 'testset export aborted by the client');
        return;
      }
      // Headers are gone: cutting the response short is the only honest signal left.
      this.logger.error({ method: 'GET', url, error: describeError(error) }, 'testset export failed mid-stream');
      res.destroy(error instanceof Error ? error : undefined);
    }
  }

  private async visibleTestset(principal: Principal, testsetId: string): Promise<TestsetView | null> {
    return visibleTo(principal, await testsetsOf(this.deps).queries.getTestset(testsetId));
  }

  /** An error answer before the body was read: the client is told, and the connection closed so its upload stops. */
  private refuse(res: ServerResponse, url: string, code: string, message: string, req?: IncomingMessage): void {
    const status = STATUS[code] ?? 400;
    this.logger.info({ method: req ? 'POST' : 'GET', url, status, code }, 'http request rejected');
    if (req && !req.readableEnded) res.setHeader('Connection', 'close');
    sendJson(res, status, errorBody(code, message));
  }
}
