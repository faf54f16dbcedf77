import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ServerResponse } from 'node:http';
import { stringify } from 'csv-stringify';
import { Controller, Get, Inject, Param, Query, Res } from '@nestjs/common';
import type { RecordView, RunView, ScoreView } from '@assay/runs';
import { GATEWAY_DEPS, GATEWAY_LOGGER, type GatewayDeps } from './deps';
import { errorBody, INTERNAL_MESSAGE } from './errors';
import { sendJson, describeError } from './http';
import type { GatewayLogger } from './logger';
import { CurrentPrincipal, type Principal } from './auth/access';
import { runNotFound, visibleTo } from './auth/scoped';

/**
 * GET /runs/:id/export.csv — every record of a run with its scores, streamed.
 * Needs `Authorization: Bearer <key>` (the global ApiKeyGuard: 401 UNAUTHENTICATED without one); a run
 * of another project answers 404 RUN_NOT_FOUND, exactly as a missing run does.
 *
 * Format (RFC 4180): UTF-8, CRLF line ends, a field is quoted when it contains a comma, a double
 * quote (doubled inside) or a line break. `?bom=1` prefixes a UTF-8 byte-order mark for Excel.
 *
 * Columns: record_id, testcase_id, inputs, outputs, expected, then for each metric of the run, in
 * run order: `<name>.value`, `<name>.passed`, `<name>.reasoning`, and for a HUMAN metric also
 * `<name>.scored_by`: the id of the API key that submitted (or last corrected) the score.
 * - inputs / outputs / expected: the value as JSON text (a number is written as the number);
 *   empty when null or absent.
 * - `<name>.value`: the score as a number; `<name>.passed`: true / false; both empty when the
 *   record has no score for the metric yet. `<name>.reasoning`: the reasoning, or
 *   `error <CODE>: <reason>` when scoring failed for good.
 * - The score shown is the one of the run's current version of the metric (after a re-score, the
 *   new version); while that one is pending, the newest version scored, as the last of the metric's
 *   scores in GraphQL `run.records.scores` (see pickScore).
 *
 * Formula-injection defence (OWASP "CSV injection"): a text cell whose first character is `=`,
 * `+`, `-`, `@`, tab or carriage return (or their full-width forms) is prefixed with a single quote
 * `'`, so spreadsheets show it as text instead of evaluating it. Number cells are never changed:
 * `-0.5` stays `-0.5`. This applies to every text cell, header included (a metric named `=x`
 * gives the header `'=x.value`). Consumers that need the exact original text strip the leading `'`
 * from cells that start with `'` followed by one of those characters.
 *
 * Memory stays constant whatever the run size: records come from `queries.streamRecords` page by
 * page and flow through csv-stringify into the socket with backpressure (Readable.from pulls the
 * next record only when the stringifier wants more).
 */
@Controller()
export class CsvExportController {
  constructor(
    @Inject(GATEWAY_DEPS) private readonly deps: GatewayDeps,
    @Inject(GATEWAY_LOGGER) private readonly logger: GatewayLogger,
  ) {}

