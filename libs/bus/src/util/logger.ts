import pino from 'pino';

/**
 * What the bus logs through: structured JSON lines. A pino logger satisfies it, so a service can pass
 * its own (with its bindings); by default the bus writes JSON lines to stderr.
 */
export interface BusLogger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** JSON lines on stderr, level from ASSAY_LOG_LEVEL (default info). Synchronous so a crash loses no line. */
export function defaultBusLogger(): BusLogger {
  return pino(
    { name: 'assay-bus', level: process.env.ASSAY_LOG_LEVEL ?? 'info' },
    pino.destination({ dest: 2, sync: true }),
  );
}

/** The error as loggable fields: message, name and, if there is one, a code. */
export function errorFields(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { err: { name: error.name, message: error.message, ...(code === undefined ? {} : { code }) } };
  }
  return { err: { message: String(error) } };
}
