import type { AccessApi } from '@assay/access';
import type { EventBus } from '@assay/bus';
import type { ExecutionApi } from '@assay/execution';
import type { HistoryApi } from '@assay/history';
import type { RunCommandsApi, RunQueriesApi } from '@assay/runs';
import type { ReviewApi } from '@assay/runs';
import type { SystemsApi } from '@assay/systems';
import type { TestsetsApi } from '@assay/testsets';
import type { GatewayLogger } from './logger';

/** What the gateway needs from the rest of the system. Same shape in service mode and in the embedded process. */
export interface GatewayDeps {
  readonly commands: RunCommandsApi;
  readonly queries: RunQueriesApi;
  /** API keys: authenticates every call (see auth/api-key-auth.ts) and manages keys. */
  readonly access: AccessApi;
  /** Testsets, testcases, imports and exports (absent: those operations answer UNAVAILABLE). */
  readonly testsets?: TestsetsApi;
  /** Systems and system versions (absent: those operations answer UNAVAILABLE). */
  readonly systems?: SystemsApi;
  /** Run history and comparison (absent: those operations answer UNAVAILABLE). */
  readonly history?: HistoryApi;
  /** kickoffRun, runAgain and the playground (absent: those operations answer UNAVAILABLE). */
  readonly execution?: ExecutionApi;
  /** Human review: submitScore and the review queue (absent: those operations answer UNAVAILABLE). */
  readonly review?: ReviewApi;
  /** Only `onBroadcast` is used: live run updates. */
  readonly bus: Pick<EventBus, 'onBroadcast'>;
  /** Backs GET /readyz: true when the dependencies (database, bus) are reachable. Default: always ready. */
  readonly readiness?: () => Promise<boolean>;
  /** JSON-lines logger (pino-compatible). Default: pino on stdout, level from LOG_LEVEL (info). */
  readonly logger?: GatewayLogger;
}

export const GATEWAY_DEPS = Symbol('GATEWAY_DEPS');
export const GATEWAY_LOGGER = Symbol('GATEWAY_LOGGER');
