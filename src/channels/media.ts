import { pipeline, Readable, Transform } from 'node:stream';
import { ColloquyError } from '../domain/errors.js';
import type { Message } from '../domain/entities.js';
import type { Store } from '../store/store.js';
import type { ChannelRuntime } from './channel-runtime.js';
import { SendFailure } from './channel.js';

export const DEFAULT_MAX_MEDIA_BYTES = 16 * 1024 * 1024;

/**
 * An inbound message's media file, fetched through its provider with the channel's token each time (WhatsApp's
 * media URLs expire) and streamed, never stored; at most the channel's `maxMediaBytes` (default 16 MiB).
 */
export async function fetchMedia(channels: ChannelRuntime, store: Store, message: Message, index: number | undefined): Promise<{ body: Readable; mimeType: string; size: number | null }> {
  const conversation = await store.conversations.get(message.conversationId);
  const found = conversation?.channelId ? await channels.resolve(conversation.channelId) : undefined;
  const withMedia = (message.parts ?? []).map((p, i) => [p, i] as const)
    .filter(([p]) => typeof p === 'object' && p !== null && !Array.isArray(p) && (typeof p.mediaId === 'string' || typeof p.fileId === 'string'));
  const chosen = index === undefined ? withMedia[0] : withMedia.find(([, i]) => i === index);
  if (!found?.driver.media || !chosen) {
    throw new ColloquyError('not_found', `Message ${message.id} has no ${index === undefined ? '' : `part ${index} with `}media of a WhatsApp or Telegram channel.`, { resource: 'media', id: message.id });
  }
  const max = Number(found.settings.config.maxMediaBytes ?? DEFAULT_MAX_MEDIA_BYTES);
  let file;
  try {
    file = await found.driver.media(chosen[0] as Record<string, never>, found.settings, { timeoutMs: 15_000 });
  } catch (error) {
    const code = error instanceof SendFailure ? error.code : 'unknown';
    throw new ColloquyError('unavailable', `The provider did not hand the file over (${error instanceof Error ? error.message : error}); try again later.`, { reason: 'provider', providerCode: code }, { cause: error });
  }
  if (file.size !== null && file.size > max) {
    await file.body.cancel().catch(() => {});
    throw new ColloquyError('payload_too_large', `The file is ${file.size} bytes, more than this channel passes through (maxMediaBytes ${max}); raise config.maxMediaBytes to fetch it.`, { size: file.size, maxMediaBytes: max });
  }
  let seen = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      done(seen > max ? new Error(`media larger than maxMediaBytes (${max})`) : null, chunk);
    },
  });
  // pipeline: an error on either side (the provider's connection, the cap) destroys both, freeing the socket.
  const body = pipeline(Readable.fromWeb(file.body as never), cap, () => {});
  return { body, mimeType: MIME.test(file.mimeType) ? file.mimeType : 'application/octet-stream', size: file.size };
}

/** A media type as the provider answers it (`image/jpeg`, `audio/ogg; codecs=opus`); anything else is served as bytes. */
const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*(\s*;\s*[a-z0-9_-]+=[a-z0-9_.+-]+)*$/i;

/** Whether a media type may be shown inline; any other (HTML, SVG, scripts) is served as a download. */
export const inlineSafe = (mimeType: string): boolean => /^(image\/(jpeg|png|gif|webp)|audio\/|video\/)/i.test(mimeType);
