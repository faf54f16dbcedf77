/**
 * What the bus logs through: structured lines. A pino logger satisfies it, so a service can pass its
 * own (with its bindings); by default the bus writes one JSON line per entry to stderr, in the same
 * shape as the other Assay libraries ({ level, time, lib, msg, ...fields }).
 */
export interface BusLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

type Level = 'debug' | 'info' | 'warn' | 'error';
const RANK: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** JSON lines on stderr at or above LOG_LEVEL (or ASSAY_LOG_LEVEL; default info). Written synchronously: a crash loses no line. */
export function defaultBusLogger(): BusLogger {
  const configured = (process.env.LOG_LEVEL ?? process.env.ASSAY_LOG_LEVEL ?? 'info') as Level;
  const threshold = RANK[configured] ?? RANK.info;
  const write = (level: Level) => (fields: object, msg: string) => {
    if (RANK[level] < threshold) return;
    process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), lib: '@assay/bus', msg, ...fields })}\n`);
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

/** The error as loggable fields: message, name and, if there is one, a code. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { err: { name: error.name, message: error.message, ...(code === undefined ? {} : { code }) } };
  }
  return { err: { message: String(error) } };
}
