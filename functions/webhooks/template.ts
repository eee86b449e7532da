// Logic-less templates for prompts, repository fields and concurrency keys, rendered from a webhook
// payload. Mustache (mustache.js, spec-compliant, no expressions) does the parsing and lookups; this
// file makes it safe for hostile payloads:
//  - the view is a copy of the payload with null-prototype objects and arrays, so lookups only
//    ever find the payload's own data (no `constructor`, no prototype methods, no functions to call);
//  - templates may only use plain tags, sections, inverted sections and comments: unescaped tags
//    (`{{{x}}}`, `{{&x}}`) and partials (`{{>x}}`) are refused, so every value goes through `escape`;
//  - values are neutralised, never interpreted: control and bidi/zero-width characters removed,
//    length bounded, and (for URLs, refs, keys) whitespace removed. A value that looks like a tag
//    (`{{secret}}`) stays literal text: Mustache never re-renders values.
import Mustache from 'mustache';

export type TemplateKind = 'text' | 'token';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

const ALLOWED_TOKENS = new Set(['text', 'name', '#', '^', '!']);

/** Parses a template and refuses the tag types that would bypass escaping. */
export function validateTemplate(template: string): void {
  let tokens: Mustache.TemplateSpans;
  try {
    tokens = Mustache.parse(template);
  } catch (e) {
    throw new TemplateError(`template does not parse: ${e instanceof Error ? e.message : String(e)}`);
  }
  const walk = (spans: Mustache.TemplateSpans) => {
    for (const span of spans) {
      const type = span[0];
      if (!ALLOWED_TOKENS.has(type)) {
        const what =
          type === '>'
            ? 'partials'
            : (type as string) === '&' || (type as string) === '{'
              ? 'unescaped tags'
              : `"${type}" tags`;
        throw new TemplateError(`template uses ${what} ("${span[1]}"), which are not allowed`);
      }
      const children = span[4];
      if (Array.isArray(children)) walk(children as Mustache.TemplateSpans);
    }
  };
  walk(tokens);
}

// C0/C1 controls except tab and newline; bidi embeddings/overrides/isolates (Trojan Source);
// zero-width characters and the BOM.
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
const UNSAFE = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u200B-\u200F\u202A-\u202E\u2060-\u2069\uFEFF]/g;
const WHITESPACE = /\s+/g;

export interface NeutraliseOptions {
  /** Longest value kept, in characters (the rest is cut and marked). */
  maxValueChars?: number;
}

export function neutralise(value: string, kind: TemplateKind, maxChars: number): string {
  let s = value.replace(UNSAFE, '');
  if (kind === 'token') s = s.replace(WHITESPACE, '');
  if (s.length > maxChars) s = `${s.slice(0, maxChars)}…[truncated]`;
  return s;
}

/** How a looked-up value becomes text: scalars as themselves, lists joined, objects by name. */
function stringify(value: unknown, kind: TemplateKind, maxChars: number, depth = 0): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return neutralise(value, kind, maxChars);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && depth === 0) {
    const parts: string[] = [];
    for (let i = 0; i < value.length && i < 100; i++) {
      const s = stringify(value[i], kind, maxChars, depth + 1);
      if (s) parts.push(s);
    }
    return neutralise(parts.join(kind === 'token' ? ',' : ', '), kind, maxChars);
  }
  if (typeof value === 'object') {
    // Lists of labels, users, commits: show their name-like field.
    const o = value as Record<string, unknown>;
    for (const k of ['name', 'login', 'username', 'title', 'id']) {
      const v = Object.hasOwn(o, k) ? o[k] : undefined;
      if (typeof v === 'string' || typeof v === 'number') return stringify(v, kind, maxChars, depth + 1);
    }
  }
  return '';
}

type View = Record<string, unknown>;

/**
 * A safe view of JSON data: null-prototype objects and arrays, depth and breadth bounded.
 * Only JSON types survive (no functions, no symbols).
 */
export function toView(data: unknown, depth = 0): unknown {
  if (data === null || typeof data !== 'object') {
    return typeof data === 'string' || typeof data === 'number' || typeof data === 'boolean' ? data : null;
  }
  if (depth > 32) return null;
  if (Array.isArray(data)) {
    const arr = data.slice(0, 1000).map((v) => toView(v, depth + 1));
    return Object.setPrototypeOf(arr, null) as unknown[];
  }
  const out = Object.create(null) as View;
  for (const [k, v] of Object.entries(data as Record<string, unknown>)) out[k] = toView(v, depth + 1);
  return out;
}

export interface RenderOptions {
  kind?: TemplateKind;
  maxValueChars?: number;
}

/**
 * Renders a validated template against a view built by toView(). Throws TemplateError for a
 * template that uses forbidden tags.
 */
export function renderTemplate(template: string, view: unknown, opts: RenderOptions = {}): string {
  validateTemplate(template);
  const kind = opts.kind ?? 'text';
  const max = opts.maxValueChars ?? (kind === 'token' ? 1024 : 16_000);
  return Mustache.render(template, view, undefined, {
    escape: (value: unknown) => stringify(value, kind, max),
  });
}
