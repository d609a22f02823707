/**
 * Why sessions were joined into one campaign, strongest first (see src/analytics/linkage.ts).
 * Plain data so the pure analytics and the Result schema share one list.
 *
 * @since 0.1.0
 */

/** @category models */
export const LINK_KINDS = [
  "ssh_key",
  "payload",
  "command_sequence",
  "similar_commands",
  "download_url",
  "kit_marker",
  "dropped_file",
  "credential_marker",
  "wordlist",
  "same_source"
] as const
export type LinkKind = (typeof LINK_KINDS)[number]
