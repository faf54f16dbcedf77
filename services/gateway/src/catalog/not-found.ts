import { AssayError } from '@assay/contracts';

/** The same error for a missing testset and for one of another project (only the id differs). */
export const testsetNotFound = (testsetId: string) =>
  new AssayError('TESTSET_NOT_FOUND', `Testset "${testsetId}" does not exist: check the testset id (createTestset returns it).`, { testsetId });

export const systemNotFound = (systemId: string) =>
  new AssayError('SYSTEM_NOT_FOUND', `System "${systemId}" does not exist: check the system id (createSystem returns it).`, { systemId });

export const catalogUnavailable = (what: string) =>
  new AssayError('UNAVAILABLE', `${what} are not available in this gateway: it was started without them.`);
