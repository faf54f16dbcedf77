import { createHash } from 'node:crypto';
import { AssayError, ProductionVersionSet, SystemCreated, SystemVersionCreated } from '@assay/contracts';
import type { Decider } from '../decider/decider';
import { canonicalJson } from '../testset/canonical-json';
import { assertValidSystemConfig } from './prompt-config';

export const systemStreamId = (systemId: string) => `system-${systemId}`;

/** How names compare for uniqueness: trimmed, Unicode-normalised (NFC), case-insensitive. */
export function systemNameKey(name: string): string {
  return name.trim().normalize('NFC').toLowerCase();
}

/**
 * The stream that reserves a system name in a project. Creating a system appends to it with
 * expectedVersion 'no_stream' in the same transaction as SystemCreated, so of two systems with
 * one name exactly one is created, whatever the number of gateways.
 */
export const systemNameStreamId = (projectId: string, name: string) =>
  `system-name-${projectId}-${createHash('sha256').update(systemNameKey(name)).digest('hex')}`;

export interface CreateSystem {
  readonly type: 'CreateSystem';
  readonly systemId: string;
  readonly projectId: string;
  readonly name: string;
  readonly description?: string | null;
}

export interface CreateSystemVersion {
  readonly type: 'CreateSystemVersion';
  readonly systemId: string;
  /** The id the version gets if it is new. */
  readonly versionId: string;
  /** Absent: "v<n>". */
  readonly name?: string | null;
  readonly config: unknown;
}

export interface SetProductionVersion {
  readonly type: 'SetProductionVersion';
  readonly systemId: string;
  readonly versionId: string;
}

export type SystemCommand = CreateSystem | CreateSystemVersion | SetProductionVersion;
export type SystemEvent = SystemCreated | SystemVersionCreated | ProductionVersionSet;

export interface SystemVersionState {
  readonly versionId: string;
  readonly name: string;
  readonly configHash: string;
}

export type SystemState =
  | { readonly exists: false }
  | {
      readonly exists: true;
      readonly systemId: string;
      readonly projectId: string;
      readonly name: string;
      readonly versions: readonly SystemVersionState[];
      readonly productionVersionId: string | null;
    };

const MAX_NAME = 200;

export function checkSystemName(name: string | null | undefined, what = 'A system'): string {
  const trimmed = (name ?? '').trim();
  if (!trimmed) throw new AssayError('BAD_USER_INPUT', `${what} needs a name.`);
  if (trimmed.length > MAX_NAME) throw new AssayError('BAD_USER_INPUT', `${what} name is limited to ${MAX_NAME} characters.`);
  return trimmed;
}

/** The canonical JSON of a config, hashed: versions with equal configs have equal hashes. */
export function configHash(config: unknown): string {
  return createHash('sha256').update(canonicalJson(config)).digest('hex');
}

/** The version a CreateSystemVersion resolves to: an existing one with the same config, or the new one. */
export function versionForConfig(state: SystemState, config: unknown): SystemVersionState | undefined {
  if (!state.exists) return undefined;
  const hash = configHash(config);
  return state.versions.find((v) => v.configHash === hash);
}

export const systemDecider: Decider<SystemCommand, SystemState, SystemEvent> = {
  initialState: () => ({ exists: false }),

  decide(command, state) {
    switch (command.type) {
      case 'CreateSystem': {
        if (state.exists) throw new AssayError('BAD_USER_INPUT', `System ${command.systemId} already exists.`);
        const description = command.description ?? '';
        if (description.length > 10_000) throw new AssayError('BAD_USER_INPUT', 'A description is limited to 10000 characters.');
        return [
          { type: 'SystemCreated', data: { systemId: command.systemId, projectId: command.projectId, name: checkSystemName(command.name), description } },
        ];
      }
      case 'CreateSystemVersion': {
        if (!state.exists) throw new AssayError('SYSTEM_NOT_FOUND', `System ${command.systemId} not found.`);
        assertValidSystemConfig(command.config);
        // Versions are immutable, and one config is one version: the same config again is that version.
        if (versionForConfig(state, command.config)) return [];
        const taken = new Set(state.versions.map((v) => v.name));
        let name: string;
        if (command.name === undefined || command.name === null) {
          let n = state.versions.length + 1;
          while (taken.has(`v${n}`)) n++;
          name = `v${n}`;
        } else {
          name = checkSystemName(command.name, 'A system version');
          if (taken.has(name)) {
            throw new AssayError(
              'SYSTEM_VERSION_NAME_TAKEN',
              `System ${command.systemId} already has a version named "${name}" with another config: versions are immutable, so give the new config another name.`,
              { name },
            );
          }
        }
        return [
          {
            type: 'SystemVersionCreated',
            data: { systemId: command.systemId, versionId: command.versionId, name, config: command.config, configHash: configHash(command.config) },
          },
        ];
      }
      case 'SetProductionVersion': {
        if (!state.exists) throw new AssayError('SYSTEM_NOT_FOUND', `System ${command.systemId} not found.`);
        if (!state.versions.some((v) => v.versionId === command.versionId)) {
          throw new AssayError('SYSTEM_VERSION_NOT_FOUND', `Version ${command.versionId} not found in system ${command.systemId}.`);
        }
        if (state.productionVersionId === command.versionId) return [];
        return [{ type: 'ProductionVersionSet', data: { systemId: command.systemId, versionId: command.versionId } }];
      }
    }
  },

  evolve(state, event) {
    switch (event.type) {
      case 'SystemCreated':
        return { exists: true, systemId: event.data.systemId, projectId: event.data.projectId, name: event.data.name, versions: [], productionVersionId: null };
      case 'SystemVersionCreated':
        if (!state.exists) return state;
        return { ...state, versions: [...state.versions, { versionId: event.data.versionId, name: event.data.name, configHash: event.data.configHash }] };
      case 'ProductionVersionSet':
        return state.exists ? { ...state, productionVersionId: event.data.versionId } : state;
    }
  },
};
