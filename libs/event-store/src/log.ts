/**
 * One JSON line per event on stderr: enough for a log shipper, without making every library
 * take a logger. Errors are flattened to message, code and stack.
 */
export function logLine(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  const line: Record<string, unknown> = { level, time: new Date().toISOString(), lib: '@assay/event-store', msg };
  for (const [key, value] of Object.entries(fields)) line[key] = value instanceof Error ? describeError(value) : value;
  process.stderr.write(`${JSON.stringify(line)}\n`);
}

function describeError(error: Error): Record<string, unknown> {
  return { name: error.name, message: error.message, code: (error as { code?: unknown }).code, stack: error.stack };
}
