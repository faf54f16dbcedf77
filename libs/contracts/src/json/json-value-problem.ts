import { MAX_JSON_DEPTH } from '../limits';

/** Why a value is not one Assay takes as JSON, and where (keys from the root). */
export interface JsonValueProblem {
  readonly kind: 'NOT_FINITE' | 'NOT_PLAIN_OBJECT' | 'TOO_DEEP' | 'NOT_JSON';
  readonly keys: readonly (string | number)[];
  /** NOT_JSON: the JavaScript type found. */
  readonly type?: string;
}

/**
 * The first problem of `value` as JSON: a number JSON cannot hold, an object that is not plain, a
 * type JSON has not, or objects and arrays nested more than MAX_JSON_DEPTH levels (`rootLevel`:
 * the level of `value` itself, when it sits inside a larger value). Deeper values than that make
 * recursive code downstream (canonical JSON, templates, schemas) overflow its stack, so every way
 * in refuses them. Iterative, so no depth overflows the stack here, and keys are collected only for
 * a problem: O(size).
 */
export function jsonValueProblem(value: unknown, rootLevel = 1): JsonValueProblem | undefined {
  interface Entry {
    readonly value: unknown;
    readonly parent: Entry | null;
    readonly key: string | number | null;
    /** How many objects and arrays enclose the value, plus one. */
    readonly level: number;
  }
  const problem = (kind: JsonValueProblem['kind'], entry: Entry, type?: string): JsonValueProblem => {
    const keys: (string | number)[] = [];
    for (let e: Entry | null = entry; e && e.key !== null; e = e.parent) keys.push(e.key);
    return { kind, keys: keys.reverse(), ...(type ? { type } : {}) };
  };
  const stack: Entry[] = [{ value, parent: null, key: null, level: rootLevel }];
  while (stack.length > 0) {
    const entry = stack.pop()!;
    const v = entry.value;
    if (v === null || typeof v === 'string' || typeof v === 'boolean') continue;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return problem('NOT_FINITE', entry);
      continue;
    }
    if (Array.isArray(v)) {
      if (entry.level > MAX_JSON_DEPTH) return problem('TOO_DEEP', entry);
      for (let i = 0; i < v.length; i++) stack.push({ value: v[i], parent: entry, key: i, level: entry.level + 1 });
      continue;
    }
    if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return problem('NOT_PLAIN_OBJECT', entry);
      if (entry.level > MAX_JSON_DEPTH) return problem('TOO_DEEP', entry);
      for (const [key, child] of Object.entries(v as Record<string, unknown>)) {
        if (child !== undefined) stack.push({ value: child, parent: entry, key, level: entry.level + 1 });
      }
      continue;
    }
    return problem('NOT_JSON', entry, typeof v);
  }
  return undefined;
}

/** Keys as a path after `root`: `$.a[0].b`. */
export function jsonPath(root: string, keys: readonly (string | number)[]): string {
  return root + keys.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
}
