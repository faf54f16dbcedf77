import { createServer } from 'node:net';
import { StartupError } from './startup-failure';

/**
 * Runs `listen` (a server binding `port`, which `setting` chose) and turns a port already in use
 * into PORT_IN_USE naming the setting, instead of EADDRINUSE with a stack.
 */
export async function listenOn<T>(setting: string, port: number, listen: () => Promise<T>): Promise<T> {
  try {
    return await listen();
  } catch (error) {
    if ((error as { code?: unknown })?.code === 'EADDRINUSE') throw portInUse(setting, port);
    throw error;
  }
}

/**
 * Fails with PORT_IN_USE if `port` cannot be bound now (binding it as a server given no host
 * does, then letting go): lets a process refuse a taken port before it connects to or starts
 * anything. Port 0 (any free port) always passes.
 */
export async function checkPortFree(setting: string, port: number): Promise<void> {
  if (port === 0) return;
  await listenOn(
    setting,
    port,
    () =>
      new Promise<void>((resolve, reject) => {
        const probe = createServer();
        probe.once('error', reject);
        probe.listen(port, () => probe.close(() => resolve()));
      }),
  );
}

export function portInUse(setting: string, port: number): StartupError {
  return new StartupError('PORT_IN_USE', `port ${port} is in use: stop what holds it or set ${setting} to another port`, { port, setting });
}
