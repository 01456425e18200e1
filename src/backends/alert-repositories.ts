import type * as E from '../domain/entities.js';

/**
 * The part of the storage contract that alerts use (`backend.ts` composes it). Alerts of the deployment itself
 * are stored under the tenant `*`. Times are epoch ms.
 */

export interface AlertRecord {
  id: string;
  tenant: string;
  rule: string;
  subject: string;
  severity: string;
  message: string;
  details: E.JsonObject;
  raisedAt: number;
  /** Since when its condition has been seen clear (the hold-down runs from here); null while it holds. */
  clearSince: number | null;
  resolvedAt: number | null;
}

export interface NewAlert {
  id: string;
  rule: string;
  subject: string;
  severity: string;
  message: string;
  details: E.JsonObject;
  raisedAt: number;
}

export interface AlertSettingsRecord {
  rules: E.JsonObject;
  emails: string[];
  updatedAt: number;
}

export interface AlertRepository {
  /**
   * Raises the alert unless one of its rule and subject is open; writes `alert.raised` with it (not for the tenant
   * `*`). Returns the new alert for the one caller (of a fleet) that raised it, undefined when it was open already
   * (its condition then holds again: the hold-down toward resolving it starts over).
   */
  raise(tenant: string, alert: NewAlert): Promise<AlertRecord | undefined>;
  /**
   * The condition of the open alert of this rule and subject is clear at `now`: resolves it (with `alert.resolved`)
   * once it has been clear for `holdDownMs`. Returns it for the one caller that resolved it, else undefined.
   */
  clear(tenant: string, rule: string, subject: string, now: number, holdDownMs: number): Promise<AlertRecord | undefined>;
  get(tenant: string, id: string): Promise<AlertRecord | undefined>;
  /** Open alerts first, then by raise time, newest first; after the alert id `before` (a cursor). */
  list(tenant: string, page: { status?: 'open' | 'resolved' | undefined; before?: { raisedAt: number; id: string } | undefined; limit: number }): Promise<AlertRecord[]>;
  /** Raised in [from, to), oldest first (daily reports). */
  raisedBetween(tenant: string, from: number, to: number): Promise<AlertRecord[]>;
  /** Tenants that may have conditions: those with channels, webhook endpoints, budgets or open alerts. */
  tenants(): Promise<string[]>;
  settings(tenant: string): Promise<AlertSettingsRecord | undefined>;
  /** Sets what is given (rules replace the overrides; emails the addresses), leaving the rest. */
  putSettings(tenant: string, settings: { rules?: E.JsonObject | undefined; emails?: string[] | undefined }, now: number): Promise<AlertSettingsRecord>;
}
