// Who a request acts for, and what that caller may do. Every ingress (the HTTP API, the console,
// and any other way mail comes in) authenticates to a Principal and asks these functions, so a
// key's scopes and sender domains mean the same thing everywhere.
import { parseAddress } from '../mail/addresses.js';
import { apiKeyScopes, type ApiKeyScope } from '../db/schema.js';
import { ApiError } from './errors.js';

export type Scope = ApiKeyScope;
export const scopes = apiKeyScopes;

/** The tenant of the keys in API_KEYS, and of every record written before managed keys existed. */
export const DEFAULT_TENANT = 'default';

/** Tenant ids: no `_`, so none can be mistaken for an old key id (`key_<hex>`). */
export const tenantIdPattern = /^[a-z0-9][a-z0-9-]{0,62}$/;

export interface Principal {
  /** Whose records: every query filters by it. */
  tenantId: string;
  /** Which key: `key_<hex>` for an API_KEYS key, the 8-character id of a managed key. */
  keyId: string;
  scopes: readonly Scope[];
  /** From domains the key may send as (lowercase, ASCII); empty: any. */
  fromDomains: readonly string[];
  /** Requests a minute; null: unlimited. */
  rateLimitPerMinute: number | null;
}

/** May this principal manage other tenants' keys: an admin of the default (operator's) tenant. */
export const isOperator = (p: Principal) => p.tenantId === DEFAULT_TENANT && p.scopes.includes('admin');

/** 403 naming the missing scope. */
export function assertScope(p: Principal, scope: Scope): void {
  if (!p.scopes.includes(scope)) throw new ApiError('forbidden', `this key lacks the ${scope} scope`, 'Authorization');
}

/** A domain as the key stores it and as parsed From addresses carry it, or undefined if it is not one. */
export function normalizeDomain(domain: string): string | undefined {
  if (domain.length > 253) return undefined;
  const parsed = parseAddress(`postmaster@${domain.trim()}`);
  return 'error' in parsed ? undefined : parsed.address.slice('postmaster@'.length);
}

/**
 * 403 naming `field` when the key is bound to sender domains and `from` (`a@b` or
 * `Name <a@b>`) is not at one of them. Call it before anything is stored or started.
 */
export function assertSenderAllowed(p: Principal, from: string, field = 'from'): void {
  if (p.fromDomains.length === 0) return;
  const parsed = parseAddress(from);
  const domain = 'error' in parsed ? undefined : parsed.address.slice(parsed.address.lastIndexOf('@') + 1);
  if (domain === undefined || !p.fromDomains.includes(domain))
    throw new ApiError(
      'forbidden',
      `this key may not send from ${domain ?? 'that address'}; its domains: ${p.fromDomains.join(', ')}`,
      field,
    );
}
