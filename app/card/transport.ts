/**
 * The one seam between everything above and a card: real PC/SC or the simulator. Nothing outside
 * app/card/ knows which one it is talking to.
 */

export interface TransportInfo {
  /** 'pcsc' for a reader through pcsc-lite, 'simulator' for the built-in simulated SmartCard-HSM */
  kind: 'pcsc' | 'simulator';
  /** reader name as PC/SC reports it, or a descriptive name for the simulator */
  reader: string;
  /** true for vsmartcard's "Virtual PCD" readers and the in-process simulator */
  virtual: boolean;
  /** answer-to-reset as the reader reported it */
  atr: Uint8Array;
}

export interface CardTransport {
  readonly info: TransportInfo;
  /**
   * Sends one command APDU and returns the whole response APDU: data followed by SW1 SW2.
   * @throws CeremonyError kind 'device' (code CARD_REMOVED, READER_GONE, TRANSMIT_FAILED) when the
   *   card or reader goes away or the transmission fails
   */
  transmit(command: Uint8Array): Promise<Uint8Array>;
  /** Releases the card. Safe to call twice. */
  close(): Promise<void>;
}
