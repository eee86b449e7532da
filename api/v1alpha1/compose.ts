// Deterministic prompt composition: global instructions by priority (then name), then the local
// ones that list the agent (same order), then the agent's own system prompt.
import { createHash } from 'node:crypto';
import type { AiAgent, AiInstruction } from './index.ts';

export interface ComposedInstructions {
  text: string;
  hash: string;
  parts: { source: string; kind: 'global' | 'local' | 'agent' }[];
}

const byPriorityThenName = (a: AiInstruction, b: AiInstruction) =>
  (a.spec.priority ?? 100) - (b.spec.priority ?? 100) || a.metadata.name.localeCompare(b.metadata.name);

export function composeInstructions(
  agent: AiAgent,
  instructions: readonly AiInstruction[],
): ComposedInstructions {
  const globals = instructions.filter((i) => i.spec.type === 'global').sort(byPriorityThenName);
  const locals = instructions
    .filter((i) => i.spec.type === 'local' && (i.spec.agents ?? []).includes(agent.metadata.name))
    .sort(byPriorityThenName);
  const sections: string[] = [];
  const parts: ComposedInstructions['parts'] = [];
  for (const i of globals) {
    sections.push(i.spec.content.trim());
    parts.push({ source: i.metadata.name, kind: 'global' });
  }
  for (const i of locals) {
    sections.push(i.spec.content.trim());
    parts.push({ source: i.metadata.name, kind: 'local' });
  }
  if (agent.spec.systemPrompt?.trim()) {
    sections.push(agent.spec.systemPrompt.trim());
    parts.push({ source: agent.metadata.name, kind: 'agent' });
  }
  const text = sections.join('\n\n');
  return { text, hash: `sha256:${createHash('sha256').update(text).digest('hex')}`, parts };
}
