import { isColloquyError } from '../domain/errors.js';
import type { Store } from '../store/store.js';
import type { ChannelOps } from '../store/channel-ops.js';
import type { Delivery, InboundMessage } from './channel.js';
import type { TrafficRecorder } from './traffic.js';

export interface ReceiveReport {
  stored: number;
  duplicates: number;
  skipped: number;
  statuses: number;
}

/**
 * Hands everything a delivery carries to the store: each message ingested (stored once by its external id, whatever
 * the redeliveries), each status applied forward-only by the provider's id (kept until its message exists), each
 * edit recorded. A message the store refuses as invalid is counted and skipped, so that one bad element does not
 * make the provider redeliver the batch forever; any other failure throws, and the webhook answers 5xx so that the
 * provider redelivers (what was stored already is recognised as duplicate then).
 */
export async function receive(store: Store, ops: ChannelOps, traffic: TrafficRecorder, channelId: string, delivery: Delivery): Promise<ReceiveReport> {
  const report: ReceiveReport = { stored: 0, duplicates: 0, skipped: 0, statuses: 0 };
  const now = ops.clock();
  const ingest = async (m: InboundMessage) => {
    traffic.count(channelId, 'received');
    try {
      const result = await store.ingest({
        channelId, externalId: m.externalId, from: { address: m.from.address, ...(m.from.name ? { name: m.from.name.slice(0, 200) } : {}) },
        content: m.content, parts: m.parts ?? undefined, timestamp: m.timestamp, ...(m.metadata ? { metadata: m.metadata } : {}),
      } as Parameters<Store['ingest']>[0]);
      traffic.count(channelId, result.duplicate ? 'duplicates' : 'stored');
      traffic.conversation(channelId, result);
      if (result.duplicate) report.duplicates++;
      else report.stored++;
      traffic.inbound(channelId, now);
    } catch (error) {
      traffic.count(channelId, 'errors');
      if (!isColloquyError(error, 'invalid_argument')) throw error;
      traffic.error(channelId, { code: 'invalid_message', title: error.message.slice(0, 300), source: 'inbound' }, now);
      report.skipped++;
    }
  };
  for (const m of delivery.messages) await ingest(m);
  for (const edit of delivery.edits) {
    traffic.count(channelId, 'edits');
    const edited = await ops.edit(channelId, edit.externalId, { content: edit.content, parts: edit.parts, at: edit.editedAt });
    // An edit of a message never received (it arrived before this channel existed, or was lost): stored as it is now.
    if (!edited) await ingest(edit);
  }
  for (const st of delivery.statuses) {
    traffic.count(channelId, 'statuses');
    if (st.status === null) {
      traffic.count(channelId, 'unknownStatuses');
      continue;
    }
    await ops.status(channelId, st.externalId, st.status, st.at, st.error ? { ...st.error, at: st.at } : null);
    if (st.status === 'failed' && st.error) traffic.error(channelId, { ...st.error, source: 'send' }, now, { send: true });
    report.statuses++;
  }
  for (const e of delivery.errors) {
    traffic.count(channelId, 'errors');
    traffic.error(channelId, { ...e, source: 'inbound' }, now);
  }
  return report;
}
