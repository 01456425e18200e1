import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import Type from 'typebox';
import { ColloquyError } from '../../domain/errors.js';
import { failure } from '../openapi.js';

export interface DoctorReport {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; detail: string }>;
}

const DoctorSchema = Type.Object({
  ok: Type.Boolean({ description: 'Every check passed.' }),
  checks: Type.Array(Type.Object({ name: Type.String(), ok: Type.Boolean(), detail: Type.String() })),
}, { title: 'DoctorReport' });

/** `colloquy doctor` over HTTP, for the admin (the dashboard's System page): the deployment's database, channels, Redis. */
export const doctorRoutes: FastifyPluginAsyncTypebox<{ doctor: () => Promise<DoctorReport> }> = async (app, { doctor }) => {
  app.get('/doctor', {
    schema: {
      tags: ['operations'], operationId: 'doctor', summary: 'Check the deployment',
      description: 'What `colloquy doctor` checks, run now: the schema, the database and its contents (seq gaps, duplicate external ids, double open conversations), transactions holding events back, every channel\'s health, Redis. The admin key only (any caller on an open server). Reads only.',
      response: { 200: DoctorSchema, 403: failure('forbidden') },
    },
  }, async (request) => {
    if (request.keyId !== 'open' && !app.auth.isAdmin(request.keyId)) throw new ColloquyError('forbidden', 'The doctor checks the whole deployment: send the admin key (COLLOQUY_ADMIN_KEY).');
    return doctor();
  });
};
