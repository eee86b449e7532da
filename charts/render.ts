// Renders the charts and kustomize trees into objects, and generates k8s/base from the
// ai-agents-main chart so the Deployment-style base never drifts from the chart.
//
//   node charts/render.ts base          # rewrite k8s/base/ai-agents-main.yaml
//   node charts/render.ts base --check  # exit 1 when it is out of date
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const chartNames = ['ai-agents-main', 'ai-agents-processor', 'ai-agents-webhook'] as const;
export type ChartName = (typeof chartNames)[number];

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  spec?: unknown;
  [key: string]: unknown;
}

/** Where helm, kustomize and kubectl live: $KUBE_BIN_DIR, or the project's build cache. */
export function kubeBinDir(): string {
  if (process.env.KUBE_BIN_DIR && existsSync(join(process.env.KUBE_BIN_DIR, 'helm'))) {
    return process.env.KUBE_BIN_DIR;
  }
  return execFileSync('bash', [join(repoRoot, 'scripts/build-k8s.sh')], { encoding: 'utf8' }).trim();
}

export function tool(name: string, args: string[], input?: string): string {
  return execFileSync(join(kubeBinDir(), name), args, {
    encoding: 'utf8',
    input,
    cwd: repoRoot,
    stdio: ['pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Runs a tool and returns its exit status and combined output instead of throwing. */
export function tryTool(name: string, args: string[], input?: string): { ok: boolean; output: string } {
  try {
    return { ok: true, output: tool(name, args, input) };
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${err.stdout ?? ''}${err.stderr ?? ''}` || err.message };
  }
}

export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(`invalid YAML: ${d.errors.map((x) => x.message).join('; ')}`);
      return d.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null && typeof o === 'object' && 'kind' in o);
}

export function toYamlStream(objects: K8sObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n');
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  values?: Record<string, unknown>;
  set?: string[];
}

/** Writes a values object to a file helm can read (JSON is valid YAML). */
function valuesFile(values: Record<string, unknown>): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ai-agents-values-')), 'values.json');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

export function helmArgs(chart: ChartName, opts: RenderOptions = {}): string[] {
  const args = [
    'template',
    opts.release ?? 'ai-agents',
    join(repoRoot, 'charts', chart),
    '--namespace',
    opts.namespace ?? 'ai-agents',
  ];
  if (opts.values) args.push('--values', valuesFile(opts.values));
  for (const s of opts.set ?? []) args.push('--set', s);
  return args;
}

export function renderChart(chart: ChartName, opts: RenderOptions = {}): K8sObject[] {
  return parseObjects(tool('helm', helmArgs(chart, opts)));
}

export function kustomizeBuild(dir: string): K8sObject[] {
  return parseObjects(tool('kustomize', ['build', join(repoRoot, dir)]));
}

/** spec.values of the Flux HelmRelease that deploys a chart: the production values. */
export function productionValues(chart: ChartName): Record<string, unknown> {
  const releases = kustomizeBuild('k8s/releases').filter((o) => o.kind === 'HelmRelease');
  const release = releases.find(
    (r) =>
      (r as { spec: { chart: { spec: { chart: string } } } }).spec.chart.spec.chart === `./charts/${chart}`,
  );
  if (!release) throw new Error(`no HelmRelease in k8s/releases deploys ./charts/${chart}`);
  return ((release as { spec: { values?: Record<string, unknown> } }).spec.values ?? {}) as Record<
    string,
    unknown
  >;
}

/** Generated base files: the chart each one comes from and the release name it is rendered as. */
export const baseFiles = [
  { file: 'k8s/base/ai-agents-main.yaml', chart: 'ai-agents-main', release: 'ai-agents' },
  { file: 'k8s/base/ai-agents-processor.yaml', chart: 'ai-agents-processor', release: 'ai-agents-processor' },
] as const;

/** A chart as plain manifests: no Helm labels, no namespace (kustomize sets it). */
export function renderBase(chart: ChartName, release: string): string {
  const objects = renderChart(chart, { release, namespace: 'ai-agents' });
  const strip = (labels: Record<string, string> | undefined) => {
    if (!labels) return;
    delete labels['helm.sh/chart'];
    if (labels['app.kubernetes.io/managed-by'] === 'Helm')
      labels['app.kubernetes.io/managed-by'] = 'kustomize';
  };
  for (const o of objects) {
    delete o.metadata.namespace;
    strip(o.metadata.labels);
    const template = (o as { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } }).spec
      ?.template;
    strip(template?.metadata?.labels);
    const jobTemplate = (
      o as {
        spec?: { jobTemplate?: { spec?: { template?: { metadata?: { labels?: Record<string, string> } } } } };
      }
    ).spec?.jobTemplate?.spec?.template;
    strip(jobTemplate?.metadata?.labels);
  }
  const header =
    `# GENERATED from charts/${chart} by \`node charts/render.ts base\`: do not edit by hand.\n` +
    `# Deployment-style manifests of ${chart} for the kustomize envs (k8s/envs/*).\n`;
  return header + toYamlStream(objects);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command, flag] = process.argv.slice(2);
  if (command !== 'base') {
    console.error('usage: node charts/render.ts base [--check]');
    process.exit(2);
  }
  for (const { file, chart, release } of baseFiles) {
    const rendered = renderBase(chart, release);
    const path = join(repoRoot, file);
    if (flag === '--check') {
      const current = existsSync(path) ? readFileSync(path, 'utf8') : '';
      if (current !== rendered) {
        console.error(`${file} is out of date: run node charts/render.ts base`);
        process.exitCode = 1;
      }
    } else {
      writeFileSync(path, rendered);
      console.error(`wrote ${file}`);
    }
  }
}
