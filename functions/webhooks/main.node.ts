// Node entry of a per-source webhook pod: `WEBHOOK_SOURCE_NAME=<source> node functions/webhooks/main.node.ts`.
// Serves only that source (see app.ts). The webhook image runs the bundle functions/webhooks/build.ts
// makes of serve.node.ts instead (from a startup snapshot).
import { serveNode } from './serve.node.ts';

await serveNode(process.env);
