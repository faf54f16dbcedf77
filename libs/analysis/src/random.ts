/**
 * A small seeded pseudo-random generator, so that a bootstrap over the same data with the same
 * seed gives the same figures on every machine and every call: xoshiro128** (Blackman & Vigna),
 * its 128-bit state filled from a 32-bit seed by splitmix32. Period 2^128 − 1; 32-bit integer
 * arithmetic only, so results do not depend on the platform.
 */
// Bound once: a global lookup of `Math` on every draw costs more than the draw itself in some
// hosts (Jest's VM context makes it ~100 times slower).
const { imul, floor } = Math;

export interface Random {
  /** A uniform integer in [0, 2^32). */
  nextUint32(): number;
  /** A uniform number in [0, 1). */
  next(): number;
  /** A uniform integer in [0, n), for 1 <= n <= 2^32. */
  nextInt(n: number): number;
}

export function seededRandom(seed: number | string): Random {
  let s = typeof seed === 'string' ? seedFromString(seed) : normalizeSeed(seed);
  const splitmix32 = (): number => {
    s = (s + 0x9e3779b9) | 0;
    let z = s;
    z = imul(z ^ (z >>> 16), 0x85ebca6b);
    z = imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
  return xoshiro128StarStar([splitmix32(), splitmix32(), splitmix32(), splitmix32()]);
}

/** The generator from an explicit 128-bit state (four 32-bit words, not all zero). */
export function xoshiro128StarStar(state: readonly [number, number, number, number]): Random {
  let [a, b, c, d] = state.map((word) => word | 0);
  if ((a | b | c | d) === 0) a = 1; // the all-zero state is the one xoshiro must avoid

  const nextUint32 = (): number => {
    const result = imul(rotl(imul(b, 5), 7), 9) >>> 0;
    const t = b << 9;
    c ^= a;
    d ^= b;
    b ^= c;
    a ^= d;
    c ^= t;
    d = rotl(d, 11);
    return result;
  };
  const next = (): number => nextUint32() / 4294967296;
  return {
    nextUint32,
    next,
    nextInt: (n: number) => {
      const i = floor(next() * n);
      return i < n ? i : n - 1; // (1 − 2^-32)·n may round up to n for very large n
    },
  };
}

/** FNV-1a over the string's UTF-16 code units: a stable 32-bit seed for a name (e.g. two run ids). */
export function seedFromString(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function normalizeSeed(seed: number): number {
  if (!Number.isFinite(seed)) throw new RangeError(`A seed must be a finite number, got ${seed}`);
  // Fold a seed of more than 32 bits into 32, keeping integers below 2^32 as they are.
  const integer = Math.trunc(seed);
  return (integer % 4294967296) >>> 0;
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
