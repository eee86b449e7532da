// `npm start` (scripts/start.sh → node scripts/platform/main.ts): the whole product on this machine.
// Prints the dashboard URL, a sign-in link, the API key and an example submit; Ctrl-C stops it all.
import path from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT, startPlatform } from './platform.ts';

const HELP = `Usage: npm start -- [options]

Starts the local platform: a Kubernetes control plane on loopback (or the cluster of a kubeconfig),
the CRDs and default resources, the controller (executors run as local processes), the API and the
dashboard. Data is kept in the data folder; a second start reuses it.

Options (environment variable in brackets):
  --data-dir DIR       where everything is kept [AI_AGENTS_DATA_DIR] (default: .data)
  --model-url URL      GGUF for the local llama model, downloaded once [AI_AGENTS_MODEL_URL]
  --model-sha256 HEX   expected sha256 of that file [AI_AGENTS_MODEL_SHA256]
  --context-size N     context size for the local model [AI_AGENTS_MODEL_CONTEXT_SIZE]
  --max-tokens N       default completion length of the local model [AI_AGENTS_MODEL_MAX_TOKENS] (512)
  --kubeconfig FILE    use this cluster instead of starting one
  --context NAME       context of --kubeconfig (default: its current context)
  --namespace NAME     namespace for everything [AI_AGENTS_NAMESPACE] (default: ai-agents)
  --port N             dashboard + API origin [AI_AGENTS_PORT] (default 3000, or a free port)
  --api-port N         the API itself [AI_AGENTS_API_PORT] (default 3001, or a free port)
  -h, --help
Executor tuning is passed through: AI_AGENTS_LLAMA_THREADS, AI_AGENTS_LLAMA_GPU; and to the
controller CALLBACK_ALLOWED_HOSTS (callbacks to this machine need 127.0.0.1 in it).
`;

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'model-url': { type: 'string' },
    'model-sha256': { type: 'string' },
    'context-size': { type: 'string' },
    'max-tokens': { type: 'string' },
    kubeconfig: { type: 'string' },
    context: { type: 'string' },
    namespace: { type: 'string' },
    port: { type: 'string' },
    'api-port': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  process.stdout.write(HELP);
  process.exit(0);
}
const env = process.env;
const int = (name: string, raw: string | undefined) => {
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`${name} must be a non-negative integer (got ${raw})\n`);
    process.exit(2);
  }
  return n;
};
const modelUrl = values['model-url'] ?? env.AI_AGENTS_MODEL_URL;
const contextSize = int('--context-size', values['context-size'] ?? env.AI_AGENTS_MODEL_CONTEXT_SIZE);
const maxTokens = int('--max-tokens', values['max-tokens'] ?? env.AI_AGENTS_MODEL_MAX_TOKENS);
const port = int('--port', values.port ?? env.AI_AGENTS_PORT);
const apiPort = int('--api-port', values['api-port'] ?? env.AI_AGENTS_API_PORT);
if (values.context && !values.kubeconfig) {
  process.stderr.write('--context needs --kubeconfig\n');
  process.exit(2);
}
const sha = values['model-sha256'] ?? env.AI_AGENTS_MODEL_SHA256;
const dataDir = path.resolve(values['data-dir'] ?? env.AI_AGENTS_DATA_DIR ?? path.join(REPO_ROOT, '.data'));
const log = (l: string) => process.stderr.write(`[platform] ${l}\n`);

let stopping: Promise<void> | undefined;
let stopPlatform: (() => Promise<void>) | undefined;
const shutdown = (why: string, code: number) => {
  if (stopping) {
    log('already stopping…');
    return;
  }
  log(`stopping (${why})…`);
  stopping = (stopPlatform?.() ?? Promise.resolve()).then(
    () => {
      log('stopped');
      process.exit(code);
    },
    (e) => {
      log(`stopped with an error: ${String(e)}`);
      process.exit(1);
    },
  );
};
// Ctrl-C during the start: exit at once; exit hooks kill what was started so far
const early = (signal: string) => {
  if (stopPlatform) return shutdown(signal, 0);
  log(`${signal} during start: exiting`);
  process.exit(130);
};
process.on('SIGINT', () => early('SIGINT'));
process.on('SIGTERM', () => early('SIGTERM'));

let platform: Awaited<ReturnType<typeof startPlatform>>;
try {
  platform = await startPlatform({
    dataDir,
    ...(values.kubeconfig ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context ? { context: values.context } : {}),
    ...((values.namespace ?? env.AI_AGENTS_NAMESPACE)
      ? { namespace: values.namespace ?? env.AI_AGENTS_NAMESPACE }
      : {}),
    ...(modelUrl !== undefined ? { modelUrl } : {}),
    ...(sha ? { modelSha256: sha } : {}),
    ...(contextSize !== undefined ? { contextSize } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(apiPort !== undefined ? { apiPort } : {}),
    log,
  });
} catch (e) {
  process.stderr.write(`\nthe platform did not start: ${(e as Error).message}\n`);
  process.exit(1);
}
stopPlatform = platform.stop;
platform.failed.catch((e: Error) => {
  log(e.message);
  shutdown('a service failed', 1);
});

const rel = (p: string) =>
  p.startsWith(`${process.cwd()}${path.sep}`) ? path.relative(process.cwd(), p) : p;
const m = platform.model;
const modelLine =
  m.state === 'ready'
    ? `local-llama ← ${m.url} (cached at ${rel(m.file)})`
    : m.state === 'unavailable'
      ? `NOT AVAILABLE: ${m.url} could not be fetched (${m.reason}); requests for local-llama will fail until it can be`
      : 'NONE CONFIGURED: start with AI_AGENTS_MODEL_URL=<https://…/model.gguf> (or --model-url) to download a GGUF; requests for local-llama fail until then';
const body = JSON.stringify({ agent: 'developer', prompt: 'Say hello in one sentence.' });
process.stdout.write(
  [
    '',
    `ai-agents is running (${platform.cluster === 'local' ? 'local control plane' : 'cluster from kubeconfig'}, executors as local processes)`,
    '',
    `  Dashboard:  ${platform.url}`,
    `  Sign in:    ${platform.loginUrl}`,
    `  API:        ${platform.url}/api  (functions at ${platform.apiUrl})`,
    `  API key:    ${platform.apiKey}`,
    `  Model:      ${modelLine}`,
    `  Kubernetes: KUBECONFIG=${rel(platform.kubeconfigPath)} ${rel(platform.kubectl)} -n ${platform.namespace} get inferencerequests`,
    `  Data, logs: ${rel(platform.dataDir)}, ${rel(platform.logsDir)}`,
    '',
    'Submit a request:',
    `  curl -sS -X POST ${platform.url}/api/jobs/submit \\`,
    `    -H 'Authorization: Bearer ${platform.apiKey}' -H 'Content-Type: application/json' \\`,
    `    -d '${body}'`,
    '',
    'Press Ctrl-C to stop.',
    '',
  ].join('\n'),
);
