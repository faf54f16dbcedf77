import { createServer, Server } from 'node:http';

/**
 * /healthz (the process answers) and /readyz (its dependencies answer) for processes without
 * an HTTP API of their own, so orchestrators can probe every service the same way.
 */
export function startHealthServer(port: number, ready: () => Promise<boolean>): Promise<Server> {
  const server = createServer((req, res) => {
    const send = (status: number, body: object) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/healthz') return send(200, { status: 'ok' });
    if (req.url === '/readyz') {
      return void ready().then(
        (ok) => send(ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable' }),
        () => send(503, { status: 'unavailable' }),
      );
    }
    send(404, { error: { code: 'NOT_FOUND', message: 'Try /healthz or /readyz.' } });
  });
  // A port already in use rejects (listenOn turns it into PORT_IN_USE) instead of an uncaught 'error' event.
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
