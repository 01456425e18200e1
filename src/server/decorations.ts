// What the app decorates Fastify's instance and requests with (buildApp sets them; routes read them).
import type { ChannelRuntime } from '../channels/channel-runtime.js';
import type { HealthMonitor } from '../channels/channel-health.js';
import type { Store } from '../store/store.js';
import type { Authenticator } from './auth.js';
import type { ServerLimits } from './limits.js';
import type { Metrics } from './metrics.js';
import type { StreamGrant, StreamTokens } from './stream-tokens.js';

declare module 'fastify' {
  interface FastifyInstance {
    metrics: Metrics;
    streamTokens: StreamTokens;
    auth: Authenticator;
    limits: ServerLimits;
    channels: ChannelRuntime;
    channelHealth: HealthMonitor;
  }
  interface FastifyRequest {
    /** The store scoped to the caller's tenant. */
    store: Store;
    /** The key the caller used: an API key's id, `admin:…`, or `open` (a server without keys). */
    keyId: string;
    /** Set when the caller came with a stream token (`?token=` on GET /v1/events): what it is limited to. */
    streamGrant: StreamGrant | undefined;
  }
}
