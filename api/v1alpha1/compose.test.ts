import { describe, expect, it } from 'vitest';
import { composeInstructions } from './compose.ts';
import type { AiAgent, AiInstruction } from './index.ts';
import { childName, nameFromKey } from './names.ts';

const agent = (name: string, systemPrompt?: string) =>
  ({ metadata: { name }, spec: { role: name, systemPrompt, repositoryAccess: 'read' } }) as AiAgent;
const instr = (
  name: string,
  type: 'global' | 'local',
  priority: number,
  content: string,
  agents?: string[],
) => ({ metadata: { name }, spec: { type, priority, content, agents } }) as AiInstruction;

describe('composeInstructions', () => {
  const all = [
    instr('g-security', 'global', 30, 'SECURITY'),
    instr('g-quality', 'global', 10, 'QUALITY'),
    instr('l-review', 'local', 5, 'REVIEW', ['reviewer']),
    instr('l-dev', 'local', 1, 'DEV', ['developer', 'codex-developer']),
    instr('g-b', 'global', 30, 'B-SAME-PRIORITY'),
  ];

  it('orders globals by priority then name, then locals for the agent, then the agent prompt', () => {
    const c = composeInstructions(agent('developer', 'YOU ARE A DEV'), all);
    expect(c.text.split('\n\n')).toEqual(['QUALITY', 'B-SAME-PRIORITY', 'SECURITY', 'DEV', 'YOU ARE A DEV']);
    expect(c.parts.map((p) => p.kind)).toEqual(['global', 'global', 'global', 'local', 'agent']);
  });

  it('is deterministic regardless of input order and hashes the text', () => {
    const a = composeInstructions(agent('reviewer'), all);
    const b = composeInstructions(agent('reviewer'), [...all].reverse());
    expect(a).toEqual(b);
    expect(a.hash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(a.text).not.toContain('DEV');
    expect(composeInstructions(agent('reviewer', 'x'), all).hash).not.toBe(a.hash);
  });
});

describe('childName', () => {
  it('keeps short names readable and long ones ≤ 63 and distinct', () => {
    expect(childName('req-1', 'job')).toBe('req-1-job');
    const long1 = childName('a'.repeat(80), 'job');
    const long2 = childName(`${'a'.repeat(79)}b`, 'job');
    expect(long1.length).toBeLessThanOrEqual(63);
    expect(long1).not.toBe(long2);
    expect(long1).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(childName('a'.repeat(80), 'job')).toBe(long1);
  });

  it('derives stable names from keys', () => {
    expect(nameFromKey('ir', 'abc')).toBe(nameFromKey('ir', 'abc'));
    expect(nameFromKey('ir', 'abc')).not.toBe(nameFromKey('ir', 'abd'));
  });
});
