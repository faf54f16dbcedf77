import pino from 'pino';

/** The slice of a pino logger the gateway uses: JSON lines, object first, message second. */
export interface GatewayLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

export function createDefaultLogger(): GatewayLogger {
  return pino({ name: 'gateway', level: process.env.LOG_LEVEL ?? 'info' });
}
