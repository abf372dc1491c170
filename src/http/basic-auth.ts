import { registerSecret } from '../core/redact.js';

/**
 * The `Authorization` value of HTTP Basic auth. Its base64 of `user:password` is as secret as the
 * password but is not known until encoded here, so it is registered for redaction as a whole.
 */
export function basicAuthorization(user: string, password: string): string {
  const encoded = Buffer.from(`${user}:${password}`, 'utf8').toString('base64');
  registerSecret(encoded);
  return `Basic ${encoded}`;
}
