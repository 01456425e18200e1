import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ALERT_DEFAULTS, AlertListSchema, AlertRulesSchema, AlertSchema, AlertSettingsSchema } from '../../domain/alert.js';
import { PageSchema } from '../../domain/entities.js';
import { ColloquyError } from '../../domain/errors.js';
import { answer, example, failure } from '../openapi.js';
import { found, IdParams } from './params.js';

const Effective = Type.Object(Object.fromEntries(Object.keys(ALERT_DEFAULTS).map((rule) => [rule, Type.Object({}, { additionalProperties: true })])), { description: 'Every rule with the values in force.' });
const RulesAnswer = Type.Object({ rules: Effective, overrides: AlertRulesSchema }, { title: 'AlertRulesView' });

/** Alerts of the tenant (and, for the admin key, of the deployment), their rules and where they are e-mailed. */
export const alertRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/alerts', {
    schema: {
      operationId: 'listAlerts', summary: 'List alerts',
      description: "Open and resolved alerts, newest first (`status=open` for the open ones). An alert is raised once and resolved once, after its condition has been clear for its rule's hold-down; both are events (`alert.raised`, `alert.resolved`). `system=true`, for the admin key: the deployment's own (database, Redis, self-check, backups).",
      querystring: AlertListSchema, response: { 200: PageSchema(AlertSchema), 403: failure('forbidden') },
    },
  }, async (request) => {
    if (request.query.system && request.keyId !== 'open' && !app.auth.isAdmin(request.keyId)) {
      throw new ColloquyError('forbidden', 'System alerts are the deployment\'s: send the admin key (COLLOQUY_ADMIN_KEY).');
    }
    return request.store.alerts.list(request.query);
  });

  app.get('/alerts/rules', {
    schema: { operationId: 'getAlertRules', summary: 'Alert rules', description: 'The rules in force (defaults with the tenant\'s overrides) and the overrides themselves.', response: { 200: RulesAnswer } },
  }, async (request) => request.store.alerts.rules());

  app.put('/alerts/rules', {
    schema: {
      operationId: 'putAlertRules', summary: 'Override alert rules',
      description: 'Replaces the tenant\'s overrides: per rule `enabled`, `holdDownSeconds` (how long its condition must stay clear before the alert resolves) and its own thresholds. Rules not named keep their defaults.',
      body: example(AlertRulesSchema, { 'channel.stale': { holdDownSeconds: 600 }, 'outbox.backlog': { thresholdSeconds: 120 }, 'budget.economy': { enabled: false } }),
      response: { 200: RulesAnswer },
    },
  }, async (request) => request.store.alerts.setRules(request.body));

  app.get('/alerts/settings', {
    schema: { operationId: 'getAlertSettings', summary: 'Alert e-mail', description: 'The addresses the tenant\'s alerts and daily reports are e-mailed to.', response: { 200: AlertSettingsSchema } },
  }, async (request) => request.store.alerts.settings());

  app.put('/alerts/settings', {
    schema: {
      operationId: 'putAlertSettings', summary: 'Set alert e-mail',
      description: 'The addresses alerts and daily reports go to when the server has COLLOQUY_SMTP_URL (`emails: []` for none).',
      body: example(AlertSettingsSchema, { emails: ['ops@clinic.example'] }), response: { 200: answer(AlertSettingsSchema, 'As set') },
    },
  }, async (request) => request.store.alerts.setSettings(request.body));

  app.get('/alerts/:id', {
    schema: { operationId: 'getAlert', summary: 'Get an alert', description: 'One of the tenant\'s alerts, open or resolved.', params: IdParams, response: { 200: AlertSchema, 404: failure('not_found') } },
  }, async (request) => found(await request.store.alerts.get(request.params.id), 'alert', request.params.id));
};
