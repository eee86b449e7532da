// Static checks of the executor images (no container runtime here; image-layout.int.test.ts runs the
// image's file layout for real): multi-stage, non-root 1001, exact pinned versions, no build tools in the
// final stage, the right executor and only its own CLI.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (f: string) => readFileSync(new URL(f, import.meta.url), 'utf8');
const pkg = JSON.parse(read('./package.json')) as { dependencies: Record<string, string> };
const lock = JSON.parse(read('./package-lock.json')) as { packages: Record<string, { version: string }> };

const CLIS = {
  claude: 'node_modules/@anthropic-ai',
  codex: 'node_modules/@openai',
  llama: 'node_modules/node-llama-cpp',
} as const;

describe('executor images', () => {
  it('pins every dependency exactly (CLIs, node-llama-cpp 3.21.1) and the lock agrees', () => {
    for (const [name, version] of Object.entries(pkg.dependencies)) {
      expect(version, name).toMatch(/^\d+\.\d+\.\d+$/);
      expect(lock.packages[`node_modules/${name}`]?.version, name).toBe(version);
    }
    expect(pkg.dependencies['node-llama-cpp']).toBe('3.21.1');
    expect(pkg.dependencies['@anthropic-ai/claude-code']).toBeDefined();
    expect(pkg.dependencies['@openai/codex']).toBeDefined();
  });

  for (const kind of ['claude', 'codex', 'llama', 'bonsai'] as const) {
    it(`Dockerfile.${kind}: multi-stage, non-root 1001, no build tools in the final stage`, () => {
      const text = read(`./Dockerfile.${kind}`);
      const stages = text.split(/^FROM /m).slice(1);
      expect(stages.length).toBeGreaterThanOrEqual(2);
      const final = stages.at(-1)!;
      expect(final).toMatch(/^USER 1001:1001$/m);
      expect(final).not.toMatch(/\b(build-essential|gcc|g\+\+|make|cmake|python3|clang)\b/);
      expect(final).toContain('COPY --from=deps');
      expect(final).toMatch(new RegExp(`AI_AGENTS_EXECUTOR=${kind}\\b`));
      expect(final).toContain('ENTRYPOINT ["node", "/app/executor/main.ts"]');
      expect(text).toMatch(/^ARG NODE_IMAGE=node:24\.\d+\.\d+-bookworm-slim$/m);
      expect(text).toContain('npm ci --omit=dev');
      // only this executor's CLI stays
      const own = kind === 'bonsai' ? 'llama' : kind;
      const removed = new Set(
        [...stages[0]!.matchAll(/rm -rf ([^&\\\n]+)/g)].flatMap((m) => m[1]!.trim().split(/\s+/)),
      );
      for (const [cli, dir] of Object.entries(CLIS))
        expect(removed.has(dir), `${kind} removes ${dir}`).toBe(cli !== own);
      const ignore = read(`./Dockerfile.${kind}.dockerignore`);
      expect(ignore).toContain('executor/node_modules');
    });
  }
});
