// The three charts and the kustomize tree against the real test apiserver: helm lint, schema and
// validateValues errors, server-side dry run of every rendered object, the base drift check, the
// shipped instructions, the NetworkPolicies against the deployment guide and RBAC for real.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuthenticationV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { createTestNamespace, eventually, type TestNamespace } from '../test/kube.ts';
import { connectionAllowed, type Endpoint, type NetworkPolicy } from './netpol.ts';
import {
  baseFiles,
  type ChartName,
  chartNames,
  helmArgs,
  type K8sObject,
  kustomizeBuild,
  parseObjects,
  productionValues,
  renderBase,
  renderChart,
  repoRoot,
  toYamlStream,
  tryTool,
} from './render.ts';

/** Values a chart needs beyond its defaults (the webhook chart serves one named source). */
const required: Record<ChartName, Record<string, unknown>> = {
  'ai-agents-main': {},
  'ai-agents-processor': {},
  'ai-agents-webhook': { source: { name: 'github', secretName: 'github-webhook-secret' } },
};

const kubectlBin = () => join(inject('kubeBinDir'), 'kubectl');
const kubectlAdmin = (args: string[], input?: string) =>
  execFileSync(kubectlBin(), [`--kubeconfig=${inject('kubeconfig')}`, ...args], {
    encoding: 'utf8',
    input,
    stdio: ['pipe', 'pipe', 'pipe'],
  });

const CLUSTER_SCOPED = new Set([
  'Namespace',
  'CustomResourceDefinition',
  'ClusterRole',
  'ClusterRoleBinding',
]);

/** Moves namespaced objects (and RoleBinding subjects) from ai-agents into the test namespace. */
function intoNamespace(objects: K8sObject[], ns: string): K8sObject[] {
  return objects.map((o) => {
    const copy = structuredClone(o);
    if (!CLUSTER_SCOPED.has(copy.kind)) copy.metadata.namespace = ns;
    const subjects = (copy as { subjects?: { namespace?: string }[] }).subjects;
    for (const s of subjects ?? []) if (s.namespace) s.namespace = ns;
    return copy;
  });
}

function dryRun(t: TestNamespace, objects: K8sObject[]): string {
  return t.kubectl(
    [
      'apply',
      '--server-side',
      '--force-conflicts',
      '--field-manager=charts-test',
      '--dry-run=server',
      '-f',
      '-',
    ],
    toYamlStream(objects),
  );
}

let t: TestNamespace;

beforeAll(async () => {
  kubectlAdmin(['apply', '--server-side', '-f', join(repoRoot, 'charts/testdata/foreign-crds.yaml')]);
  kubectlAdmin([
    'wait',
    '--for=condition=Established',
    '--timeout=60s',
    '-f',
    join(repoRoot, 'charts/testdata/foreign-crds.yaml'),
  ]);
  t = await createTestNamespace('charts');
});

afterAll(async () => {
  await t?.cleanup();
});

