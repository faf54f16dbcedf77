import { AssayError } from '@assay/contracts';
import nunjucks from 'nunjucks';

/**
 * Jinja templates (metric judge prompts; prompt systems may use the same) through nunjucks 3:
 * - `autoescape: false`: prompts are text, not HTML.
 * - `throwOnUndefined`: `{{inputs.questoin}}` fails loudly instead of rendering an empty string.
 *   Conditionals still test optional fields: `{% if expected.answer %}` does not throw.
 * - Checked when saved: a template that does not parse, names a variable it will never get, calls a
 *   filter that does not exist or reaches for other templates (include, extends, import) is refused
 *   with TEMPLATE_INVALID and its line and column.
 * - nunjucks is not a sandbox: `{{ range.constructor("…")() }}` runs JavaScript on the server. Every
 *   template is self-contained here (no loader) and the runtime's member lookup refuses
 *   `constructor`, `__proto__`, `prototype` and the legacy accessor methods, so a template reaches
 *   data and the built-in filters, never a function constructor. Checked when saved too.
 * Objects render as `[object Object]`, as in nunjucks: use `{{ inputs | dump }}` for JSON.
 */

/** Member names a template may not look up (the way from any value to `Function`). */
const FORBIDDEN_MEMBERS = new Set([
  'constructor',
  '__proto__',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

/** Names every template may use besides its variables and what it binds itself. */
const TEMPLATE_GLOBALS = ['loop', 'range', 'cycler', 'joiner', 'caller'];
/** Tags that load other templates: there are none to load. */
const REFUSED_NODES: Record<string, string> = {
  Include: 'include',
  Extends: 'extends',
  Import: 'import',
  FromImport: 'from … import',
  Block: 'block',
  Super: 'super()',
  CallExtension: 'extension tags',
};
/** `range(n)` larger than this throws while rendering: a typo must not spin the worker. */
const MAX_RANGE = 10_000;

export const MAX_TEMPLATE_LENGTH = 100_000;

interface NunjucksNode {
  typename: string;
  fields: readonly string[];
  lineno?: number;
  colno?: number;
  value?: unknown;
  [field: string]: unknown;
}
interface NunjucksInternals {
  parser: { parse(src: string, extensions: unknown[], opts: object): NunjucksNode };
  runtime: { memberLookup(obj: unknown, val: unknown): unknown };
}
const internals = nunjucks as unknown as NunjucksInternals;

hardenRuntime();

function hardenRuntime(): void {
  const runtime = internals.runtime;
  const original = runtime.memberLookup as ((obj: unknown, val: unknown) => unknown) & { hardened?: true };
  if (original.hardened) return;
  const guarded = Object.assign(
    (obj: unknown, val: unknown) => {
      if (typeof val === 'string' && FORBIDDEN_MEMBERS.has(val)) {
        throw new Error(`templates may not read "${val}"`);
      }
      return original(obj, val);
    },
    { hardened: true as const },
  );
  runtime.memberLookup = guarded;
}

function cappedRange(start: number, stop?: number, step = 1): number[] {
  const [from, to] = stop === undefined ? [0, start] : [start, stop];
  const length = step === 0 ? Infinity : Math.ceil((to - from) / step);
  if (!(length <= MAX_RANGE)) throw new Error(`range() is limited to ${MAX_RANGE} numbers`);
  return Array.from({ length: Math.max(0, length) }, (_, i) => from + i * step);
}

const environment = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: true });
environment.addGlobal('range', cappedRange);

export interface TemplateOptions {
  /** The input field the template came from, for messages: "promptTemplate", "messages[0].content". */
  readonly field: string;
  /** The variables the template is rendered with; any other free name is refused. */
  readonly variables: readonly string[];
}

/** A template checked and compiled once; render it for every record. */
export interface CompiledTemplate {
  readonly source: string;
  /** Throws TemplateRenderError (with line and column) when a variable is missing or a filter fails. */
  render(variables: Record<string, unknown>): string;
}

export class TemplateRenderError extends Error {
  constructor(
    message: string,
    readonly line: number | null,
    readonly column: number | null,
  ) {
    super(message);
    this.name = 'TemplateRenderError';
  }
}

/** Parses and checks a template; throws TEMPLATE_INVALID with line and column. */
export function checkTemplate(source: string, options: TemplateOptions): void {
  if (source.length > MAX_TEMPLATE_LENGTH) {
    throw new AssayError('TEMPLATE_INVALID', `${options.field} is ${source.length} characters long; templates are limited to ${MAX_TEMPLATE_LENGTH}.`, {
      field: options.field,
    });
  }
  let root: NunjucksNode;
  try {
    root = internals.parser.parse(source, [], (environment as unknown as { opts: object }).opts);
  } catch (error) {
    const { lineno, colno } = error as { lineno?: number; colno?: number };
    const at = typeof lineno === 'number' && typeof colno === 'number' ? { line: lineno, column: colno } : endOf(source);
    const message = ((error as Error).message ?? String(error)).trim();
    throw templateError(options.field, `does not parse: ${message}`, at);
  }
  checkNodes(root, options);
}

/** Checks (see checkTemplate) and compiles a template once. */
export function compileTemplate(source: string, options: TemplateOptions): CompiledTemplate {
  checkTemplate(source, options);
  const template = new nunjucks.Template(source, environment, options.field, true);
  return {
    source,
    render(variables) {
      try {
        return template.render(variables);
      } catch (error) {
        throw toRenderError(error);
      }
    },
  };
}

