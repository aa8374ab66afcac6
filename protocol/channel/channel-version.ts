/**
 * The custodian channel's protocol version and the label prefix that separates every key, tag and
 * hash it derives from those of any other protocol (docs/protocol-channel.md §3).
 */

/**
 * Channel protocol version, carried in the hello, the reply and every frame header, and bound into
 * ISK (through ADa/ADb) and every frame's associated data, so a downgrade changes every key.
 */
export const CHANNEL_VERSION = 1;

/** Prefix of every purpose label: `hsm-ceremony/v1/…`. */
export const LABEL_PREFIX = `hsm-ceremony/v${CHANNEL_VERSION}/`;
