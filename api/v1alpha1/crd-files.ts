import { stringify } from 'yaml';
import { customResourceDefinition } from './crd.ts';
import { resourceDefinitions } from './index.ts';

const HEADER = '# Generated from api/v1alpha1 by `npm run gen:crds`. Do not edit by hand.\n';

/** The CRD manifests as committed under k8s/infra/. */
export function crdFiles(): { path: string; content: string; manifest: Record<string, unknown> }[] {
  return resourceDefinitions.map((def) => {
    const manifest = customResourceDefinition(def);
    return {
      path: `k8s/infra/crd-${def.singular}.yaml`,
      content: HEADER + stringify(manifest, { lineWidth: 0 }),
      manifest,
    };
  });
}