  @Get('runs/:id/export.csv')
  async export(
    @CurrentPrincipal() principal: Principal,
    @Param('id') runId: string,
    @Query('bom') bom: string | undefined,
    @Res() res: ServerResponse,
  ): Promise<void> {
    let run: RunView | null;
    let records: AsyncIterator<RecordView>;
    let first: IteratorResult<RecordView>;
    try {
      // A run of another project is answered exactly as a missing one.
      run = visibleTo(principal, await this.deps.queries.getRun(runId));
      if (!run) {
        this.logger.info({ method: 'GET', url: `/runs/${runId}/export.csv`, status: 404, code: 'RUN_NOT_FOUND' }, 'http request rejected');
        sendJson(res, 404, errorBody('RUN_NOT_FOUND', runNotFound(runId).message));
        return;
      }
      // Read the first record before committing to a 200, so that an early failure is a proper error response.
      records = this.deps.queries.streamRecords(runId)[Symbol.asyncIterator]();
      first = await records.next();
    } catch (error) {
      this.logger.error({ method: 'GET', url: `/runs/${runId}/export.csv`, status: 500, error: describeError(error) }, 'csv export failed');
      sendJson(res, 500, errorBody('INTERNAL', INTERNAL_MESSAGE));
      return;
    }

    const metrics = run.metrics;
    const header = ['record_id', 'testcase_id', 'inputs', 'outputs', 'expected'];
    for (const m of metrics) {
      header.push(`${m.name}.value`, `${m.name}.passed`, `${m.name}.reasoning`);
      if (m.evalType === 'HUMAN') header.push(`${m.name}.scored_by`);
    }

    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/csv; charset=utf-8');
    res.setHeader('Content-Disposition', `attachment; filename="run-${safeFileNamePart(runId)}.csv"`);
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('X-Content-Type-Options', 'nosniff');

    async function* rows(): AsyncGenerator<unknown[]> {
      try {
        let next = first;
        while (!next.done) {
          yield toRow(next.value, metrics);
          next = await records.next();
        }
      } finally {
        // Client went away or the stream failed: release the cursor.
        await records.return?.();
      }
    }

    const stringifier = stringify({
      header: true,
      columns: header,
      record_delimiter: 'windows',
      // With CRLF as the record delimiter, csv-stringify would leave a field holding a lone LF
      // (multi-line reasoning) unquoted, splitting the row in many readers: quote any line break.
      quoted_match: /[\r\n]/,
      escape_formulas: true,
      bom: bom === '1' || bom === 'true',
    });
    try {
      await pipeline(Readable.from(rows(), { objectMode: true, highWaterMark: 64 }), stringifier, res);
    } catch (error) {
      if (isClientAbort(error)) {
        this.logger.debug({ runId }, 'csv export aborted by the client');
        return;
      }
      // Headers are gone: the only honest signal left is to cut the response short.
      this.logger.error({ method: 'GET', url: `/runs/${runId}/export.csv`, error: describeError(error) }, 'csv export failed mid-stream');
      res.destroy(error instanceof Error ? error : undefined);
    }
  }
}

type RunMetricRef = RunView['metrics'][number];

export function toRow(record: RecordView, metrics: readonly RunMetricRef[]): unknown[] {
  const row: unknown[] = [record.id, record.testcaseId ?? null, jsonCell(record.inputs), jsonCell(record.outputs), jsonCell(record.expected)];
  for (const metric of metrics) {
    const score = pickScore(record.scores, metric);
    const human = metric.evalType === 'HUMAN';
    if (!score) {
      row.push(null, null, null, ...(human ? [null] : []));
      continue;
    }
    row.push(
      score.value ?? null,
      score.passed === null || score.passed === undefined ? null : String(score.passed),
      score.reasoning ?? (score.error ? `error ${score.error.code}: ${score.error.reason}` : null),
      ...(human ? [score.scoredBy ?? null] : []),
    );
  }
  return row;
}

/**
 * The record's score for the run's current version of the metric (rm_runs.metrics: after a
 * re-score, the new version). While that version is not scored yet (the re-score is pending), the
 * newest version scored: the last of the metric's scores in `run.records.scores` (GraphQL lists every
 * version, oldest first), never an older one than that.
 */
function pickScore(scores: readonly ScoreView[], metric: RunMetricRef): ScoreView | undefined {
  let newest: ScoreView | undefined;
  for (const score of scores) {
    if (score.metricId !== metric.id) continue;
    if (score.metricVersion === metric.version) return score;
    if (!newest || score.metricVersion > newest.metricVersion) newest = score;
  }
  return newest;
}

/** JSON text of a value; numbers stay numbers (same text, and never formula-escaped); null or absent → empty cell. */
function jsonCell(value: unknown): string | number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  return JSON.stringify(value) ?? null;
}

function safeFileNamePart(id: string): string {
  return id.replace(/[^A-Za-z0-9._-]/g, '_');
}

function isClientAbort(error: unknown): boolean {
  const code = (error as { code?: string } | null)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE';
}
