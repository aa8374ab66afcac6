import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CardError, describeStatusWord, isCardError, swHex, triesLeftFromSw } from '../../app/card/status-words.ts';
import { CeremonyError, EXIT_CODES } from '../../protocol/errors.ts';

describe('status words', () => {
  const table: [number, string, 'check' | 'device'][] = [
    [0x6982, 'SECURITY_STATUS_NOT_SATISFIED', 'device'],
    [0x6983, 'PIN_BLOCKED', 'device'],
    [0x6984, 'PIN_NOT_USABLE', 'device'],
    [0x6a82, 'FILE_NOT_FOUND', 'device'],
    [0x6a86, 'INCORRECT_P1P2', 'device'],
    [0x6a88, 'REFERENCED_DATA_NOT_FOUND', 'device'],
    [0x6a80, 'WRONG_DATA', 'device'],
    [0x6a89, 'FILE_EXISTS', 'device'],
    [0x6a84, 'NOT_ENOUGH_MEMORY', 'device'],
    [0x6985, 'CONDITIONS_NOT_SATISFIED', 'device'],
    [0x6986, 'COMMAND_NOT_ALLOWED', 'device'],
    [0x6d00, 'INS_NOT_SUPPORTED', 'device'],
    [0x6e00, 'CLA_NOT_SUPPORTED', 'device'],
    [0x6700, 'WRONG_LENGTH', 'device'],
    [0x6400, 'EXECUTION_ERROR', 'device'],
    [0x6581, 'MEMORY_FAILURE', 'device'],
    [0x6282, 'END_OF_FILE', 'device'],
    [0x6f00, 'NO_PRECISE_DIAGNOSIS', 'device'],
    [0x63c2, 'WRONG_PIN', 'check'],
    [0x63c0, 'WRONG_PIN', 'check'],
    [0x6300, 'VERIFICATION_FAILED', 'check'],
    [0x6a42, 'UNKNOWN_STATUS', 'device'],
  ];

  for (const [sw, name, kind] of table) {
    it(`${swHex(sw)} is ${name} (${kind})`, () => {
      const e = new CardError(sw, { command: 'TEST COMMAND' });
      assert.ok(e instanceof CeremonyError);
      assert.equal(e.sw, sw);
      assert.equal(e.swName, name);
      assert.equal(e.code, `CARD_${name}`);
      assert.equal(e.kind, kind);
      assert.equal(e.exitCode, EXIT_CODES[kind]);
      assert.equal(e.command, 'TEST COMMAND');
      // message: starts with the command, names the SW, lowercase words, no final period
      assert.match(e.message, new RegExp(`^TEST COMMAND: [a-z].* \\(SW ${swHex(sw)}\\)$`));
      assert.ok(e.hint && e.hint.length > 10, 'a hint says what to do');
      assert.ok(!e.hint.endsWith('.'));
      assert.equal(e.name, 'CardError');
    });
  }

  it('63Cx carries the tries left in words and in triesLeft', () => {
    const e = new CardError(0x63c2, { command: 'VERIFY user PIN' });
    assert.equal(e.triesLeft, 2);
    assert.match(e.message, /wrong PIN: 2 tries left/);
    assert.deepEqual(e.detail, { sw: '63C2', swName: 'WRONG_PIN', command: 'VERIFY user PIN', triesLeft: 2 });
    assert.match(new CardError(0x63c1, { command: 'X' }).message, /1 try left/);
    assert.match(new CardError(0x63c1, { command: 'X' }).hint!, /one more wrong PIN blocks it/);
    assert.match(new CardError(0x63c0, { command: 'X' }).message, /no tries left, the PIN is now blocked/);
    assert.equal(new CardError(0x6982, { command: 'X' }).triesLeft, null);
  });

  it('triesLeftFromSw reads only 63Cx', () => {
    assert.equal(triesLeftFromSw(0x63cf), 15);
    assert.equal(triesLeftFromSw(0x63c0), 0);
    assert.equal(triesLeftFromSw(0x6300), null);
    assert.equal(triesLeftFromSw(0x9000), null);
  });

  it('a command may reword a status word', () => {
    const e = new CardError(0x6a88, { command: 'PIN STATUS SO-PIN', overrides: { 0x6a88: { meaning: 'never initialised', hint: 'initialise it' } } });
    assert.equal(e.message, 'PIN STATUS SO-PIN: never initialised (SW 6A88)');
    assert.equal(e.hint, 'initialise it');
    assert.equal(e.code, 'CARD_REFERENCED_DATA_NOT_FOUND', 'the code stays the status word name');
  });

  it('names the transport status words too', () => {
    assert.equal(describeStatusWord(0x6110).name, 'MORE_DATA');
    assert.match(describeStatusWord(0x6100).meaning, /256 more/);
    assert.equal(describeStatusWord(0x6c08).name, 'WRONG_LE');
    assert.equal(describeStatusWord(0x9000).name, 'OK');
    assert.throws(() => describeStatusWord(0x10000), RangeError);
  });

  it('isCardError matches on the status word', () => {
    const e = new CardError(0x6a82, { command: 'X' });
    assert.ok(isCardError(e));
    assert.ok(isCardError(e, 0x6a82));
    assert.ok(!isCardError(e, 0x6982));
    assert.ok(!isCardError(new Error('x')));
  });
});
