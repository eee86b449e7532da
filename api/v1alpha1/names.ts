import { createHash } from 'node:crypto';

/**
 * A deterministic child name ≤ 63 characters: `<base>-<suffix>`, shortened with a hash of the
 * full name when too long, so the same parent always gets the same child.
 */
export function childName(base: string, suffix: string, max = 63): string {
  const full = `${base}-${suffix}`;
  if (full.length <= max) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  const keep = max - suffix.length - hash.length - 2;
  return `${base.slice(0, keep).replace(/[-.]+$/, '')}-${hash}-${suffix}`;
}

/** A deterministic object name from arbitrary text (idempotency keys, delivery ids). */
export function nameFromKey(prefix: string, key: string): string {
  return `${prefix}-${createHash('sha256').update(key).digest('hex').slice(0, 20)}`;
}
