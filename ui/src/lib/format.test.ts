import { describe, expect, it } from 'vitest';
import { age, between, count, duration, usd } from './format.ts';

describe('format', () => {
  const now = Date.parse('2026-01-01T12:00:00Z');
  it('age rounds down to the largest unit', () => {
    expect(age('2026-01-01T11:59:50Z', now)).toBe('10s');
    expect(age('2026-01-01T11:55:00Z', now)).toBe('5m');
    expect(age('2026-01-01T09:00:00Z', now)).toBe('3h');
    expect(age('2025-12-29T12:00:00Z', now)).toBe('3d');
    expect(age(undefined, now)).toBe('—');
    expect(age('not a date', now)).toBe('—');
  });
  it('duration reads naturally at every scale', () => {
    expect(duration(850)).toBe('850 ms');
    expect(duration(42_000)).toBe('42.0 s');
    expect(duration(185_000)).toBe('3m 05s');
    expect(duration(7_800_000)).toBe('2h 10m');
    expect(duration(undefined)).toBe('—');
  });
  it('usd keeps small costs visible', () => {
    expect(usd(0.01234)).toBe('$0.0123');
    expect(usd(12.5)).toBe('$12.50');
    expect(usd(undefined)).toBe('—');
  });
  it('count and between', () => {
    expect(count(1234567)).toBe('1,234,567');
    expect(between('2026-01-01T00:00:00Z', '2026-01-01T00:01:00Z')).toBe(60_000);
    expect(between(undefined, '2026-01-01T00:01:00Z')).toBeUndefined();
  });
});
