import { z } from 'zod';

export const GROUP = 'labrats.work';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** RFC 1123 subdomain: what Kubernetes accepts as an object name. */
export const objectName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 name');

/** RFC 1123 label: names that also end up in labels or DNS (≤ 63 characters). */
export const labelName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'must be a lowercase RFC 1123 label');

export const httpUrl = z
  .string()
  .max(2048)
  .regex(/^https?:\/\/[^\s/?#]+[^\s]*$/, 'must be an http(s) URL');

export const gitUrl = z
  .string()
  .max(2048)
  .regex(/^((https?|ssh|git|file):\/\/[^\s]+|[A-Za-z0-9._-]+@[^\s:]+:[^\s]+)$/, 'must be a git URL');

export const timestamp = z.string().meta({ format: 'date-time' });

export const secretKeyRef = z.strictObject({
  name: objectName,
  key: z
    .string()
    .min(1)
    .max(253)
    .regex(/^[-._a-zA-Z0-9]+$/)
    .optional(),
});

export const localRef = z.strictObject({ name: objectName });

export const stringMap = z.record(z.string().max(253), z.string().max(1024));

export const conditionStatus = z.enum(['True', 'False', 'Unknown']);

/** metav1.Condition */
export const condition = z.strictObject({
  type: z.string().min(1).max(316),
  status: conditionStatus,
  reason: z.string().max(1024).optional(),
  message: z.string().max(32768).optional(),
  lastTransitionTime: timestamp,
  observedGeneration: z.int().min(0).optional(),
});
export type Condition = z.infer<typeof condition>;

export const conditions = z
  .array(condition)
  .max(32)
  .meta({
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });

/** Quantities such as "500m" or "2Gi" (strings here; the apiserver parses them on Pods). */
export const resourceList = z.record(
  z.string(),
  z
    .string()
    .max(64)
    .regex(/^[0-9.]+[a-zA-Z]*$/, 'must be a quantity such as 500m or 2Gi'),
);

export const resources = z.strictObject({
  requests: resourceList.optional(),
  limits: resourceList.optional(),
});

export const envVar = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(256)
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/),
  value: z.string().max(32768),
});

/** Minimal object metadata as our code reads it; the apiserver owns the full shape. */
export const objectMeta = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.union([z.string(), z.date()]).optional(),
  deletionTimestamp: z.union([z.string(), z.date()]).optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  ownerReferences: z.array(z.looseObject({})).optional(),
  finalizers: z.array(z.string()).optional(),
});
export type ObjectMeta = z.infer<typeof objectMeta>;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** Everything needed to describe one custom resource: schema plus CRD naming. */
export interface ResourceDefinition<Spec extends z.ZodType, Status extends z.ZodType> {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  spec: Spec;
  status: Status;
  printerColumns: PrinterColumn[];
  /** CEL rules on the whole spec (x-kubernetes-validations). */
  specValidations?: { rule: string; message: string }[];
}
