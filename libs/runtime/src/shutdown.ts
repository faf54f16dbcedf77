/**
 * Runs `stop` once on SIGINT, SIGTERM or SIGHUP (the terminal closed), then exits. A second
 * signal exits at once, for an operator who does not want to wait for in-flight work.
 */
export function onShutdownSignal(stop: () => Promise<void>, log: (msg: string, extra?: object) => void): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => {
    if (stopping) process.exit(1);
    stopping = true;
    log('shutting down', { signal });
    stop().then(
      () => process.exit(0),
      (error) => {
        log('shutdown failed', { error: String(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  process.on('SIGHUP', handler);
}
