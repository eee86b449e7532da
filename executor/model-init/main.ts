// Init-container entry point: `node executor/model-init/main.ts`. Exit 0 when the model is in place,
// 42 (never retried) for a bad URL, a refused download or a sha256 mismatch, 1 for transient failures.
import { MODELS_MOUNT } from '../../api/v1alpha1/executor-contract.ts';
import { errorMessage, exitCodeFor } from '../runtime/errors.ts';
import { initModel, MODEL_INIT_ENV } from './init.ts';

const env = process.env;
const url = env[MODEL_INIT_ENV.url];
if (!url) {
  console.error(`[model-init] ${MODEL_INIT_ENV.url} is not set`);
  process.exit(42);
}
try {
  await initModel({
    url,
    modelsDir: env[MODEL_INIT_ENV.modelsDir] || MODELS_MOUNT,
    file: env[MODEL_INIT_ENV.file] || undefined,
    sha256: env[MODEL_INIT_ENV.sha256] || undefined,
    authToken: env[MODEL_INIT_ENV.authToken] || undefined,
  });
  process.exit(0);
} catch (error) {
  console.error(`[model-init] ${errorMessage(error)}`);
  process.exit(exitCodeFor(error));
}
