import type { LanguageModel } from 'ai';
import { ColloquyError } from '../domain/errors.js';

/**
 * The model providers an agent's `model` (`<provider>:<model id>`) may name, from the environment, through the
 * Vercel AI SDK 6 line (AI SDK 7 needs Node 22): `openai` and `anthropic` built in (keys from `OPENAI_API_KEY`,
 * `ANTHROPIC_API_KEY`; base URLs from `OPENAI_BASE_URL`, `ANTHROPIC_BASE_URL`), and any OpenAI-compatible server
 * declared as `COLLOQUY_PROVIDER_<NAME>=<base URL>` (with `COLLOQUY_PROVIDER_<NAME>_KEY` when it needs a key; a
 * name is letters and digits, matched case-insensitively). Provider packages load only when a model is made.
 */
/** A model object the AI SDK calls (not a gateway model id string). */
export type Model = Exclude<LanguageModel, string>;

export interface ProviderInfo {
  name: string;
  kind: 'openai' | 'anthropic' | 'openai-compatible' | 'registered';
  /** As configured, credentials in it redacted; null: the provider's own. */
  baseUrl: string | null;
  ready: boolean;
  /** Why it cannot be used, naming the variable to set; null when ready. */
  reason: string | null;
}

interface Provider extends ProviderInfo {
  key: string | undefined;
  url: string | undefined;
}

const DECLARED = /^COLLOQUY_PROVIDER_([A-Za-z0-9]+)$/;
/** A URL as shown: a password in it replaced. */
const redactUrl = (url: string) => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
const MODEL = /^([A-Za-z0-9]+):(\S.{0,199})$/;

/**
 * `models`: model objects registered by name (`<provider>:<model id>`), used as they are: an embedding program's own
 * models, or the AI SDK's mock models in tests and benchmarks. Their provider counts as known and ready.
 */
export function providersFrom(env: NodeJS.ProcessEnv = process.env, models: Record<string, Model> = {}) {
  const providers = new Map<string, Provider>();
  const builtIn = (name: 'openai' | 'anthropic', keyVar: string, urlVar: string) => {
    const key = env[keyVar] || undefined;
    const url = env[urlVar] || undefined;
    providers.set(name, {
      name, kind: name, key, url, baseUrl: url ? redactUrl(url) : null, ready: key !== undefined,
      reason: key ? null : `${keyVar} is not set: set it to use ${name} models`,
    });
  };
  builtIn('openai', 'OPENAI_API_KEY', 'OPENAI_BASE_URL');
  builtIn('anthropic', 'ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL');
  for (const [variable, value] of Object.entries(env)) {
    const match = DECLARED.exec(variable);
    if (!match || !value) continue;
    const name = match[1]!.toLowerCase();
    if (name === 'openai' || name === 'anthropic') {
      throw new ColloquyError('invalid_argument', `${variable} cannot redefine the built-in provider ${name}: use ${name === 'openai' ? 'OPENAI_BASE_URL' : 'ANTHROPIC_BASE_URL'} to point it elsewhere, or another name.`, { variable });
    }
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      throw new ColloquyError('invalid_argument', `${variable} is not a URL ("${redactUrl(value)}"): give the server's OpenAI-compatible base URL, e.g. http://127.0.0.1:11434/v1.`, { variable });
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ColloquyError('invalid_argument', `${variable} must be an http(s) URL, not ${url.protocol}`, { variable });
    }
    const key = env[`${variable}_KEY`] || undefined;
    providers.set(name, { name, kind: 'openai-compatible', key, url: value, baseUrl: redactUrl(value), ready: true, reason: null });
  }
  const made = new Map<string, Model>(Object.entries(models));
  for (const model of made.keys()) {
    const name = MODEL.exec(model)?.[1]?.toLowerCase();
    if (!name) throw new ColloquyError('invalid_argument', `A registered model is named <provider>:<model id>, not "${model}".`);
    if (!providers.has(name)) providers.set(name, { name, kind: 'registered', key: undefined, url: undefined, baseUrl: null, ready: true, reason: null });
  }

  /** `<provider>:<model id>` of a known provider, or `invalid_argument` naming the known ones. */
  function parse(model: string): { provider: Provider; modelId: string } {
    const match = MODEL.exec(model);
    const provider = match ? providers.get(match[1]!.toLowerCase()) : undefined;
    if (!match || !provider) {
      const known = [...providers.keys()].join(', ');
      throw new ColloquyError('invalid_argument', `Invalid model "${model}": write it as <provider>:<model id> with a known provider (${known}), e.g. openai:gpt-4o-mini; declare another OpenAI-compatible server with COLLOQUY_PROVIDER_<NAME>=<base URL>.`,
        { errors: [{ path: '/model', message: `is not <provider>:<model id> of a known provider (${known})` }], providers: [...providers.keys()] });
    }
    return { provider, modelId: match[2]! };
  }

  return {
    /** Every provider, without keys. */
    list: (): ProviderInfo[] => [...providers.values()].map(({ key: _key, url: _url, ...info }) => info),
    /** Throws `invalid_argument` for a model this server cannot name. */
    check(model: string): void {
      parse(model);
    },
    /** Whether a model's provider can be used now, and why not. */
    status(model: string): { ready: boolean; reason: string | null } {
      try {
        const { provider } = parse(model);
        return { ready: provider.ready, reason: provider.reason };
      } catch (error) {
        return { ready: false, reason: (error as Error).message };
      }
    },
    /** The AI SDK model for `<provider>:<model id>`; `provider_not_configured` when its key is missing. */
    async languageModel(model: string): Promise<Model> {
      const known = made.get(model);
      if (known) return known;
      const { provider, modelId } = parse(model);
      if (!provider.ready) throw new ColloquyError('provider_not_configured', `The provider of ${model} is not configured: ${provider.reason}.`, { provider: provider.name });
      let instance: Model;
      if (provider.kind === 'openai') {
        const { createOpenAI } = await import('@ai-sdk/openai');
        instance = createOpenAI({ apiKey: provider.key, ...(provider.url ? { baseURL: provider.url } : {}) })(modelId);
      } else if (provider.kind === 'anthropic') {
        const { createAnthropic } = await import('@ai-sdk/anthropic');
        instance = createAnthropic({ apiKey: provider.key, ...(provider.url ? { baseURL: provider.url } : {}) })(modelId);
      } else if (provider.kind === 'registered') {
        throw new ColloquyError('invalid_argument', `No model ${model} is registered: the registered ones are ${[...made.keys()].join(', ')}.`, { errors: [{ path: '/model', message: 'is not registered' }] });
      } else {
        const { createOpenAICompatible } = await import('@ai-sdk/openai-compatible');
        instance = createOpenAICompatible({ name: provider.name, baseURL: provider.url!, ...(provider.key ? { apiKey: provider.key } : {}), includeUsage: true }).chatModel(modelId);
      }
      made.set(model, instance);
      return instance;
    },
  };
}

export type Providers = ReturnType<typeof providersFrom>;
