import { Migration } from '@mikro-orm/migrations';
import type { EventData } from '@assay/contracts';
import type { Database, Sql } from '@assay/database';
import { LogProcessor, PostgresEventStore, startLogProcessor, StoredEvent } from '@assay/event-store';
import type { SystemQueriesApi, SystemVersionView, SystemView } from './types';

/** Read models of systems, projected by the `systems-read-models` processor (runs service). Disposable. */
export class Migration20261126Systems extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table rm_systems (
        id                     text primary key,
        project_id             text not null,
        name                   text not null,
        description            text not null,
        production_version_id  text,
        stream_version         int not null,   -- system stream version reflected (read-your-writes)
        created_at             timestamptz not null,
        updated_at             timestamptz not null
      );
      create index rm_systems_project on rm_systems (project_id, created_at, id);

      create table rm_system_versions (
        id           text primary key,
        system_id    text not null,
        project_id   text not null,
        number       int not null,             -- 1 for the system's first version
        name         text not null,
        config       jsonb not null,
        config_hash  text not null,
        created_at   timestamptz not null
      );
      create unique index rm_system_versions_system on rm_system_versions (system_id, number);
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists rm_system_versions, rm_systems;');
  }
}

export const systemMigrations = [{ name: 'Migration20261126Systems', class: Migration20261126Systems }];

export const SYSTEMS_PROCESSOR = 'systems-read-models';
export const SYSTEM_EVENT_TYPES = ['SystemCreated', 'SystemVersionCreated', 'ProductionVersionSet'] as const;

/** Applies system events in log order (systems change rarely: one statement per event). Idempotent per event. */
export async function projectSystems(events: readonly StoredEvent[], tx: Sql): Promise<void> {
  for (const event of events) {
    switch (event.type) {
      case 'SystemCreated': {
        const d = event.data as EventData<'SystemCreated'>;
        await tx.query(
          `insert into rm_systems (id, project_id, name, description, stream_version, created_at, updated_at)
           values ($1, $2, $3, $4, $5, $6, $6) on conflict do nothing`,
          [d.systemId, d.projectId, d.name, d.description, event.streamPosition, event.createdAt],
        );
        break;
      }
      case 'SystemVersionCreated': {
        const d = event.data as EventData<'SystemVersionCreated'>;
        await tx.query(
          `insert into rm_system_versions (id, system_id, project_id, number, name, config, config_hash, created_at)
           select $1, s.id, s.project_id, (select count(*) + 1 from rm_system_versions v where v.system_id = s.id), $3, $4, $5, $6
           from rm_systems s where s.id = $2
           on conflict do nothing`,
          [d.versionId, d.systemId, d.name, JSON.stringify(d.config), d.configHash, event.createdAt],
        );
        await touch(tx, d.systemId, event);
        break;
      }
      case 'ProductionVersionSet': {
        const d = event.data as EventData<'ProductionVersionSet'>;
        await tx.query('update rm_systems set production_version_id = $2 where id = $1', [d.systemId, d.versionId]);
        await touch(tx, d.systemId, event);
        break;
      }
    }
  }
}

function touch(tx: Sql, systemId: string, event: StoredEvent) {
  return tx.query('update rm_systems set stream_version = greatest(stream_version, $2), updated_at = $3 where id = $1', [systemId, event.streamPosition, event.createdAt]);
}

export function startSystemProjections(options: { store: PostgresEventStore; db: Database; pollIntervalMs?: number }): LogProcessor {
  return startLogProcessor(options.store, options.db, {
    name: SYSTEMS_PROCESSOR,
    types: SYSTEM_EVENT_TYPES,
    batchSize: 500,
    pollIntervalMs: options.pollIntervalMs ?? 500,
    handle: (events, tx) => projectSystems(events, tx),
  });
}

interface SystemRow {
  id: string;
  project_id: string;
  name: string;
  description: string;
  production_version_id: string | null;
  stream_version: number;
  created_at: Date;
  updated_at: Date;
}

interface VersionRow {
  id: string;
  system_id: string;
  project_id: string;
  number: number;
  name: string;
  config: unknown;
  created_at: Date;
}

const SYSTEM_COLUMNS = 'id, project_id, name, description, production_version_id, stream_version, created_at, updated_at';
const VERSION_COLUMNS = 'id, system_id, project_id, number, name, config, created_at';

export class SystemQueries implements SystemQueriesApi {
  constructor(private readonly sql: Sql) {}

  async getSystem(id: string): Promise<SystemView | null> {
    const [row] = await this.sql.query<SystemRow>(`select ${SYSTEM_COLUMNS} from rm_systems where id = $1`, [id]);
    return row ? toSystemView(row) : null;
  }

  async systemStreamVersion(id: string): Promise<number> {
    const [row] = await this.sql.query<{ stream_version: number }>('select stream_version from rm_systems where id = $1', [id]);
    return row?.stream_version ?? 0;
  }

  async listSystems(projectId: string): Promise<SystemView[]> {
    const rows = await this.sql.query<SystemRow>(`select ${SYSTEM_COLUMNS} from rm_systems where project_id = $1 order by created_at, id`, [projectId]);
    return rows.map(toSystemView);
  }

  async getSystemVersion(id: string): Promise<SystemVersionView | null> {
    const [row] = await this.sql.query<VersionRow>(`select ${VERSION_COLUMNS} from rm_system_versions where id = $1`, [id]);
    return row ? toVersionView(row) : null;
  }

  async listSystemVersions(systemId: string): Promise<SystemVersionView[]> {
    const rows = await this.sql.query<VersionRow>(`select ${VERSION_COLUMNS} from rm_system_versions where system_id = $1 order by number`, [systemId]);
    return rows.map(toVersionView);
  }
}

function toSystemView(row: SystemRow): SystemView {
  return {
    id: row.id,
    projectId: row.project_id,
    name: row.name,
    description: row.description,
    productionVersionId: row.production_version_id,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toVersionView(row: VersionRow): SystemVersionView {
  return { id: row.id, systemId: row.system_id, projectId: row.project_id, number: row.number, name: row.name, config: row.config, createdAt: new Date(row.created_at) };
}
