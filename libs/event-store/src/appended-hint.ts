/**
 * The wake-up hint sent on every append (NOTIFY assay_events) names the event types appended, so a
 * reader of other types stays asleep: on a busy log most appends are records and scores, and a
 * read model of API keys would otherwise run a round (a transaction, three statements) for each.
 *
 * A hint is only ever a shortcut: readers still poll, and a hint that names nothing (an empty
 * payload: a reconnect, a held-back re-read, a list too long for NOTIFY) wakes everyone.
 */

/** NOTIFY payloads must stay under 8,000 bytes; a longer list is sent as "unknown" (wake all). */
const MAX_HINT_LENGTH = 4_000;

/** The NOTIFY payload for an append of these event types. */
export function appendedTypesHint(types: readonly string[]): string {
  const hint = [...new Set(types)].sort().join(',');
  return hint.length <= MAX_HINT_LENGTH ? hint : '';
}

/** The types a hint names, or undefined when it names none (so it may concern anyone). */
export function parseAppendedHint(payload: string): ReadonlySet<string> | undefined {
  return payload ? new Set(payload.split(',')) : undefined;
}

/** True when a reader of `readerTypes` (undefined: every type) should wake for this hint. */
export function hintConcerns(appended: ReadonlySet<string> | undefined, readerTypes: readonly string[] | undefined): boolean {
  if (!appended || !readerTypes) return true;
  return readerTypes.some((type) => appended.has(type));
}
