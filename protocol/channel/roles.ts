/**
 * The two roles of the custodian channel (docs/protocol-channel.md §2). The custodian is CPace's
 * initiator A (it opens the WebSocket and speaks first); the coordinator is the responder B.
 */

/** Who is speaking or sending. */
export type ChannelRole = 'custodian' | 'coordinator';

/** The other party. */
export function peerOf(role: ChannelRole): ChannelRole {
  return role === 'custodian' ? 'coordinator' : 'custodian';
}

/**
 * The direction byte of a frame header, named by its sender (docs/protocol-channel.md §7):
 * 0x01 custodian → coordinator, 0x02 coordinator → custodian.
 */
export function directionByte(sender: ChannelRole): number {
  return sender === 'custodian' ? 0x01 : 0x02;
}

/**
 * @throws TypeError if `role` is not a ChannelRole
 */
export function assertRole(role: unknown, name = 'role'): asserts role is ChannelRole {
  if (role !== 'custodian' && role !== 'coordinator') {
    throw new TypeError(`${name} must be 'custodian' or 'coordinator'`);
  }
}