describe('helm lint and template', () => {
  for (const chart of chartNames) {
    it(`${chart}: lints strictly with default values`, () => {
      const sets = Object.keys(required[chart]).length
        ? ['--set', 'source.name=github,source.secretName=gh']
        : [];
      const r = tryTool('helm', ['lint', '--strict', join(repoRoot, 'charts', chart), ...sets]);
      expect(r.output).toContain('1 chart(s) linted, 0 chart(s) failed');
      expect(r.output).not.toMatch(/\[(ERROR|WARNING)\]/);
      expect(r.ok).toBe(true);
    });

    it(`${chart}: lints strictly with the production values of its HelmRelease`, () => {
      const args = helmArgs(chart, { values: productionValues(chart) });
      const valuesFile = args[args.indexOf('--values') + 1]!;
      const r = tryTool('helm', [
        'lint',
        '--strict',
        join(repoRoot, 'charts', chart),
        '--values',
        valuesFile,
      ]);
      expect(r.output).toContain('0 chart(s) failed');
      expect(r.output).not.toMatch(/\[(ERROR|WARNING)\]/);
    });

    it(`${chart}: every value in values.yaml has a ## @param line`, () => {
      const text = readFileSync(join(repoRoot, 'charts', chart, 'values.yaml'), 'utf8');
      const documented = new Set([...text.matchAll(/^\s*## @param ([\w.]+)/gm)].map((m) => m[1]!));
      // leaves of the values tree (objects documented as a whole with [object] count as leaves)
      const values = parseObjects(`kind: V\n${text}`)[0] as unknown as Record<string, unknown>;
      const leaves: string[] = [];
      const walk = (v: unknown, path: string) => {
        if (documented.has(path)) return leaves.push(path);
        if (v && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
          for (const [k, child] of Object.entries(v)) walk(child, path ? `${path}.${k}` : k);
        } else leaves.push(path);
      };
      for (const [k, v] of Object.entries(values)) if (k !== 'kind') walk(v, k);
      expect(leaves.filter((l) => !documented.has(l))).toEqual([]);
    });
  }

  it('renders the templates the deployment guide names', () => {
    const main = renderChart('ai-agents-main');
    const kinds = (objs: K8sObject[]) => objs.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(kinds(main)).toEqual(
      expect.arrayContaining([
        'Deployment/ai-agents-api',
        'Deployment/ai-agents-app',
        'Service/ai-agents-api',
        'Service/ai-agents-app',
        'Ingress/ai-agents-public',
        'Ingress/ai-agents-protected',
        'ConfigMap/ai-agents-api',
        'ConfigMap/ai-agents-dashboard',
        'Role/ai-agents-api',
        'RoleBinding/ai-agents-api',
        'ClusterRole/ai-agents-ai-agents-api-tokenreviews',
        'ClusterRoleBinding/ai-agents-ai-agents-api-tokenreviews',
        'NetworkPolicy/ai-agents-api',
        'NetworkPolicy/ai-agents-app',
        'NetworkPolicy/ai-agents-executor',
        'PersistentVolumeClaim/ai-agents-workspace',
        'ServiceMonitor/ai-agents-api',
        'CronJob/ai-agents-cleanup',
        'CronJob/ai-agents-token-refresh',
      ]),
    );
    const withCache = renderChart('ai-agents-main', {
      set: [
        'modelsCache.enabled=true',
        'metrics.prometheusRule.enabled=true',
        'metrics.prometheusRule.rules[0].alert=X',
        'metrics.prometheusRule.rules[0].expr=up==0',
      ],
    });
    expect(kinds(withCache)).toEqual(
      expect.arrayContaining(['PersistentVolumeClaim/ai-agents-models-cache', 'PrometheusRule/ai-agents']),
    );
    // the PrometheusRule ships the rule file promtool checks, plus the extra group from values
    const rule = withCache.find((o) => o.kind === 'PrometheusRule') as K8sObject & {
      spec: { groups: { name: string; rules: unknown[] }[] };
    };
    const shipped = parseYaml(
      readFileSync(join(repoRoot, 'charts/ai-agents-main/files/prometheus-rules.yaml'), 'utf8'),
    ) as { groups: unknown[] };
    expect(rule.spec.groups).toEqual([
      ...shipped.groups,
      { name: 'ai-agents-extra', rules: [{ alert: 'X', expr: 'up==0' }] },
    ]);
    expect(kinds(renderChart('ai-agents-processor'))).toEqual(
      expect.arrayContaining([
        'Deployment/ai-agents-processor',
        'ConfigMap/ai-agents-processor',
        'Role/ai-agents-processor',
        'NetworkPolicy/ai-agents-processor',
      ]),
    );
    expect(kinds(renderChart('ai-agents-processor', { set: ['persistence.existingClaim='] }))).toContain(
      'PersistentVolumeClaim/ai-agents-processor-workspace',
    );
    expect(kinds(renderChart('ai-agents-webhook', { values: required['ai-agents-webhook'] }))).toEqual(
      expect.arrayContaining([
        'Deployment/ai-agents-webhook-github',
        'Service/ai-agents-webhook-github',
        'Ingress/ai-agents-webhook-github',
        'ConfigMap/ai-agents-webhook-github',
        'Role/ai-agents-webhook-github',
        'NetworkPolicy/ai-agents-webhook-github',
      ]),
    );
  });

  it('ingresses route the guide paths: public without middleware, protected through Authelia', () => {
    const main = renderChart('ai-agents-main');
    type Ingress = K8sObject & {
      spec: {
        rules: {
          http: { paths: { path: string; backend: { service: { name: string; port: { name: string } } } }[] };
        }[];
      };
    };
    const ing = (name: string) =>
      main.find((o) => o.kind === 'Ingress' && o.metadata.name === name) as Ingress;
    const routes = (i: Ingress) =>
      i.spec.rules[0]!.http.paths.map(
        (p) => `${p.path} -> ${p.backend.service.name}:${p.backend.service.port.name}`,
      );
    const pub = ing('ai-agents-public');
    expect(pub.metadata.annotations?.['traefik.ingress.kubernetes.io/router.middlewares']).toBeUndefined();
    expect(routes(pub)).toEqual([
      '/api/jobs/submit -> ai-agents-api:http',
      '/api/events/ingest -> ai-agents-api:http',
      '/api/webhooks -> ai-agents-api:http',
      '/health -> ai-agents-api:http',
      '/ready -> ai-agents-api:http',
      '/metrics -> ai-agents-api:http',
    ]);
    const prot = ing('ai-agents-protected');
    expect(prot.metadata.annotations?.['traefik.ingress.kubernetes.io/router.middlewares']).toBe(
      'authelia-authelia@kubernetescrd',
    );
    expect(routes(prot)).toEqual(['/api -> ai-agents-api:http', '/ -> ai-agents-app:http']);
    const svc = (name: string) =>
      main.find((o) => o.kind === 'Service' && o.metadata.name === name) as K8sObject & {
        spec: { ports: { port: number }[] };
      };
    expect(svc('ai-agents-api').spec.ports[0]!.port).toBe(3001);
    expect(svc('ai-agents-app').spec.ports[0]!.port).toBe(3000);
  });

  it('every workload has the hardened security context, /health and /ready probes and no fixed namespace', () => {
    const all = [
      ...renderChart('ai-agents-main', { namespace: 'elsewhere' }),
      ...renderChart('ai-agents-processor', { namespace: 'elsewhere' }),
      ...renderChart('ai-agents-webhook', { namespace: 'elsewhere', values: required['ai-agents-webhook'] }),
    ];
    for (const o of all) {
      if (CLUSTER_SCOPED.has(o.kind))
        expect(o.metadata.name, `${o.kind}/${o.metadata.name}`).toMatch(/^elsewhere-/);
      else expect(o.metadata.namespace, `${o.kind}/${o.metadata.name}`).toBe('elsewhere');
      for (const s of (o as { subjects?: { namespace?: string }[] }).subjects ?? []) {
        expect(s.namespace, `${o.kind}/${o.metadata.name} subject`).toBe('elsewhere');
      }
    }
    type PodSpec = {
      securityContext: Record<string, unknown>;
      containers: {
        name: string;
        securityContext: Record<string, unknown>;
        livenessProbe?: { httpGet: { path: string } };
        readinessProbe?: { httpGet: { path: string } };
      }[];
    };
    const pods: [string, PodSpec, boolean][] = [];
    for (const o of all) {
      const spec = o.spec as {
        template?: { spec: PodSpec };
        jobTemplate?: { spec: { template: { spec: PodSpec } } };
      };
      if (o.kind === 'Deployment') pods.push([o.metadata.name, spec.template!.spec, true]);
      if (o.kind === 'CronJob') pods.push([o.metadata.name, spec.jobTemplate!.spec.template.spec, false]);
    }
    expect(pods.length).toBe(6);
    for (const [name, pod, probed] of pods) {
      expect(pod.securityContext, name).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1001,
        runAsGroup: 1001,
        fsGroup: 1001,
      });
      for (const c of pod.containers) {
        expect(c.securityContext, `${name}/${c.name}`).toMatchObject({
          runAsNonRoot: true,
          runAsUser: 1001,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: ['ALL'] },
        });
        if (probed) {
          expect(c.livenessProbe?.httpGet.path, name).toBe('/health');
          expect(c.readinessProbe?.httpGet.path, name).toBe('/ready');
        }
      }
    }
  });

  it('the API gets every env var of the guide, secrets from the deployment Secret', () => {
    const main = renderChart('ai-agents-main');
    const cm = main.find(
      (o) => o.kind === 'ConfigMap' && o.metadata.name === 'ai-agents-api',
    ) as K8sObject & {
      data: Record<string, string>;
    };
    expect(cm.data).toMatchObject({
      PORT: '3001',
      LOG_LEVEL: 'info',
      WORKER_CONCURRENCY: '5',
      APP_VERSION: '0.1.0',
      WORKSPACE_DIR: '/workspace/jobs',
      ACCOUNTS_DIR: '/workspace/.accounts',
      UPLOADS_DIR: '/workspace/uploads',
      UPLOADS_PVC_NAME: 'ai-agents-workspace',
      EXECUTOR_SERVICE_ACCOUNT: 'ai-agents-executor',
      OIDC_ISSUER: 'https://auth.labrats.work',
      OIDC_CLIENT_ID: 'ai-agents',
      OIDC_REDIRECT_URI: 'https://ai-agents.labrats.work/api/auth/callback',
      PROMETHEUS_URL: 'http://prometheus-operated.monitoring.svc:9090',
    });
    expect(cm.data.EXECUTOR_IMAGE).toBe('ghcr.io/labrats-work/apps.ai-agents/executor-claude:0.1.0');
    const api = main.find(
      (o) => o.kind === 'Deployment' && o.metadata.name === 'ai-agents-api',
    ) as K8sObject & {
      spec: {
        template: {
          spec: {
            containers: {
              env: { name: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
            }[];
          };
        };
      };
    };
    const secretEnv = Object.fromEntries(
      api.spec.template.spec.containers[0]!.env.filter((e) => e.valueFrom?.secretKeyRef).map((e) => [
        e.name,
        `${e.valueFrom!.secretKeyRef!.name}/${e.valueFrom!.secretKeyRef!.key}`,
      ]),
    );
    expect(secretEnv).toEqual({
      JWT_SECRET: 'ai-agents-secrets/JWT_SECRET',
      OIDC_CLIENT_SECRET: 'ai-agents-secrets/OIDC_CLIENT_SECRET',
      SUBMIT_API_KEYS: 'ai-agents-secrets/SUBMIT_API_KEYS',
      INGEST_TOKEN_SECRET: 'ai-agents-secrets/INGEST_TOKEN_SECRET',
    });
    const processorCm = renderChart('ai-agents-processor').find(
      (o) => o.kind === 'ConfigMap',
    ) as K8sObject & {
      data: Record<string, string>;
    };
    expect(Object.keys(processorCm.data)).toEqual(
      expect.arrayContaining([
        'PORT',
        'LOG_LEVEL',
        'WORKER_CONCURRENCY',
        'UPLOADS_DIR',
        'UPLOADS_PVC_NAME',
        'EXECUTOR_IMAGE',
        'EXECUTOR_SERVICE_ACCOUNT',
        'INGEST_URL',
        'WORKSPACE_PVC_NAME',
        'UPLOADS_SUBPATH',
      ]),
    );
    expect(processorCm.data.INGEST_URL).toBe('http://ai-agents-api.ai-agents.svc:3001/api/events/ingest');
    // callbacks go anywhere but loopback and the like unless the value lists where
    expect(processorCm.data.CALLBACK_ALLOWED_HOSTS).toBeUndefined();
    const restricted = renderChart('ai-agents-processor', {
      values: { callbackAllowedHosts: '*.example.com,10.0.0.0/8' },
    }).find((o) => o.kind === 'ConfigMap') as K8sObject & { data: Record<string, string> };
    expect(restricted.data.CALLBACK_ALLOWED_HOSTS).toBe('*.example.com,10.0.0.0/8');
    const webhookCm = renderChart('ai-agents-webhook', { values: required['ai-agents-webhook'] }).find(
      (o) => o.kind === 'ConfigMap',
    ) as K8sObject & { data: Record<string, string> };
    expect(webhookCm.data.WEBHOOK_SOURCE_NAME).toBe('github');
  });
});

describe('values.schema.json and validateValues reject bad values with clear messages', () => {
  const cases: [ChartName, string[], RegExp[]][] = [
    ['ai-agents-main', ['api.replicaCount=-1'], [/\/api\/replicaCount.*minimum: got -1, want 0/]],
    [
      'ai-agents-main',
      ['api.containerSecurityContext.privileged=true'],
      [/\/api\/containerSecurityContext\/privileged.*value must be false/],
    ],
    [
      'ai-agents-main',
      ['app.podSecurityContext.runAsNonRoot=false'],
      [/\/app\/podSecurityContext\/runAsNonRoot.*value must be true/],
    ],
    ['ai-agents-main', ['logLevel=loud'], [/\/logLevel.*value must be one of/]],
    ['ai-agents-main', ['persistence.size=lots'], [/\/persistence\/size/]],
    ['ai-agents-main', ['housekeeping.cleanup.schedule=hourly'], [/\/housekeeping\/cleanup\/schedule/]],
    ['ai-agents-main', ['typoedKey=1'], [/additional properties 'typoedKey' not allowed/]],
    ['ai-agents-main', ['api.image.digest=md5:abc'], [/\/api\/image\/digest/]],
    ['ai-agents-main', ['networkPolicy.kubeApi.cidrs[0]=not-a-cidr'], [/\/networkPolicy\/kubeApi\/cidrs\/0/]],
    [
      'ai-agents-main',
      ['secrets.existingSecret='],
      [
        /VALUES VALIDATION:/,
        /secrets: set secrets.existingSecret to the Secret holding OIDC_CLIENT_SECRET, JWT_SECRET, SUBMIT_API_KEYS and INGEST_TOKEN_SECRET/,
      ],
    ],
    [
      'ai-agents-main',
      ['secrets.create=true', 'secrets.jwtSecret=short'],
      [
        /secrets.jwtSecret: must be at least 32 characters/,
        /secrets.ingestTokenSecret: must be at least 32 characters/,
        /secrets.submitApiKeys: must not be empty/,
      ],
    ],
    [
      'ai-agents-main',
      ['api.replicaCount=3', 'persistence.accessModes[0]=ReadWriteOnce'],
      [/persistence.accessModes: api.replicaCount=3 needs ReadWriteMany/],
    ],
    ['ai-agents-main', ['ingress.hostname='], [/ingress.hostname: required when ingress.enabled=true/]],
    ['ai-agents-processor', ['replicaCount=9'], [/\/replicaCount.*maximum: got 9, want 5/]],
    [
      'ai-agents-processor',
      ['executor.serviceAccountName='],
      [/executor.serviceAccountName: name the ServiceAccount executor Jobs run as/],
    ],
    ['ai-agents-processor', ['ingestUrl=ftp://x'], [/\/ingestUrl/]],
    ['ai-agents-webhook', [], [/source.name: required/, /source.secretName: required/]],
    ['ai-agents-webhook', ['source.name=Bad_Name', 'source.secretName=s'], [/\/source\/name/]],
    [
      'ai-agents-webhook',
      ['source.name=gh', 'source.secretName=s', 'ingress.path=/hooks/gh'],
      [/ingress.path: "\/hooks\/gh" must start with \/api\/webhooks\//],
    ],
  ];
  for (const [chart, sets, messages] of cases) {
    it(`${chart} --set ${sets.join(' ') || '(defaults)'}`, () => {
      const r = tryTool('helm', helmArgs(chart, { set: sets }));
      expect(r.ok).toBe(false);
      for (const m of messages) expect(r.output).toMatch(m);
    });
  }
});

describe('server-side dry run against the real apiserver', () => {
  for (const chart of chartNames) {
    for (const variant of ['default', 'production'] as const) {
      it(`${chart} with ${variant} values`, () => {
        const values = variant === 'production' ? productionValues(chart) : required[chart];
        const objects = renderChart(chart, { namespace: t.name, values });
        expect(objects.length).toBeGreaterThan(4);
        const out = dryRun(t, objects);
        for (const o of objects)
          expect(out).toContain(`${o.metadata.name} serverside-applied (server dry run)`);
      });
    }
  }

  it('the main chart with every optional part enabled', () => {
    const objects = renderChart('ai-agents-main', {
      namespace: t.name,
      set: [
        'modelsCache.enabled=true',
        'secrets.create=true',
        'secrets.jwtSecret=0123456789abcdef0123456789abcdef',
        'secrets.submitApiKeys=k1',
        'secrets.ingestTokenSecret=fedcba9876543210fedcba9876543210',
        'metrics.prometheusRule.enabled=true',
        'metrics.prometheusRule.rules[0].alert=AiAgentsDown',
        'metrics.prometheusRule.rules[0].expr=up{job="ai-agents-api"}==0',
        'housekeeping.cleanup.dryRun=true',
        'networkPolicy.executor.allowGitHubSsh=true',
      ],
    });
    expect(objects.map((o) => o.kind)).toEqual(expect.arrayContaining(['Secret', 'PrometheusRule']));
    expect(dryRun(t, objects)).toContain('serverside-applied (server dry run)');
  });

  for (const dir of [
    'k8s/base',
    'k8s/infra',
    'k8s/instructions',
    'k8s/releases',
    'k8s/envs/dev',
    'k8s/envs/prod',
    'k8s/overlays/production',
  ]) {
    it(`kustomize build ${dir}`, () => {
      const objects = intoNamespace(kustomizeBuild(dir), t.name);
      expect(objects.length).toBeGreaterThan(0);
      const out = dryRun(t, objects);
      for (const o of objects)
        expect(out).toContain(`${o.metadata.name} serverside-applied (server dry run)`);
    });
  }

  it('a bad object is refused by the dry run (the check is real)', () => {
    const bad = intoNamespace(kustomizeBuild('k8s/instructions'), t.name).slice(0, 1);
    (bad[0] as { spec: Record<string, unknown> }).spec.type = 'local';
    delete (bad[0] as { spec: Record<string, unknown> }).spec.agents;
    expect(() => dryRun(t, bad)).toThrow(/a local instruction must list the agents it applies to/);
  });
});

describe('k8s tree', () => {
  it('k8s/base is generated from the charts and up to date', () => {
    for (const { file, chart, release } of baseFiles) {
      expect(readFileSync(join(repoRoot, file), 'utf8'), `${file}: run node charts/render.ts base`).toBe(
        renderBase(chart, release),
      );
    }
  });

  it('ships the 14 instructions with the guide priorities and agents', () => {
    const instructions = kustomizeBuild('k8s/instructions') as (K8sObject & {
      spec: { type: string; priority?: number; agents?: string[]; content: string };
    })[];
    const summary = Object.fromEntries(
      instructions.map((i) => [i.metadata.name, i.spec.type === 'global' ? i.spec.priority : i.spec.agents]),
    );
    expect(summary).toEqual({
      'global-code-quality': 10,
      'global-commit-format': 20,
      'global-security': 30,
      'global-documentation': 40,
      'global-testing': 50,
      'global-repo-compliance': 60,
      'local-developer-workflow': ['developer', 'codex-developer'],
      'local-reviewer-checklist': ['reviewer', 'codex-reviewer'],
      'local-docs-standards': ['docs'],
      'local-architect-design': ['architect'],
      'local-ops-runbook': ['ops'],
      'local-security-audit': ['security'],
      'local-triage-process': ['triage'],
      'local-testing-strategy': ['testing'],
    });
    for (const i of instructions) expect(i.spec.content.length, i.metadata.name).toBeGreaterThan(400);
  });

  it('infra holds the CRDs, ExternalSecrets for the required keys, the SecretStore and NetworkPolicies', () => {
    const infra = kustomizeBuild('k8s/infra');
    expect(
      infra
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual([
      'aiagents.labrats.work',
      'aiconfigs.labrats.work',
      'aiinstructions.labrats.work',
      'aimodels.labrats.work',
      'inferencerequests.labrats.work',
      'webhooksources.labrats.work',
    ]);
    const apiSecret = infra.find(
      (o) => o.kind === 'ExternalSecret' && o.metadata.name === 'ai-agents-secrets',
    ) as K8sObject & {
      spec: { data: { secretKey: string }[]; secretStoreRef: { name: string } };
    };
    expect(apiSecret.spec.data.map((d) => d.secretKey)).toEqual(
      expect.arrayContaining(['OIDC_CLIENT_SECRET', 'JWT_SECRET', 'SUBMIT_API_KEYS']),
    );
    expect(
      infra.some((o) => o.kind === 'SecretStore' && o.metadata.name === apiSecret.spec.secretStoreRef.name),
    ).toBe(true);
    expect(
      infra.some((o) => o.kind === 'ExternalSecret' && o.metadata.name === 'github-app-credentials'),
    ).toBe(true);
    expect(infra.filter((o) => o.kind === 'NetworkPolicy').length).toBeGreaterThanOrEqual(2);
    const ns = kustomizeBuild('k8s/overlays/production').find((o) => o.kind === 'Namespace');
    expect(ns?.metadata.name).toBe('ai-agents');
  });
});

describe('NetworkPolicies follow the deployment guide', () => {
  // production: the HelmReleases' values plus the infra policies, all in namespace ai-agents
  const policies = () =>
    [
      ...renderChart('ai-agents-main', { values: productionValues('ai-agents-main') }),
      ...renderChart('ai-agents-processor', {
        release: 'ai-agents-processor',
        values: productionValues('ai-agents-processor'),
      }),
      ...renderChart('ai-agents-webhook', {
        release: 'ai-agents-webhook-alertmanager',
        values: productionValues('ai-agents-webhook'),
      }),
      ...kustomizeBuild('k8s/infra'),
    ].filter((o): o is K8sObject & NetworkPolicy => o.kind === 'NetworkPolicy');
  const podLabels = (objects: K8sObject[], name: string) =>
    (
      objects.find((o) => o.kind === 'Deployment' && o.metadata.name === name) as K8sObject & {
        spec: { template: { metadata: { labels: Record<string, string> } } };
      }
    ).spec.template.metadata.labels;

  const main = renderChart('ai-agents-main', { values: productionValues('ai-agents-main') });
  const processor = renderChart('ai-agents-processor', {
    release: 'ai-agents-processor',
    values: productionValues('ai-agents-processor'),
  });
  const webhook = renderChart('ai-agents-webhook', {
    release: 'ai-agents-webhook-alertmanager',
    values: productionValues('ai-agents-webhook'),
  });
  const pod = (name: string, namespace: string, labels: Record<string, string>): Endpoint => ({
    kind: 'pod',
    name,
    namespace,
    labels,
  });
  const ep = {
    api: pod('api', 'ai-agents', podLabels(main, 'ai-agents-api')),
    app: pod('app', 'ai-agents', podLabels(main, 'ai-agents-app')),
    processor: pod('processor', 'ai-agents', podLabels(processor, 'ai-agents-processor')),
    webhook: pod('webhook', 'ai-agents', podLabels(webhook, 'ai-agents-webhook-alertmanager')),
    executor: pod('executor', 'ai-agents', {
      'app.kubernetes.io/managed-by': 'ai-agents-controller',
      'app.kubernetes.io/part-of': 'ai-agents',
      'app.kubernetes.io/component': 'executor',
      'labrats.work/inference-request': 'r-1',
    }),
    stray: pod('stray', 'ai-agents', { app: 'debug' }),
    traefik: pod('traefik', 'traefik', { 'app.kubernetes.io/name': 'traefik' }),
    traefikOther: pod('not-traefik', 'traefik', { app: 'whoami' }),
    githubClient: pod('github-client', 'github-ai-agents', { app: 'runner' }),
    readerClient: pod('reader-client', 'reader-ai-agents', { app: 'reader' }),
    otherNs: pod('other', 'default', { app: 'curl' }),
    prometheus: pod('prometheus', 'monitoring', { 'app.kubernetes.io/name': 'prometheus' }),
    dns: pod('coredns', 'kube-system', { 'k8s-app': 'kube-dns' }),
    kubeApi: { kind: 'ip', name: 'kube-apiserver', ip: '10.43.0.1' } as Endpoint,
    github: { kind: 'ip', name: 'github.com', ip: '140.82.112.3' } as Endpoint,
    provider: { kind: 'ip', name: 'api.anthropic.com', ip: '160.79.104.10' } as Endpoint,
    internet: { kind: 'ip', name: 'some host', ip: '203.0.113.5' } as Endpoint,
  };
  type Name = keyof typeof ep;
  const table: [Name, Name, number, 'TCP' | 'UDP', boolean][] = [
    // API ingress: Traefik, App, client namespaces (+ executors' ingest and Prometheus scrapes)
    ['traefik', 'api', 3001, 'TCP', true],
    ['app', 'api', 3001, 'TCP', true],
    ['githubClient', 'api', 3001, 'TCP', true],
    ['readerClient', 'api', 3001, 'TCP', true],
    ['executor', 'api', 3001, 'TCP', true],
    ['prometheus', 'api', 3001, 'TCP', true],
    ['traefikOther', 'api', 3001, 'TCP', false],
    ['otherNs', 'api', 3001, 'TCP', false],
    ['stray', 'api', 3001, 'TCP', false],
    ['processor', 'api', 3001, 'TCP', false],
    ['traefik', 'api', 9229, 'TCP', false],
    // API egress: Kubernetes API, DNS, HTTPS (OIDC, GitHub, callbacks), Prometheus
    ['api', 'kubeApi', 443, 'TCP', true],
    ['api', 'kubeApi', 6443, 'TCP', true],
    ['api', 'dns', 53, 'UDP', true],
    ['api', 'dns', 53, 'TCP', true],
    ['api', 'github', 443, 'TCP', true],
    ['api', 'internet', 443, 'TCP', true],
    ['api', 'prometheus', 9090, 'TCP', true],
    ['api', 'internet', 80, 'TCP', false],
    ['api', 'github', 22, 'TCP', false],
    ['api', 'app', 3000, 'TCP', false],
    ['api', 'executor', 8080, 'TCP', false],
    // App ingress: Traefik only
    ['traefik', 'app', 3000, 'TCP', true],
    ['api', 'app', 3000, 'TCP', false],
    ['githubClient', 'app', 3000, 'TCP', false],
    ['otherNs', 'app', 3000, 'TCP', false],
    ['prometheus', 'app', 3000, 'TCP', false],
    // App egress: API pod, DNS
    ['app', 'dns', 53, 'UDP', true],
    ['app', 'kubeApi', 443, 'TCP', false],
    ['app', 'internet', 443, 'TCP', false],
    ['app', 'processor', 3001, 'TCP', false],
    // Executor Jobs: egress to the Kubernetes API, DNS, HTTPS to the provider, optional GitHub
    ['executor', 'kubeApi', 443, 'TCP', true],
    ['executor', 'dns', 53, 'UDP', true],
    ['executor', 'provider', 443, 'TCP', true],
    ['executor', 'github', 443, 'TCP', true],
    ['executor', 'github', 22, 'TCP', true],
    ['executor', 'internet', 22, 'TCP', false],
    ['executor', 'internet', 80, 'TCP', false],
    ['executor', 'app', 3000, 'TCP', false],
    ['executor', 'processor', 3001, 'TCP', false],
    ['executor', 'otherNs', 8080, 'TCP', false],
    ['traefik', 'executor', 8080, 'TCP', false],
    ['api', 'executor', 8080, 'TCP', false],
    // processor: Kubernetes API, DNS, HTTPS callbacks; only Prometheus reaches it
    ['processor', 'kubeApi', 6443, 'TCP', true],
    ['processor', 'internet', 443, 'TCP', true],
    ['processor', 'internet', 80, 'TCP', false],
    ['prometheus', 'processor', 3001, 'TCP', true],
    ['traefik', 'processor', 3001, 'TCP', false],
    // webhook receivers: Traefik in, Kubernetes API + DNS out
    ['traefik', 'webhook', 3001, 'TCP', true],
    ['otherNs', 'webhook', 3001, 'TCP', false],
    ['webhook', 'kubeApi', 443, 'TCP', true],
    ['webhook', 'internet', 443, 'TCP', false],
    // default deny for anything without a policy of its own
    ['stray', 'internet', 443, 'TCP', false],
    ['otherNs', 'stray', 80, 'TCP', false],
  ];
  const all = policies();
  for (const [from, to, port, proto, expected] of table) {
    it(`${from} → ${to}:${port}/${proto} is ${expected ? 'allowed' : 'denied'}`, () => {
      expect(connectionAllowed(all, ep[from], ep[to], port, proto)).toBe(expected);
    });
  }

  it('the rendered policies are admitted by the apiserver', () => {
    expect(dryRun(t, intoNamespace(all, t.name))).toContain('serverside-applied (server dry run)');
  });
});

describe('RBAC for real', () => {
  let ns: string;
  const sa = (name: string) => `system:serviceaccount:${ns}:${name}`;
  // resource: `plural[.group][/name][#subresource]`
  const canI = (who: string, verb: string, resource: string, namespace = ns) => {
    const [res, sub] = resource.split('#');
    const args = ['auth', 'can-i', verb, res!, '-n', namespace, `--as=${who}`];
    if (sub) args.push(`--subresource=${sub}`);
    try {
      return kubectlAdmin(args).trim() === 'yes';
    } catch (e) {
      const out = `${(e as { stdout?: string }).stdout ?? ''}`.trim();
      if (out === 'no') return false;
      throw e;
    }
  };

  // cluster-scoped (named per release namespace): deleting the test namespace leaves them
  let clusterScoped: K8sObject[] = [];
  afterAll(() => {
    for (const o of clusterScoped) {
      kubectlAdmin(['delete', '--ignore-not-found', o.kind.toLowerCase(), o.metadata.name]);
    }
  });

  beforeAll(() => {
    ns = t.name;
    const rbacKinds = new Set(['ServiceAccount', 'Role', 'RoleBinding', 'ClusterRole', 'ClusterRoleBinding']);
    const objects = [
      ...renderChart('ai-agents-main', { namespace: ns, values: productionValues('ai-agents-main') }),
      ...renderChart('ai-agents-processor', {
        namespace: ns,
        release: 'ai-agents-processor',
        values: productionValues('ai-agents-processor'),
      }),
      ...renderChart('ai-agents-webhook', {
        namespace: ns,
        release: 'ai-agents-webhook-github',
        values: required['ai-agents-webhook'],
      }),
    ].filter((o) => rbacKinds.has(o.kind));
    clusterScoped = objects.filter((o) => CLUSTER_SCOPED.has(o.kind));
    kubectlAdmin(['apply', '--server-side', '-n', ns, '-f', '-'], toYamlStream(objects));
  });

  const table: [string, string, string, boolean][] = [
    // processor (controller)
    ['ai-agents-processor', 'watch', 'inferencerequests.labrats.work', true],
    ['ai-agents-processor', 'list', 'aimodels.labrats.work', true],
    ['ai-agents-processor', 'list', 'aiagents.labrats.work', true],
    ['ai-agents-processor', 'list', 'aiconfigs.labrats.work', true],
    ['ai-agents-processor', 'list', 'aiinstructions.labrats.work', true],
    ['ai-agents-processor', 'watch', 'webhooksources.labrats.work', true],
    ['ai-agents-processor', 'patch', 'inferencerequests.labrats.work#status', true],
    ['ai-agents-processor', 'update', 'webhooksources.labrats.work#status', true],
    ['ai-agents-processor', 'create', 'jobs.batch', true],
    ['ai-agents-processor', 'delete', 'jobs.batch', true],
    ['ai-agents-processor', 'watch', 'pods', true],
    ['ai-agents-processor', 'create', 'secrets', true],
    ['ai-agents-processor', 'delete', 'secrets', true],
    // adopting an orphaned child it labelled (AlreadyExists → check the labels → set the owner)
    ['ai-agents-processor', 'patch', 'jobs.batch', true],
    ['ai-agents-processor', 'patch', 'secrets', true],
    ['ai-agents-processor', 'create', 'configmaps', false],
    ['ai-agents-processor', 'update', 'leases.coordination.k8s.io', true],
    ['ai-agents-processor', 'create', 'events', true],
    ['ai-agents-processor', 'create', 'deployments.apps', true],
    ['ai-agents-processor', 'patch', 'services', true],
    ['ai-agents-processor', 'delete', 'ingresses.networking.k8s.io', true],
    ['ai-agents-processor', 'update', 'inferencerequests.labrats.work', false],
    ['ai-agents-processor', 'delete', 'inferencerequests.labrats.work', false],
    ['ai-agents-processor', 'create', 'pods', false],
    ['ai-agents-processor', 'create', 'pods#exec', false],
    ['ai-agents-processor', 'update', 'secrets', false],
    ['ai-agents-processor', 'create', 'roles.rbac.authorization.k8s.io', false],
    ['ai-agents-processor', 'create', 'rolebindings.rbac.authorization.k8s.io', false],
    ['ai-agents-processor', 'delete', 'persistentvolumeclaims', false],
    ['ai-agents-processor', 'create', 'networkpolicies.networking.k8s.io', false],
    ['ai-agents-processor', 'create', 'tokenreviews.authentication.k8s.io', false],
    // API (functions)
    ['ai-agents-api', 'create', 'inferencerequests.labrats.work', true],
    ['ai-agents-api', 'patch', 'inferencerequests.labrats.work', true],
    ['ai-agents-api', 'list', 'inferencerequests.labrats.work', true],
    ['ai-agents-api', 'delete', 'inferencerequests.labrats.work', true],
    ['ai-agents-api', 'patch', 'inferencerequests.labrats.work#status', true],
    ['ai-agents-api', 'create', 'aiagents.labrats.work', true],
    ['ai-agents-api', 'update', 'aimodels.labrats.work', true],
    ['ai-agents-api', 'delete', 'webhooksources.labrats.work', true],
    ['ai-agents-api', 'list', 'secrets', true],
    ['ai-agents-api', 'update', 'inferencerequests.labrats.work', false],
    ['ai-agents-api', 'update', 'inferencerequests.labrats.work#status', false],
    ['ai-agents-api', 'create', 'secrets', false],
    ['ai-agents-api', 'update', 'secrets', false],
    ['ai-agents-api', 'list', 'jobs.batch', false],
    ['ai-agents-api', 'create', 'jobs.batch', false],
    ['ai-agents-api', 'create', 'pods', false],
    ['ai-agents-api', 'create', 'pods#exec', false],
    ['ai-agents-api', 'create', 'deployments.apps', false],
    ['ai-agents-api', 'update', 'leases.coordination.k8s.io', false],
    ['ai-agents-api', 'create', 'rolebindings.rbac.authorization.k8s.io', false],
    // ingest checks executors' ServiceAccount tokens: a TokenReview, then the token's pod
    ['ai-agents-api', 'create', 'tokenreviews.authentication.k8s.io', true],
    ['ai-agents-api', 'get', 'pods', true],
    ['ai-agents-api', 'list', 'pods', false],
    ['ai-agents-api', 'watch', 'pods', false],
    ['ai-agents-api', 'create', 'subjectaccessreviews.authorization.k8s.io', false],
    ['ai-agents-api', 'create', 'serviceaccounts#token', false],
    // executor Jobs: only their credentials Secret
    ['ai-agents-executor', 'update', 'secrets/claude-credentials', true],
    ['ai-agents-executor', 'get', 'secrets/claude-credentials', true],
    ['ai-agents-executor', 'get', 'secrets/ai-agents-secrets', false],
    ['ai-agents-executor', 'list', 'secrets', false],
    ['ai-agents-executor', 'list', 'inferencerequests.labrats.work', false],
    ['ai-agents-executor', 'create', 'pods', false],
    // housekeeping CronJobs
    ['ai-agents-housekeeping', 'list', 'inferencerequests.labrats.work', true],
    ['ai-agents-housekeeping', 'list', 'aimodels.labrats.work', true],
    ['ai-agents-housekeeping', 'patch', 'aimodels.labrats.work#status', true],
    ['ai-agents-housekeeping', 'update', 'secrets', true],
    ['ai-agents-housekeeping', 'delete', 'inferencerequests.labrats.work', false],
    ['ai-agents-housekeeping', 'list', 'secrets', false],
    ['ai-agents-housekeeping', 'create', 'jobs.batch', false],
    // webhook receiver: its source, its HMAC Secret, create requests
    ['ai-agents-webhook-github', 'get', 'webhooksources.labrats.work/github', true],
    ['ai-agents-webhook-github', 'get', 'webhooksources.labrats.work/other', false],
    ['ai-agents-webhook-github', 'get', 'secrets/github-webhook-secret', true],
    ['ai-agents-webhook-github', 'get', 'secrets/ai-agents-secrets', false],
    ['ai-agents-webhook-github', 'create', 'inferencerequests.labrats.work', true],
    ['ai-agents-webhook-github', 'get', 'inferencerequests.labrats.work', true],
    ['ai-agents-webhook-github', 'list', 'inferencerequests.labrats.work', false],
    ['ai-agents-webhook-github', 'patch', 'inferencerequests.labrats.work', false],
    ['ai-agents-webhook-github', 'create', 'jobs.batch', false],
    ['ai-agents-webhook-github', 'create', 'tokenreviews.authentication.k8s.io', false],
  ];
  for (const [who, verb, resource, expected] of table) {
    it(`${who} ${expected ? 'may' : 'may not'} ${verb} ${resource}`, () => {
      expect(canI(sa(who), verb, resource)).toBe(expected);
    });
  }

  it("the API's Role is exactly functions/rbac.yaml, the Role the functions are tested with", () => {
    const functionsRole = parseObjects(
      readFileSync(join(repoRoot, 'functions/rbac.yaml'), 'utf8'),
    )[0] as K8sObject & {
      rules: unknown[];
    };
    const chartRole = renderChart('ai-agents-main').find(
      (o) => o.kind === 'Role' && o.metadata.name === 'ai-agents-api',
    ) as K8sObject & { rules: unknown[] };
    expect(chartRole.rules).toEqual(functionsRole.rules);
  });

  it("the API's ClusterRole is exactly functions/rbac-cluster.yaml, bound to the API in its release namespace only", () => {
    const functionsClusterRole = parseObjects(
      readFileSync(join(repoRoot, 'functions/rbac-cluster.yaml'), 'utf8'),
    )[0] as K8sObject & { rules: unknown[] };
    expect(functionsClusterRole.kind).toBe('ClusterRole');
    const clusterObjects = (namespace: string) =>
      renderChart('ai-agents-main', { namespace }).filter((o) => CLUSTER_SCOPED.has(o.kind)) as (K8sObject & {
        rules?: unknown[];
        roleRef?: { kind: string; name: string };
        subjects?: { kind: string; name: string; namespace: string }[];
      })[];
    const here = clusterObjects('team-a');
    expect(here.map((o) => `${o.kind}/${o.metadata.name}`).sort()).toEqual([
      'ClusterRole/team-a-ai-agents-api-tokenreviews',
      'ClusterRoleBinding/team-a-ai-agents-api-tokenreviews',
    ]);
    const role = here.find((o) => o.kind === 'ClusterRole')!;
    expect(role.rules).toEqual(functionsClusterRole.rules);
    const binding = here.find((o) => o.kind === 'ClusterRoleBinding')!;
    expect(binding.roleRef).toMatchObject({ kind: 'ClusterRole', name: role.metadata.name });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'ai-agents-api', namespace: 'team-a' },
    ]);
    // two releases of the chart in two namespaces do not share (or overwrite) them
    const names = (objs: K8sObject[]) => objs.map((o) => o.metadata.name);
    for (const name of names(clusterObjects('team-b'))) expect(names(here)).not.toContain(name);
    // and api.rbac.create=false leaves them out with the Role
    const off = renderChart('ai-agents-main', { set: ['api.rbac.create=false'] });
    expect(off.filter((o) => o.metadata.name.includes('ai-agents-api') && /Role/.test(o.kind))).toEqual([]);
  });

  it('no identity has rights outside its namespace', () => {
    for (const who of [
      'ai-agents-processor',
      'ai-agents-api',
      'ai-agents-executor',
      'ai-agents-housekeeping',
      'ai-agents-webhook-github',
    ]) {
      expect(canI(sa(who), 'list', 'inferencerequests.labrats.work', 'default'), who).toBe(false);
      expect(canI(sa(who), 'get', 'secrets', 'kube-system'), who).toBe(false);
      expect(canI(sa(who), 'list', 'nodes', 'default'), who).toBe(false);
    }
  });

  it('real calls with the processor and API service-account tokens succeed and are refused as granted', async () => {
    const token = (name: string) =>
      kubectlAdmin(['create', 'token', name, '-n', ns, '--duration=10m']).trim();
    const clientFor = (name: string) => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'test', server: inject('apiServer'), skipTLSVerify: true }],
        users: [{ name, token: token(name) }],
        contexts: [{ name: 'test', cluster: 'test', user: name }],
        currentContext: 'test',
      });
      return {
        core: kc.makeApiClient(CoreV1Api),
        custom: kc.makeApiClient(CustomObjectsApi),
        auth: kc.makeApiClient(AuthenticationV1Api),
      };
    };
    const status = async (p: Promise<unknown>) =>
      p.then(
        () => 200,
        (e: { code?: number }) => e.code ?? 0,
      );
    const ir = { group: 'labrats.work', version: 'v1alpha1', namespace: ns, plural: 'inferencerequests' };
    const processor = clientFor('ai-agents-processor');
    // a CRD applied with the charts a moment ago answers 429 while its storage (re)initializes
    const listed = await eventually(
      'the processor lists requests (not 429)',
      async () => {
        const code = await status(processor.custom.listNamespacedCustomObject(ir));
        return code === 429 ? undefined : code;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(listed).toBe(200);
    expect(await status(processor.core.listNamespacedPod({ namespace: ns }))).toBe(200);
    expect(
      await status(
        processor.core.createNamespacedSecret({
          namespace: ns,
          body: { metadata: { name: 'rbac-probe' }, stringData: { a: 'b' } },
        }),
      ),
    ).toBe(200);
    expect(await status(processor.core.deleteNamespacedSecret({ name: 'rbac-probe', namespace: ns }))).toBe(
      200,
    );
    expect(
      await status(
        processor.core.createNamespacedConfigMap({
          namespace: ns,
          body: { metadata: { name: 'rbac-probe' }, data: { a: 'b' } },
        }),
      ),
    ).toBe(403);
    expect(await status(processor.core.listNamespacedSecret({ namespace: 'kube-system' }))).toBe(403);
    expect(
      await status(
        processor.custom.createNamespacedCustomObject({
          ...ir,
          body: {
            apiVersion: 'labrats.work/v1alpha1',
            kind: 'InferenceRequest',
            metadata: { name: 'nope' },
            spec: { agent: 'developer', prompt: 'x' },
          },
        }),
      ),
    ).toBe(403);

    const api = clientFor('ai-agents-api');
    expect(await status(api.custom.listNamespacedCustomObject(ir))).toBe(200);
    expect(await status(api.core.listNamespacedSecret({ namespace: ns }))).toBe(200);
    expect(await status(api.core.listNamespacedSecret({ namespace: 'kube-system' }))).toBe(403);
    expect(await status(api.core.listNamespacedConfigMap({ namespace: ns }))).toBe(403);
    // the TokenReview ingest makes (a token nobody issued: not authenticated, but allowed to ask)
    const review = (await api.auth.createTokenReview({
      body: { spec: { token: 'not-a-token', audiences: ['ai-agents-ingest'] } },
    })) as { status?: { authenticated?: boolean } };
    expect(review.status?.authenticated).toBeFalsy();
    expect(await status(processor.auth.createTokenReview({ body: { spec: { token: 'x' } } }))).toBe(403);
    expect(
      await status(
        api.core.createNamespacedPod({
          namespace: ns,
          body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'x' }] } },
        }),
      ),
    ).toBe(403);
  });
});
