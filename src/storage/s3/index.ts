import type { StoragePlugin } from '../../core/plugin.js';
import { type S3StorageConfig, s3StorageSchema } from './config.js';

/** S3 storage; the AWS SDK is loaded only when an S3 store is opened, so local runs never pay for it. */
export const s3Storage: StoragePlugin<S3StorageConfig> = {
  type: 's3',
  configSchema: s3StorageSchema,
  async create(config) {
    // The SDK warns on every start under Node 20, which sluice supports: keep users' output clean.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    const { S3Store } = await import('./s3-store.js');
    return new S3Store(config);
  },
};
