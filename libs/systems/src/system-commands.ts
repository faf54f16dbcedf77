import { randomUUID } from 'node:crypto';
import { AssayError, assertValidEventData, DomainEvent } from '@assay/contracts';
import {
  projectStreamId,
  SystemCommand,
  systemDecider,
  SystemEvent,
  systemNameKey,
  systemNameStreamId,
  SystemState,
  systemStreamId,
  versionForConfig,
} from '@assay/domain';
import { NewEvent, PostgresEventStore, VersionConflictError } from '@assay/event-store';
import type { SystemQueries } from './system-read-models';
import type { CreateSystemInput, CreateSystemVersionInput, SystemCommandsApi, SystemVersionView, SystemView } from './types';

const CONFLICT_RETRIES = 10;

/** The command side of systems: one stream per system (its immutable versions and production pointer). */
export class SystemCommands implements SystemCommandsApi {
  constructor(
    private readonly store: PostgresEventStore,
    private readonly queries: SystemQueries,
    private readonly options: { projectionTimeoutMs?: number } = {},
  ) {}

  /** The name is reserved in the same transaction: of two systems with one name in a project, one is created. */
  async createSystem(input: CreateSystemInput): Promise<SystemView> {
    const projectEvents = await this.store.readStream(projectStreamId(input.projectId));
    if (projectEvents.length === 0) throw new AssayError('PROJECT_NOT_FOUND', `Project ${input.projectId} not found.`);
    const systemId = randomUUID();
    const events = systemDecider.decide({ type: 'CreateSystem', systemId, ...input }, systemDecider.initialState());
    const name = (events[0].data as { name: string }).name;
    const nameStream = systemNameStreamId(input.projectId, name);
    try {
      await this.store.append([
        { streamId: systemStreamId(systemId), expectedVersion: 'no_stream', events: toNewEvents(events) },
        { streamId: nameStream, expectedVersion: 'no_stream', events: toNewEvents([{ type: 'SystemNameReserved', data: { projectId: input.projectId, name: systemNameKey(name), systemId } }]) },
      ]);
    } catch (error) {
      if (error instanceof VersionConflictError && error.streamId === nameStream) {
        throw new AssayError('SYSTEM_NAME_TAKEN', `Project ${input.projectId} already has a system named "${name}" (names are compared without case): choose another name, or add a version to that system.`, {
          name,
        });
      }
      throw error;
    }
    return this.waitForSystem(systemId, 1);
  }

  async createSystemVersion(input: CreateSystemVersionInput): Promise<SystemVersionView> {
    const versionId = randomUUID();
    const { state, version } = await this.decideAndAppend(input.systemId, { type: 'CreateSystemVersion', systemId: input.systemId, versionId, name: input.name, config: input.config });
    const resolved = versionForConfig(state, input.config);
    if (!resolved) throw new AssayError('INTERNAL', 'The system version was not created.');
    await this.waitForSystem(input.systemId, version);
    const view = await this.queries.getSystemVersion(resolved.versionId);
    if (!view) throw new AssayError('UNAVAILABLE', `System version ${resolved.versionId} was saved but is not visible yet. Query it again shortly.`);
    return view;
  }

  async setProductionVersion(systemId: string, versionId: string): Promise<SystemView> {
    const { version } = await this.decideAndAppend(systemId, { type: 'SetProductionVersion', systemId, versionId });
    return this.waitForSystem(systemId, version);
  }

  /** Decides on the current stream and appends with the version read; a concurrent writer makes it read and decide again. */
  private async decideAndAppend(systemId: string, command: SystemCommand): Promise<{ state: SystemState; version: number }> {
    const streamId = systemStreamId(systemId);
    for (let attempt = 1; ; attempt++) {
      const stored = await this.store.readStream(streamId);
      let state = systemDecider.initialState();
      for (const event of stored) state = systemDecider.evolve(state, { type: event.type, data: event.data } as SystemEvent);
      const version = stored.at(-1)?.streamPosition ?? 0;
      const events = systemDecider.decide(command, state);
      if (events.length === 0) return { state, version };
      try {
        const result = await this.store.append([{ streamId, expectedVersion: version, events: toNewEvents(events) }]);
        for (const event of events) state = systemDecider.evolve(state, event);
        return { state, version: result.streamVersions.get(streamId)! };
      } catch (error) {
        if (!(error instanceof VersionConflictError) || attempt >= CONFLICT_RETRIES) throw error;
      }
    }
  }

  private async waitForSystem(systemId: string, version: number): Promise<SystemView> {
    const deadline = Date.now() + (this.options.projectionTimeoutMs ?? 10_000);
    for (let delay = 2; ; delay = Math.min(delay * 2, 50)) {
      if ((await this.queries.systemStreamVersion(systemId)) >= version) {
        const view = await this.queries.getSystem(systemId);
        if (view) return view;
      }
      if (Date.now() > deadline) {
        throw new AssayError('UNAVAILABLE', `System ${systemId} was saved but is not visible yet: the runs service may be down or behind. Query it again shortly.`);
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }
}

function toNewEvents(events: readonly DomainEvent[]): NewEvent[] {
  return events.map((event) => {
    assertValidEventData(event.type, event.data);
    return { type: event.type, data: event.data };
  });
}
