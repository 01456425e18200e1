import type { Diagnosis } from '../backends/backend.js';

/** What a diagnosis of the database finds wrong (`colloquy doctor`, and the server's periodic self-check). */
export function problemsOf(d: Diagnosis): string[] {
  return [
    d.seqMismatches.length && `${d.seqMismatches.length} conversation(s) whose messages are not seq 1..lastSeq (first: ${d.seqMismatches[0]!.conversationId})`,
    d.duplicateExternalIds.length && `${d.duplicateExternalIds.length} external id(s) stored more than once`,
    d.doubleOpen && `${d.doubleOpen} contact/channel pair(s) with more than one open conversation`,
    ...d.warnings,
  ].filter(Boolean) as string[];
}