function toRenderError(error: unknown): TemplateRenderError {
  const raw = error instanceof Error ? error.message : String(error);
  // nunjucks prefixes "(field) [Line 3, Column 5]\n  " to the cause.
  const position = /\[Line (\d+), Column (\d+)\]/.exec(raw);
  const cause = raw.replace(/^\([^)]*\)( \[Line \d+, Column \d+\])?\s*/, '').replace(/^Error: /, '').trim();
  const message =
    cause === 'attempted to output null or undefined value'
      ? 'a variable it prints is missing from the record (or null): guard optional fields with {% if … %}'
      : cause;
  return position
    ? new TemplateRenderError(`${message} (line ${position[1]}, column ${position[2]})`, Number(position[1]), Number(position[2]))
    : new TemplateRenderError(message, null, null);
}

function endOf(source: string): { line: number; column: number } {
  const lines = source.split('\n');
  return { line: lines.length, column: lines[lines.length - 1].length + 1 };
}

function templateError(field: string, problem: string, at: { line: number; column: number }): AssayError {
  return new AssayError('TEMPLATE_INVALID', `${field} ${problem} (line ${at.line}, column ${at.column}).`, {
    field,
    line: at.line,
    column: at.column,
  });
}

function isNode(value: unknown): value is NunjucksNode {
  return typeof value === 'object' && value !== null && typeof (value as NunjucksNode).typename === 'string';
}

function children(node: NunjucksNode): NunjucksNode[] {
  const out: NunjucksNode[] = [];
  for (const field of node.fields) {
    const value = node[field];
    if (Array.isArray(value)) out.push(...value.filter(isNode));
    else if (isNode(value)) out.push(value);
  }
  return out;
}

/** 1-based position of a node (nunjucks nodes count from 0). */
const positionOf = (node: NunjucksNode) => ({ line: (node.lineno ?? 0) + 1, column: (node.colno ?? 0) + 1 });

function symbolsIn(node: unknown): NunjucksNode[] {
  if (!isNode(node)) return [];
  if (node.typename === 'Symbol') return [node];
  return children(node).flatMap(symbolsIn);
}

/**
 * Walks the syntax tree: every free name must be a template variable, a global, or something the
 * template binds itself (a loop variable, `set`, a macro or its arguments). Scope-insensitive on
 * purpose: what slips through still fails loudly when rendered (throwOnUndefined).
 */
function checkNodes(root: NunjucksNode, options: TemplateOptions): void {
  const bound = new Set<string>([...options.variables, ...TEMPLATE_GLOBALS]);
  const notReferences = new Set<NunjucksNode>();
  const all: NunjucksNode[] = [];
  const visit = (node: NunjucksNode) => {
    all.push(node);
    children(node).forEach(visit);
  };
  visit(root);

  for (const node of all) {
    const refused = REFUSED_NODES[node.typename];
    if (refused) throw templateError(options.field, `uses ${refused}: a template is self-contained here`, positionOf(node));
    switch (node.typename) {
      case 'For':
      case 'AsyncEach':
      case 'AsyncAll':
        for (const symbol of symbolsIn(node.name)) {
          bound.add(String(symbol.value));
          notReferences.add(symbol);
        }
        break;
      case 'Set':
        for (const symbol of (node.targets as unknown[]).flatMap(symbolsIn)) {
          bound.add(String(symbol.value));
          notReferences.add(symbol);
        }
        break;
      case 'Macro':
      case 'Caller': {
        if (isNode(node.name) && node.name.typename === 'Symbol') {
          bound.add(String(node.name.value));
          notReferences.add(node.name);
        }
        for (const arg of isNode(node.args) ? children(node.args) : []) {
          const name = arg.typename === 'Symbol' ? arg : undefined;
          if (name) {
            bound.add(String(name.value));
            notReferences.add(name);
          }
          // Keyword arguments with defaults: `{% macro m(a, b=2) %}` holds Pairs under KeywordArgs.
          for (const pair of arg.typename === 'KeywordArgs' ? children(arg) : []) {
            if (isNode(pair.key) && pair.key.typename === 'Symbol') {
              bound.add(String(pair.key.value));
              notReferences.add(pair.key);
            }
          }
        }
        break;
      }
      case 'Pair':
        // Dict keys and keyword-argument names are names, not variables.
        if (isNode(node.key) && node.key.typename === 'Symbol') notReferences.add(node.key);
        break;
      case 'Filter':
      case 'FilterAsync':
        if (isNode(node.name)) {
          notReferences.add(node.name);
          const filter = String(node.name.value);
          try {
            environment.getFilter(filter);
          } catch {
            throw templateError(options.field, `uses the unknown filter "${filter}"`, positionOf(node.name));
          }
        }
        break;
      case 'Is':
        // `x is defined`: the right side names a test.
        if (isNode(node.right) && node.right.typename === 'Symbol') notReferences.add(node.right);
        if (isNode(node.right) && node.right.typename === 'FunCall' && isNode(node.right.name)) notReferences.add(node.right.name);
        break;
      case 'LookupVal':
        if (isNode(node.val) && node.val.typename === 'Literal' && FORBIDDEN_MEMBERS.has(String(node.val.value))) {
          throw templateError(options.field, `reads "${String(node.val.value)}", which templates may not`, positionOf(node.val));
        }
        break;
    }
  }
  for (const node of all) {
    if (node.typename !== 'Symbol' || notReferences.has(node)) continue;
    const name = String(node.value);
    if (!bound.has(name)) {
      throw templateError(
        options.field,
        `uses the variable "${name}", which it is never given: use ${options.variables.join(', ')}`,
        positionOf(node),
      );
    }
  }
}
