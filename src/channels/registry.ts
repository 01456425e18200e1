import type { ChannelKind } from '../domain/entities.js';
import type { ChannelDriver } from './channel.js';
import { telegramChannel } from './telegram/telegram-channel.js';
import { whatsappChannel } from './whatsapp/whatsapp-channel.js';

/** The channel kinds that speak to a provider, by kind. */
const DRIVERS: Partial<Record<ChannelKind, ChannelDriver>> = { whatsapp: whatsappChannel, telegram: telegramChannel };

export const driverOf = (kind: ChannelKind): ChannelDriver | undefined => DRIVERS[kind];
