import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { BudgetSchema } from '../../domain/budget.js';
import { notFound } from '../../domain/errors.js';
import { UsageQuerySchema } from '../../store/usage.js';
import { answer, example, failure } from '../openapi.js';
import type { Providers } from '../../agents/providers.js';

const Totals = {
  calls: Type.Integer(), inputTokens: Type.Integer(), outputTokens: Type.Integer(), cachedInputTokens: Type.Integer(),
  reasoningTokens: Type.Integer(), totalTokens: Type.Integer(), cost: Type.Number({ description: 'US dollars, of the records that have a price.' }),
};
const UsageReportSchema = Type.Object({
  from: Type.String({ format: 'date-time' }),
  to: Type.String({ format: 'date-time' }),
  groupBy: Type.String(),
  groups: Type.Array(Type.Object({ key: Type.Union([Type.String(), Type.Null()], { description: 'The day (YYYY-MM-DD), agent id, model or conversation id.' }), ...Totals })),
  total: Type.Object(Totals),
}, { title: 'UsageReport' });
const BudgetView = Type.Object({
  scope: Type.String(), ...BudgetSchema.properties, createdAt: Type.String({ format: 'date-time' }), updatedAt: Type.String({ format: 'date-time' }),
}, { title: 'BudgetView' });
const ScopeParams = Type.Object({ scope: Type.String({ description: '`tenant`, or `agent:<agent id>`.' }) });

/** The usage ledger and the daily budgets. */
export const usageRoutes: FastifyPluginAsyncTypebox<{ providers: Providers }> = async (app, { providers }) => {
  app.get('/usage', {
    schema: {
      operationId: 'getUsage', summary: 'Tokens and cost',
      description: 'The usage ledger (every model call, recorded with the assistant message it produced) over [from, to), grouped by day (in `timezone`), agent, model or conversation.',
      querystring: UsageQuerySchema, response: { 200: UsageReportSchema },
    },
  }, async (request) => request.store.usage.report(request.query));

  app.get('/budgets', {
    schema: { operationId: 'listBudgets', summary: 'List budgets', description: "The tenant's and its agents' daily budgets.", response: { 200: Type.Object({ data: Type.Array(BudgetView) }) } },
  }, async (request) => ({ data: await request.store.budgets.list() }));

  app.get('/budgets/:scope', {
    schema: { operationId: 'getBudget', summary: 'Get a budget', description: 'A 404 when the scope has none.', params: ScopeParams, response: { 200: BudgetView } },
  }, async (request) => {
    const budget = await request.store.budgets.get(request.params.scope);
    if (!budget) throw notFound('budget', request.params.scope);
    return budget;
  });

  app.put('/budgets/:scope', {
    schema: {
      operationId: 'putBudget', summary: 'Set a budget',
      description: 'A daily token and/or cost budget for the tenant or one agent. From `economyAt` of a limit, agents run in economy mode (a smaller context, the economy model, shorter answers); at the limit a chat answers 429 `budget_exceeded` and a channel gets no automatic reply (or the fixed `whenExceeded.reply`). Spending is read from the usage ledger in the database: restarts and fleets agree.',
      params: ScopeParams,
      body: example(BudgetSchema, { dailyTokens: 200000, economyAt: 0.8, timezone: 'America/Sao_Paulo', economy: { model: 'openai:gpt-4o-mini', lastMessages: 6 }, whenExceeded: { reply: 'We are busy right now; a person will answer you soon.' } }),
      response: { 200: answer(BudgetView, 'The budget as set'), 404: failure('not_found') },
    },
  }, async (request) => {
    // An economy model this server cannot call would silence the agent the day economy starts: refused now.
    if (request.body.economy?.model !== undefined) providers.check(request.body.economy.model);
    return request.store.budgets.put(request.params.scope, request.body);
  });

  app.delete('/budgets/:scope', {
    schema: { operationId: 'deleteBudget', summary: 'Remove a budget', description: 'The scope runs without a limit.', params: ScopeParams, response: { 204: answer(Type.Null(), 'Removed') } },
  }, async (request, reply) => {
    if (!(await request.store.budgets.delete(request.params.scope))) throw notFound('budget', request.params.scope);
    reply.code(204);
  });
};
