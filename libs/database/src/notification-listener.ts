import { Client, ClientConfig, Notification } from 'pg';

export type NotificationHandler = (payload: string) => void;

export interface NotificationListenerOptions {
  readonly clientConfig: ClientConfig;
  /** Called with each connection failure; the listener keeps retrying regardless. */
  readonly onError?: (error: unknown) => void;
}

const MIN_RECONNECT_DELAY_MS = 100;
const MAX_RECONNECT_DELAY_MS = 5_000;

/**
 * LISTEN on one dedicated connection. A pooled connection cannot do this: LISTEN belongs to a
 * session, and the pool hands sessions to whoever asks next.
 *
 * When the connection drops (server restart, `pg_terminate_backend`, network), it reconnects with
 * a growing delay and LISTENs again. Notifications sent while it was away are lost, so after a
 * reconnect every handler is called once with an empty payload: handlers treat notifications as
 * "go and look" hints, and this tells them to look.
 */
export class NotificationListener {
  private readonly handlers = new Map<string, Set<NotificationHandler>>();
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private reconnectDelay = MIN_RECONNECT_DELAY_MS;
  private closed = false;

  constructor(private readonly options: NotificationListenerOptions) {}

  /** Resolves once LISTEN is active for `channel`; rejects if the first connection fails. */
  async listen(channel: string, handler: NotificationHandler): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('NotificationListener is closed');
    let set = this.handlers.get(channel);
    const first = !set;
    if (!set) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    try {
      const client = await this.connect();
      if (first) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      set.delete(handler);
      if (set.size === 0) this.handlers.delete(channel);
      throw error;
    }
    return () => this.unlisten(channel, handler);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.handlers.clear();
    const client = this.client ?? (await this.connecting?.catch(() => undefined));
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async unlisten(channel: string, handler: NotificationHandler): Promise<void> {
    const set = this.handlers.get(channel);
    if (!set?.delete(handler) || set.size > 0) return;
    this.handlers.delete(channel);
    // If the connection is down, the reconnect will simply not LISTEN to this channel again.
    await this.client?.query(`UNLISTEN ${this.client.escapeIdentifier(channel)}`).catch(() => undefined);
  }

  private connect(): Promise<Client> {
    if (this.client) return Promise.resolve(this.client);
    this.connecting ??= this.openClient().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  private async openClient(): Promise<Client> {
    const client = new Client({ ...this.options.clientConfig, keepAlive: true });
    // Without an 'error' listener a dropped connection would crash the process.
    client.on('error', (error) => this.dropped(client, error));
    client.on('end', () => this.dropped(client, new Error('LISTEN connection ended')));
    client.on('notification', (message: Notification) => this.dispatch(message.channel, message.payload ?? ''));
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${client.escapeIdentifier(channel)}`);
    } catch (error) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      throw new Error('NotificationListener is closed');
    }
    this.client = client;
    this.reconnectDelay = MIN_RECONNECT_DELAY_MS;
    return client;
  }

  private dropped(client: Client, error: unknown): void {
    if (this.client !== client) return; // an old client, or one that never finished connecting
    this.client = undefined;
    client.removeAllListeners('notification');
    client.end().catch(() => undefined);
    if (this.closed) return;
    this.options.onError?.(error);
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(this.reconnectDelay * 2, MAX_RECONNECT_DELAY_MS);
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.closed || this.handlers.size === 0) return;
      this.connect().then(
        () => {
          // Anything sent while we were away is lost: tell every handler to go and look.
          for (const channel of this.handlers.keys()) this.dispatch(channel, '');
        },
        (error) => {
          this.options.onError?.(error);
          this.scheduleReconnect();
        },
      );
    }, delay);
    this.reconnectTimer.unref();
  }

  private dispatch(channel: string, payload: string): void {
    for (const handler of [...(this.handlers.get(channel) ?? [])]) {
      try {
        handler(payload);
      } catch (error) {
        this.options.onError?.(error);
      }
    }
  }
}
