// `node scripts/controlplane/cli.ts [--full] [--data-dir DIR]`: starts a local control plane,
// installs the CRDs, prints how to reach it and runs until Ctrl-C.
import { parseArgs } from 'node:util';
import { installCrds, startControlPlane } from './index.ts';

const { values } = parseArgs({
  options: { full: { type: 'boolean', default: false }, 'data-dir': { type: 'string' } },
});
const cp = await startControlPlane({
  full: values.full,
  dataDir: values['data-dir'],
  log: (l) => console.error(`[controlplane] ${l}`),
});
await installCrds(cp);
console.log(`Kubernetes API: ${cp.server}`);
console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
console.log(`kubectl: ${cp.binDir}/kubectl`);
const shutdown = async () => {
  console.error('[controlplane] stopping');
  await cp.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
await new Promise(() => {});
