import type { LoggerService } from '@nestjs/common';
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

/**
 * Routes Nest's own logging into the gateway logger. Nest's bootstrap chatter (module
 * initialised, route mapped…) is per-start noise: it goes to debug; warnings and errors stay.
 */
export class NestLoggerBridge implements LoggerService {
  constructor(private readonly logger: GatewayLogger) {}

  log(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  error(message: unknown, ...rest: unknown[]): void {
    const [stackOrContext, context] = rest;
    this.logger.error(
      { context: context ?? stackOrContext, stack: context ? stackOrContext : undefined, err: message instanceof Error ? message : undefined },
      message instanceof Error ? message.message : String(message),
    );
  }
}
