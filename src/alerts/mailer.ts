import { hostname } from 'node:os';
import { createTransport } from 'nodemailer';

/** E-mail of alerts and daily reports, through the SMTP server of COLLOQUY_SMTP_URL (nodemailer). */
export interface Mailer {
  send(to: readonly string[], subject: string, text: string): Promise<void>;
  close(): void;
}

/** `smtp://user:pass@host:587`, `smtps://…:465`; `from` defaults to colloquy@<this host>. */
export function createMailer(url: string, from = `Colloquy <colloquy@${hostname()}>`): Mailer {
  const transport = createTransport(url);
  return {
    async send(to, subject, text) {
      if (!to.length) return;
      await transport.sendMail({ from, to: [...to], subject, text });
    },
    close: () => transport.close(),
  };
}
