import { AssayError, isEventType, RELAYED_EVENT_TYPES } from '@assay/contracts';
import { namesSetting } from '@assay/runtime';

export interface RelaySelection {
  /** The types to publish; undefined: every type (`all`). */
  readonly types: readonly string[] | undefined;
  /** Types some JetStream consumer of Assay reads that the setting leaves out: their workers get nothing. */
  readonly missingConsumed: readonly string[];
}

/**
 * ASSAY_RELAY_EVENT_TYPES: comma-separated event types to publish to JetStream, or `all`. Default:
 * the types Assay's own JetStream consumers read (RELAYED_EVENT_TYPES); publishing the rest would
 * cost a publish and a stored message per score for no reader. A name that is no event type is
 * refused at start: a typo would otherwise starve a worker without a word.
 */
export function relayEventTypes(env: NodeJS.ProcessEnv): RelaySelection {
  if ((env.ASSAY_RELAY_EVENT_TYPES ?? '').trim() === 'all') return { types: undefined, missingConsumed: [] };
  const named = namesSetting(env, 'ASSAY_RELAY_EVENT_TYPES');
  if (named.length === 0) return { types: RELAYED_EVENT_TYPES, missingConsumed: [] };
  const unknown = named.filter((type) => !isEventType(type));
  if (unknown.length > 0) {
    throw new AssayError(
      'BAD_USER_INPUT',
      `ASSAY_RELAY_EVENT_TYPES names no such event type: ${unknown.join(', ')}. Use event type names (${RELAYED_EVENT_TYPES.join(', ')} are the ones Assay's workers read), or "all".`,
    );
  }
  return { types: named, missingConsumed: RELAYED_EVENT_TYPES.filter((type) => !named.includes(type)) };
}
