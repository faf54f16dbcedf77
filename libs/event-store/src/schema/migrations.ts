import type { MigrationObject } from '@assay/database';
import { Migration20261125EventStore } from './001-create-event-store';
import { Migration20261125ReadPlans } from './002-read-plans';
import { Migration20261125SparseTypes } from './003-sparse-types';

/**
 * The event store's migrations, in order. Pass them to `Database.connect` (concatenated with
 * other libraries'). Names are recorded once applied: never rename or reorder them.
 */
export const eventStoreMigrations: readonly MigrationObject[] = [
  { name: 'Migration20261125EventStore', class: Migration20261125EventStore },
  { name: 'Migration20261125ReadPlans', class: Migration20261125ReadPlans },
  { name: 'Migration20261125SparseTypes', class: Migration20261125SparseTypes },
];
