import { useEffect, useState } from 'preact/hooks';
import { blobUrl } from '../api.js';
import type { Message } from '../types.js';

type Part = Record<string, unknown> & { type?: string };
const s = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

/** Media through GET /v1/messages/:id/media (the provider's file, fetched with the channel's token on demand). */
function Media({ message, index, part }: { message: Message; index: number; part: Part }) {
  const [file, setFile] = useState<{ url: string; image: boolean } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const image = part.type === 'image' || part.type === 'sticker';
  useEffect(() => () => { if (file) URL.revokeObjectURL(file.url); }, [file]);
  const load = () => blobUrl(`/v1/messages/${message.id}/media?part=${index}`).then(setFile, (e: Error) => setError(e.message));
  const label = s(part.filename) ?? s(part.caption) ?? `${part.type} (${s(part.mimeType) ?? 'file'})`;
  if (error) return <span class="part error">{label}: {error}</span>;
  if (file && image && file.image) return <img class="part media" src={file.url} alt={s(part.caption) ?? 'Image sent by the contact'} />;
  if (file) return <a class="part" href={file.url} download={s(part.filename) ?? part.type}>Save {label}</a>;
  return <button type="button" class="part link" onClick={load}>{image ? 'Show' : 'Fetch'} {label}</button>;
}

/** A message's typed parts, beyond its text: media, location, interactive replies, reactions, templates. */
export function MessageParts({ message }: { message: Message }) {
  const parts = (message.parts ?? []) as Part[];
  return (
    <>
      {parts.map((part, index) => {
        switch (part.type) {
          case 'text': return s(part.text) && s(part.text) !== message.content ? <p key={index} class="part">{s(part.text)}</p> : null;
          case 'image': case 'sticker': case 'audio': case 'video': case 'document':
            return <Media key={index} message={message} index={index} part={part} />;
          case 'location': {
            const lat = Number(part.latitude), lon = Number(part.longitude);
            return (
              <p key={index} class="part location">📍 {[s(part.name), s(part.address)].filter(Boolean).join(', ') || 'Location'}{' '}
                <a href={`https://www.openstreetmap.org/?mlat=${lat}&mlon=${lon}#map=16/${lat}/${lon}`} target="_blank" rel="noreferrer noopener">{lat.toFixed(5)}, {lon.toFixed(5)}</a>
              </p>
            );
          }
          case 'interactive_reply': case 'button_reply':
            return <p key={index} class="part reply">↩ Chose “{s(part.title) ?? s(part.text) ?? s(part.id) ?? s(part.payload)}”</p>;
          case 'reaction':
            return <p key={index} class="part reaction">{part.removed ? 'Removed a reaction' : `Reacted ${s(part.emoji) ?? ''}`}</p>;
          case 'template':
            return <p key={index} class="part template">Template <code>{s(part.name)}</code>{s(part.language) ? ` (${s(part.language)})` : ''}</p>;
          case 'buttons': case 'interactive': case 'list': {
            const buttons = (Array.isArray(part.buttons) ? part.buttons : []) as Part[];
            return (
              <p key={index} class="part buttons">
                {buttons.length ? buttons.map((b, i) => <span key={i} class="chip">{s(b.title) ?? s(b.id)}</span>) : <span class="chip">{s(part.button) ?? 'Interactive message'}</span>}
              </p>
            );
          }
          case 'contacts': return <p key={index} class="part">Shared contacts</p>;
          case 'order': return <p key={index} class="part">Order{s(part.text) ? `: ${s(part.text)}` : ''}</p>;
          default: return <p key={index} class="part unsupported">[{part.type ?? 'part'}]</p>;
        }
      })}
    </>
  );
}

const TICKS: Record<string, string> = { pending: '🕓', sent: '✓', delivered: '✓✓', read: '✓✓', failed: '✗' };

/** Delivery ticks of an outbound message: sent → delivered → read, or failed with its error. */
export function Ticks({ message }: { message: Message }) {
  if (message.role !== 'assistant') return null;
  const title = message.status === 'failed' && message.error ? `Failed: ${message.error.title} (${message.error.code})` : message.status;
  return (
    <span class={`ticks tick-${message.status}`} data-status={message.status} title={title}>
      <span aria-hidden="true">{TICKS[message.status] ?? message.status}</span>
      <span class="sr-only">Delivery: {message.status}</span>
      {message.status === 'failed' && message.error && <span class="tick-error"> {message.error.title} ({message.error.code})</span>}
    </span>
  );
}
