import { AssayError } from '@assay/contracts';

/**
 * Broadcast topics are dot-separated tokens, as NATS subjects: 'run-updated.<runId>'. A subscriber's
 * pattern may use '*' (one token) and '>' (one or more trailing tokens), and a pattern also matches
 * every topic below it: 'run-updated' receives 'run-updated' and 'run-updated.<runId>'.
 */
const TOKEN = /^[^\s.*>]+$/;

export function validateTopic(topic: string, allowWildcards: boolean): void {
  const tokens = topic.split('.');
  const ok = tokens.every((token, i) => {
    if (TOKEN.test(token)) return true;
    if (!allowWildcards) return false;
    return token === '*' || (token === '>' && i === tokens.length - 1);
  });
  if (!ok) {
    throw new AssayError(
      'BAD_USER_INPUT',
      `Broadcast topic "${topic}" is invalid: use dot-separated tokens without spaces${allowWildcards ? ", '*' for one token and a trailing '>'" : ' and no wildcards'}.`,
      { topic },
    );
  }
}

/** The NATS subjects that together implement a subscription to `pattern` (under `base`). */
export function subscriptionSubjects(base: string, pattern: string): string[] {
  const subject = `${base}.${pattern}`;
  return pattern.endsWith('>') ? [subject] : [subject, `${subject}.>`];
}

/** Same rule in memory, for the in-process bus. */
export function topicMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('.');
  const t = topic.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return t.length > i;
    if (i >= t.length) return false;
    if (p[i] !== '*' && p[i] !== t[i]) return false;
  }
  return true; // equal, or `topic` is below `pattern`
}
