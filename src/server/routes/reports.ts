import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DailyReportQuerySchema, DailyReportSchema } from '../../store/reports.js';

/** Daily reports, in the server's report timezone (COLLOQUY_REPORT_TZ). */
export const reportRoutes: FastifyPluginAsyncTypebox<{ timezone: string }> = async (app, { timezone }) => {
  app.get('/reports/daily', {
    schema: {
      operationId: 'getDailyReport', summary: 'The daily report',
      description: "A day of the tenant in the server's report timezone: per channel received, stored, duplicates, rejected, errors, sends by outcome, new and reopened conversations and the median first response time; tokens and cost by agent; the alerts raised. The report generated after the day (also a `report.daily` event, and e-mailed to the alert addresses) when there is one, else computed now (`final: false` while the day goes on). Default: yesterday.",
      querystring: DailyReportQuerySchema, response: { 200: DailyReportSchema },
    },
  }, async (request) => request.store.reports.daily(request.query, timezone));
};
