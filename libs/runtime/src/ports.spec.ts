import { createServer, type Server } from 'node:net';
import { startHealthServer } from './health-server';
import { checkPortFree, listenOn } from './ports';

/** A server holding a port, as another program would. */
async function holdPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, resolve));
  return { port: (server.address() as { port: number }).port, server };
}

describe('a port already in use', () => {
  let held: { port: number; server: Server };
  beforeEach(async () => {
    held = await holdPort();
  });
  afterEach(() => new Promise((resolve) => held.server.close(resolve)));

  it('makes startHealthServer reject (it used to emit an uncaught error event and never settle)', async () => {
    await expect(startHealthServer(held.port, async () => true)).rejects.toMatchObject({ code: 'EADDRINUSE' });
  });

  it('becomes PORT_IN_USE naming the setting to change, through listenOn', async () => {
    await expect(listenOn('HEALTH_PORT', held.port, () => startHealthServer(held.port, async () => true))).rejects.toMatchObject({
      code: 'PORT_IN_USE',
      message: `port ${held.port} is in use: stop what holds it or set HEALTH_PORT to another port`,
    });
  });

  it('is refused by checkPortFree, before anything starts', async () => {
    await expect(checkPortFree('PORT', held.port)).rejects.toMatchObject({ code: 'PORT_IN_USE', message: expect.stringContaining('set PORT') });
  });
});

describe('a free port', () => {
  it('passes checkPortFree and is free again afterwards', async () => {
    const { port, server } = await holdPort();
    await new Promise((resolve) => server.close(resolve));
    await checkPortFree('PORT', port);
    const health = await listenOn('HEALTH_PORT', port, () => startHealthServer(port, async () => true));
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(await res.json()).toEqual({ status: 'ok' });
    await new Promise((resolve) => health.close(resolve));
  });

  it('leaves other listen errors as they are', async () => {
    const error = Object.assign(new Error('listen EACCES: permission denied 0.0.0.0:80'), { code: 'EACCES' });
    await expect(listenOn('PORT', 80, () => Promise.reject(error))).rejects.toBe(error);
  });
});
