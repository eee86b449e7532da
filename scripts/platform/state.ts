// What the local platform keeps between starts in <data>/platform.json (mode 0600): the generated
// API key and secrets, the sign-in code, and the last model URL (so a plain second start keeps it).
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface PlatformState {
  apiKey: string;
  ingestTokenSecret: string;
  jwtSecret: string;
  loginCode: string;
  modelUrl?: string;
  modelSha256?: string;
  contextSize?: number;
  maxTokens?: number;
}

const token = (bytes: number) => randomBytes(bytes).toString('base64url');

export function statePath(dataDir: string): string {
  return path.join(dataDir, 'platform.json');
}

export function loadState(dataDir: string): PlatformState {
  const file = statePath(dataDir);
  const stored = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Partial<PlatformState>) : {};
  const state: PlatformState = {
    ...stored,
    apiKey: stored.apiKey ?? `aia_${token(24)}`,
    ingestTokenSecret: stored.ingestTokenSecret ?? token(48),
    jwtSecret: stored.jwtSecret ?? token(48),
    loginCode: stored.loginCode ?? token(24),
  };
  saveState(dataDir, state);
  return state;
}

export function saveState(dataDir: string, state: PlatformState): void {
  const file = statePath(dataDir);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}
