// Node entry: `node functions/main.node.ts`. The API image runs the bundle functions/build.ts makes
// of serve.node.ts instead (from a startup snapshot).
import { serveNode } from './serve.node.ts';

await serveNode(process.env);
