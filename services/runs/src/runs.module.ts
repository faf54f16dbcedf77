import { startAccessProjections } from '@assay/access';
import type { EventBus } from '@assay/bus';
import type { Database } from '@assay/database';
import type { LogProcessor, PostgresEventStore } from '@assay/event-store';
import { startRunProjections } from '@assay/runs';
import { DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap, BeforeApplicationShutdown } from '@nestjs/common';
import pino from 'pino';
import { startSystemProjections } from '@assay/systems';
import { startTestsetProjections } from '@assay/testsets';

export interface RunsModuleOptions {
  readonly db: Database;
  readonly store: PostgresEventStore;
  /** Live status goes out through `broadcast`. */
  readonly bus: Pick<EventBus, 'broadcast'>;
  /**
   * Starts the relay from the global log to the bus (service mode). The in-process bus reads the
   * log itself, so the embedded process passes none.
   */
  readonly startRelay?: () => LogProcessor;
  /** Sweeps for records left unscored (service mode: republishes them to JetStream). */
  readonly startReconciler?: () => { stop(): Promise<void> };
  /** Whether this process projects the read models (default true; a relay-only process does not). */
  readonly project?: boolean;
}

export const RUNS_OPTIONS = Symbol('RUNS_OPTIONS');

/**
 * The runs service's background work: projecting the read models (and broadcasting run updates)
 * and relaying stored events to JetStream. Both follow the global log from durable checkpoints
 * under a per-name advisory lock, so replicas of this service are hot standbys, never duplicates.
 */
@Injectable()
export class RunsProcessors implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = pino({ name: 'runs', level: process.env.LOG_LEVEL ?? 'info' });
  private running: { stop(): Promise<void> }[] = [];

  constructor(@Inject(RUNS_OPTIONS) private readonly options: RunsModuleOptions) {}

  onApplicationBootstrap(): void {
    const { db, store, bus, startRelay, startReconciler, project = true } = this.options;
    if (project) {
      this.running.push(startRunProjections({ db, store, bus }));
      this.running.push(startAccessProjections({ db, store }));
      this.running.push(startTestsetProjections({ db, store }), startSystemProjections({ db, store }));
    }
    if (startRelay) this.running.push(startRelay());
    if (startReconciler) this.running.push(startReconciler());
    this.logger.info({ projections: project, relay: Boolean(startRelay), reconciler: Boolean(startReconciler) }, 'runs service following the event log');
  }

  async beforeApplicationShutdown(): Promise<void> {
    const running = this.running;
    this.running = [];
    await Promise.all(running.map((processor) => processor.stop()));
    this.logger.info('runs service stopped');
  }
}

@Module({})
export class RunsModule {
  static forRoot(options: RunsModuleOptions): DynamicModule {
    return { module: RunsModule, providers: [{ provide: RUNS_OPTIONS, useValue: options }, RunsProcessors] };
  }
}
