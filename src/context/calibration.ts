/**
 * Token counts are o200k_base (OpenAI's). Anthropic publishes no tokenizer, and its models count more tokens for
 * the same text, so for `anthropic:` models counts are multiplied by a safety factor: 1.25 to start, then moved
 * toward what each response reports (its input tokens against the estimate sent), kept within 1–2. Per process:
 * a restart starts again at 1.25, erring on the safe side.
 */
const START = 1.25;
const factors = new Map<string, number>();

export function tokenFactor(model: string | undefined): number {
  if (!model || !model.toLowerCase().startsWith('anthropic:')) return 1;
  return factors.get(model) ?? START;
}

/** Learns from a response: `estimated` o200k tokens were sent, the provider counted `reported`. */
export function calibrate(model: string, estimated: number, reported: number): void {
  if (!model.toLowerCase().startsWith('anthropic:') || estimated < 50 || reported <= 0) return;
  const observed = Math.min(2, Math.max(1, (reported / estimated) * 1.05)); // 5% headroom over what was seen
  const current = factors.get(model) ?? START;
  factors.set(model, current + (observed - current) * 0.3);
}
