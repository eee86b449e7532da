// The functions' Kubernetes client under Deno against a real apiserver (run by
// kube-http.int.test.ts with KUBE_HTTP_KUBECONFIG and KUBE_HTTP_NAMESPACE set): creates, reads and
// lists over one pool, and an apiserver error keeps its status.
import { KubeConfig } from '@kubernetes/client-node';
import { exampleInferenceRequest } from '../../api/v1alpha1/examples.ts';
import { Deno } from '../testing/deno-runtime.ts';
import { isKubeError } from './kube.ts';
import { createKubeClient } from './kube-client.ts';
import { createKubeHttp } from './kube-http.ts';

function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

Deno.test({
  name: 'creates, reads, lists and maps a 404 over one pool',
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const kc = new KubeConfig();
    kc.loadFromFile(Deno.env.get('KUBE_HTTP_KUBECONFIG')!);
    const namespace = Deno.env.get('KUBE_HTTP_NAMESPACE')!;
    const http = createKubeHttp(kc);
    const kube = createKubeClient(kc, namespace, http);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        kube.create('InferenceRequest', {
          ...exampleInferenceRequest(`deno-${i}`),
          metadata: { name: `deno-${i}` },
        }),
      ),
    );
    const got = await kube.get('InferenceRequest', 'deno-3');
    assert(got.metadata.name === 'deno-3', 'get');
    const list = await kube.list('InferenceRequest', { limit: 100 });
    assert(list.items.filter((o) => o.metadata.name.startsWith('deno-')).length === 20, 'list');
    let status = 0;
    try {
      await kube.get('InferenceRequest', 'deno-missing');
    } catch (e) {
      if (isKubeError(e)) status = e.status;
    }
    assert(status === 404, `404, got ${status}`);
    assert(http.pools === 1, 'one pool');
    await http.close();
  },
});
