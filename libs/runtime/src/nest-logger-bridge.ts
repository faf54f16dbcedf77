import type { LoggerService } from '@nestjs/common';

/** The part of a pino-compatible logger the bridge needs. */
export interface JsonLogger {
  debug(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/**
 * Routes Nest's own logging into the process's JSON logger. Nest's bootstrap chatter (module
 * initialised, route mapped…) is per-start noise: it goes to debug; warnings and errors stay.
 */
export class NestLoggerBridge implements LoggerService {
  constructor(private readonly logger: JsonLogger) {}

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
