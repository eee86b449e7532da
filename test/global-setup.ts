import type { TestProject } from 'vitest/node';
import { installCrds, startControlPlane } from '../scripts/controlplane/index.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    apiServer: string;
    adminToken: string;
    kubeBinDir: string;
    controlPlaneDir: string;
  }
}

/** One real control plane (full mode: Jobs really run on a kwok node) for the whole test run. */
export default async function setup(project: TestProject) {
  const started = Date.now();
  const cp = await startControlPlane({
    full: true,
    log: (l) => process.env.AI_AGENTS_TEST_VERBOSE && console.error(`[controlplane] ${l}`),
  });
  await installCrds(cp);
  console.error(
    `[controlplane] ready at ${cp.server} in ${Date.now() - started} ms (logs: ${cp.dataDir}/logs)`,
  );
  project.provide('kubeconfig', cp.kubeconfigPath);
  project.provide('apiServer', cp.server);
  project.provide('adminToken', cp.token);
  project.provide('kubeBinDir', cp.binDir);
  project.provide('controlPlaneDir', cp.dataDir);
  return async () => {
    await cp.stop();
  };
}
