import type { BusLogger } from '../util/logger';

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly message: string;
  readonly fields: object;
}

/** Keeps log lines for assertions; prints warnings and errors only when BUS_TEST_LOGS is set. */
export class MemoryLogger implements BusLogger {
  readonly lines: LogLine[] = [];

  debug(fields: object, message: string): void {
    this.add('debug', fields, message);
  }
  info(fields: object, message: string): void {
    this.add('info', fields, message);
  }
  warn(fields: object, message: string): void {
    this.add('warn', fields, message);
  }
  error(fields: object, message: string): void {
    this.add('error', fields, message);
  }

  has(message: string): boolean {
    return this.lines.some((line) => line.message.includes(message));
  }

  private add(level: LogLine['level'], fields: object, message: string): void {
    this.lines.push({ level, message, fields });
    if (process.env.BUS_TEST_LOGS) process.stderr.write(`${JSON.stringify({ level, message, ...fields })}\n`);
  }
}
