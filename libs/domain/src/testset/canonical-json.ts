/**
 * Canonical JSON text: object keys sorted (by UTF-16 code units, as RFC 8785 does), no spaces,
 * numbers as JavaScript prints them. Two values are equal as JSON exactly when their canonical
 * texts are equal, whatever order their keys were written in.
 */
export function canonicalJson(value: unknown): string {
  // JSON.stringify's own rules for scalars (NaN and ±Infinity become null); undefined → null.
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.keys(value as Record<string, unknown>)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${entries.join(',')}}`;
}
