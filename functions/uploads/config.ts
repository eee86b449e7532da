// Uploads configuration from the environment (deployment guide, "Storage").
//   UPLOADS_DIR        where uploads are stored (default /workspace/uploads)
//   UPLOADS_MAX_BYTES  largest upload accepted (default 2 GiB; 413 above it)
import { ConfigError } from '../config.ts';

export interface UploadsConfig {
  dir: string;
  maxBytes: number;
}

export const DEFAULT_UPLOADS_DIR = '/workspace/uploads';
export const DEFAULT_UPLOADS_MAX_BYTES = 2 * 1024 ** 3;

export function loadUploadsConfig(env: Record<string, string | undefined>): UploadsConfig {
  const problems: string[] = [];
  const dir = env.UPLOADS_DIR?.trim() || DEFAULT_UPLOADS_DIR;
  if (!dir.startsWith('/')) problems.push('UPLOADS_DIR must be an absolute path');
  const raw = env.UPLOADS_MAX_BYTES?.trim();
  const maxBytes = raw ? Number(raw) : DEFAULT_UPLOADS_MAX_BYTES;
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1 || maxBytes > 64 * 1024 ** 4) {
    problems.push(`UPLOADS_MAX_BYTES must be an integer in 1..${64 * 1024 ** 4} (got "${raw}")`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { dir, maxBytes };
}
