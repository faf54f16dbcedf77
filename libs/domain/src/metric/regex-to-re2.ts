/**
 * A JavaScript regular expression as RE2 reads it, so that a REGEX metric matches what its author
 * tested in JavaScript. RE2's syntax is close to JavaScript's; where the same text means something
 * else, it is rewritten here:
 *
 * - `\uXXXX`, `\u{…}`, `\cX`, `\0` and `[\b]` (a backspace): RE2 writes these `\x{…}`.
 * - `\s` and `\S`: JavaScript's white space includes NBSP, U+2028, U+FEFF…; RE2's is ASCII only.
 *   (`\S` inside a class stays RE2's: a class cannot hold a negated class.)
 * - `.` without the s flag: JavaScript stops at \n, \r, U+2028 and U+2029; RE2 only at \n.
 * - `[^]` (any character): RE2 has no empty negated class.
 * - The y flag: test() from the start of the text only, as `\A(?:…)`.
 *
 * What RE2 lacks (backreferences, lookaround) is left as written: RE2 refuses it when compiling.
 */

/** JavaScript's white space and line terminators (ECMA-262 WhiteSpace and LineTerminator), as class members. */
const JS_SPACE = '\\t\\n\\x{b}\\f\\r \\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}\\x{202f}\\x{205f}\\x{3000}\\x{feff}';
const JS_DOT = '[^\\n\\r\\x{2028}\\x{2029}]';

export function regexToRe2(pattern: string, flags: { dotAll: boolean; sticky: boolean }): string {
  let out = '';
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const char = pattern[i];
    if (char === '\\') {
      const [text, length] = escapeToRe2(pattern, i, inClass);
      out += text;
      i += length - 1;
      continue;
    }
    if (inClass) {
      if (char === ']') inClass = false;
      out += char;
      continue;
    }
    if (char === '[') {
      if (pattern.startsWith('[^]', i)) {
        out += '(?s:.)';
        i += 2;
        continue;
      }
      inClass = true;
      out += char;
      // A ']' right after '[' or '[^' closes nothing in RE2 but closes an empty class in JavaScript: keep it as written.
      continue;
    }
    out += char === '.' && !flags.dotAll ? JS_DOT : char;
  }
  return flags.sticky ? `\\A(?:${out})` : out;
}

/** The RE2 text of the escape at `at` (a backslash) and how many characters of the pattern it took. */
function escapeToRe2(pattern: string, at: number, inClass: boolean): [string, number] {
  const next = pattern[at + 1];
  if (next === undefined) return ['\\', 1]; // a trailing backslash: RE2 reports it
  const rest = pattern.slice(at + 2);
  const braced = /^\{([0-9a-fA-F]+)\}/.exec(rest);
  if (next === 'u' && braced) return [`\\x{${braced[1]}}`, 2 + braced[0].length];
  const four = /^[0-9a-fA-F]{4}/.exec(rest);
  if (next === 'u' && four) return [`\\x{${four[0]}}`, 6];
  const control = /^[A-Za-z]/.exec(rest);
  if (next === 'c' && control) return [`\\x{${(control[0].charCodeAt(0) % 32).toString(16)}}`, 3];
  if (next === '0' && !/^[0-9]/.test(rest)) return ['\\x{0}', 2];
  if (next === 'b' && inClass) return ['\\x{8}', 2];
  if (next === 's') return [inClass ? JS_SPACE : `[${JS_SPACE}]`, 2];
  if (next === 'S' && !inClass) return [`[^${JS_SPACE}]`, 2];
  return [`\\${next}`, 2];
}
