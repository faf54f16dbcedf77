/**
 * Why a process could not start, when the person starting it can do something about it: a
 * stable code (PORT_IN_USE, DATA_DIR_IN_USE…) and a message that says what to do next. The
 * fatal line prints no stack for these: the message is the whole story.
 */
export class StartupError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'StartupError';
  }
}

/** The fatal line a failed start-up writes (one JSON line): code and message as fields, the stack in one of its own. */
export function startupFailureLine(service: string, msg: string, error: unknown): Record<string, unknown> {
  const line: Record<string, unknown> = { level: 'fatal', time: new Date().toISOString(), service, msg };
  if (!(error instanceof Error)) return { ...line, code: 'STARTUP_FAILED', message: String(error) };
  // AggregateError (a host name that resolves to several addresses, none answering) has no message of its own.
  const inner = error instanceof AggregateError ? error.errors.filter((e): e is Error => e instanceof Error) : [];
  const code = errorCode(error) ?? inner.map(errorCode).find(Boolean) ?? 'STARTUP_FAILED';
  const message = error.message || inner.map((e) => e.message).join('; ') || error.name;
  const details = (error as { details?: unknown }).details;
  return {
    ...line,
    code,
    message,
    ...(details && typeof details === 'object' && Object.keys(details).length > 0 ? { details } : {}),
    ...(error instanceof StartupError ? {} : { stack: error.stack }),
  };
}

/**
 * The `main().catch` of every process: writes one fatal JSON line to stderr and exits 1. `cleanup`
 * (optional, awaited at most 10 s, its errors ignored) releases what must not outlive the process,
 * e.g. the embedded PostgreSQL holding the data folder.
 */
export function exitOnStartupFailure(service: string, msg: string, cleanup?: () => Promise<unknown>): (error: unknown) => Promise<never> {
  return async (error) => {
    process.stderr.write(`${JSON.stringify(startupFailureLine(service, msg, error))}\n`);
    if (cleanup) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([cleanup().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, 10_000)))]);
      clearTimeout(timer);
    }
    return process.exit(1);
  };
}

function errorCode(error: Error): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && code ? code : undefined;
}
