import { AssayError } from '@assay/contracts';

/**
 * Settings read from the environment at start, refused at once (with what to do) when malformed,
 * so a typo never runs silently with a surprising value.
 */
export function positiveIntSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) < 1 || !Number.isSafeInteger(Number(raw))) {
    throw new AssayError('BAD_USER_INPUT', `${name}=${JSON.stringify(env[name])} is not a positive whole number; unset it for the default ${fallback}.`);
  }
  return Number(raw);
}

/** A comma-separated list of names, trimmed, empty entries dropped ([] when unset): the caller checks the names. */
export function namesSetting(env: NodeJS.ProcessEnv, name: string): string[] {
  return (env[name] ?? '').split(',').map((part) => part.trim()).filter(Boolean);
}

/** A comma-separated list of delays in milliseconds, e.g. a consumer's redelivery backoff. */
export function delaysSetting(env: NodeJS.ProcessEnv, name: string, fallback: readonly number[]): readonly number[] {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const parts = raw.split(',').map((part) => part.trim());
  if (parts.some((part) => !/^\d+$/.test(part))) {
    throw new AssayError('BAD_USER_INPUT', `${name}=${JSON.stringify(env[name])} must list delays in milliseconds, e.g. "${fallback.join(',')}".`);
  }
  return parts.map(Number);
}
