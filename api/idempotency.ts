import { createHash, randomUUID } from 'node:crypto';
import { ApiError } from './errors.js';

export const sha256 = (data: string | Uint8Array) => createHash('sha256').update(data).digest('hex');

const keyPattern = /^[\x21-\x7e]{1,255}$/;

/** The `Idempotency-Key` header, validated: 1-255 printable ASCII characters. */
export function idempotencyKeyOf(header: string | undefined): string | undefined {
  if (header !== undefined && !keyPattern.test(header))
    throw new ApiError(
      'validation_error',
      'Idempotency-Key must be 1-255 printable ASCII characters',
      'Idempotency-Key',
    );
  return header;
}

/** An idempotency key maps to one id, so concurrent retries collide on one workflow id. */
export function idFor(tenantId: string, idempotencyKey: string | undefined): string {
  if (!idempotencyKey) return randomUUID();
  const h = sha256(`${tenantId}\n${idempotencyKey}`);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

export function assertSameRequest(storedHash: string, hash: string) {
  if (storedHash !== hash)
    throw new ApiError(
      'idempotency_conflict',
      'this Idempotency-Key was used with a different request',
      'Idempotency-Key',
    );
}

export const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
