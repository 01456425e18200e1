import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { MessageStatsQuerySchema, MessageStatsSchema, UsageStatsQuerySchema, UsageStatsSchema } from '../../store/stats.js';

/** Time series for charts, from rollups kept as traffic is counted (never a scan of the messages). */
export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/stats/messages', {
    schema: {
      operationId: 'messageStats', summary: 'Channel traffic over time',
      description: "Received, stored, duplicates, rejected, errors, sends and failed sends, new and reopened conversations per minute, hour or day (every bucket present, zeros included), of the tenant's channels or one of them. From per-minute counters kept 35 days; at most 1,500 buckets.",
      querystring: MessageStatsQuerySchema, response: { 200: MessageStatsSchema },
    },
  }, async (request) => request.store.stats.messages(request.query));

  app.get('/stats/usage', {
    schema: {
      operationId: 'usageStats', summary: 'Tokens and cost over time',
      description: 'Model calls, tokens and cost per hour or day from the usage ledger, of the tenant or one agent.',
      querystring: UsageStatsQuerySchema, response: { 200: UsageStatsSchema },
    },
  }, async (request) => request.store.stats.usage(request.query));
};
