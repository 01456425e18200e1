import type { FastifyServerOptions } from 'fastify';

// A parameter whose name says it holds a credential: key, api_key, x-api-key, key[], token, hub.verify_token,
// secret, client_secret, password, auth, authorization, bearer, signature, sig.
const CREDENTIAL = /(key|token|secret|passw|auth|bearer|signature|^sig$)/i;

/** The URL with the value of any parameter named like a credential (however its name is encoded) replaced. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const decode = (text: string) => {
    try {
      return decodeURIComponent(text.replace(/\+/g, ' '));
    } catch {
      return text;
    }
  };
  const params = url.slice(q + 1).split('&').map((part) => {
    const name = part.split('=')[0]!;
    return CREDENTIAL.test(decode(name).trim()) ? `${name}=[redacted]` : part;
  });
  return `${url.slice(0, q)}?${params.join('&')}`;
}

/** Request logs that hold no credential: the Authorization header and a stream token in the URL are redacted. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  return {
    level,
    redact: ['req.headers.authorization'],
    serializers: {
      req: (request: { method: string; url: string; hostname?: string; ip?: string; socket?: { remotePort?: number } }) => ({
        method: request.method,
        url: redactUrl(request.url),
        host: request.hostname,
        remoteAddress: request.ip,
        remotePort: request.socket?.remotePort,
      }),
    },
  };
}
