import { ConfigError } from '../../core/errors.js';
import type { WarehousePlugin } from '../../core/plugin.js';
import { SNOWFLAKE_CAPABILITIES, type SnowflakeWarehouseConfig, snowflakeConfigSchema, stageStorageSchema } from './config.js';
import { snowflakeSetupScript } from './setup-sql.js';

const ROLE_ARN_PLACEHOLDER = 'arn:aws:iam::<aws-account-id>:role/<role-for-snowflake>';

/**
 * Snowflake reads batches from its stage over the storage bucket: the pipeline copies nothing.
 * `snowflake-sdk` is an optional dependency, loaded when a warehouse is opened.
 */
export const snowflakeWarehouse: WarehousePlugin<SnowflakeWarehouseConfig> = {
  type: 'snowflake',
  configSchema: snowflakeConfigSchema,
  capabilities: SNOWFLAKE_CAPABILITIES,
  async create(config) {
    const { SnowflakeWarehouse } = await import('./warehouse.js');
    return SnowflakeWarehouse.open(config);
  },
  setupScript({ config, storage, tables, options }) {
    const parsed = stageStorageSchema.safeParse(storage);
    if (!parsed.success) {
      throw new ConfigError(`storage: ${parsed.error.issues[0]?.message ?? 'not an S3 storage'}`, {
        hint: 'set storage.type: s3 (bucket, prefix): Snowflake reads the batches there',
      });
    }
    const s3 = parsed.data;
    return snowflakeSetupScript({
      config,
      bucket: s3.bucket,
      prefix: s3.prefix,
      sse: s3.sse,
      kmsKeyId: s3.kms_key_id,
      integration: options.integration ?? 'sluice_s3',
      roleArn: options['role-arn'] ?? ROLE_ARN_PLACEHOLDER,
      tables,
    });
  },
};
