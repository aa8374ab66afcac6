/**
 * The read-aloud script: numbered like the transcript's steps, says who does what, carries the
 * plan's SHA-256, and reads the same for every step kind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parsePlan } from '../../app/plan/plan-parse.ts';
import { renderScript, groupHex, describeStep } from '../../app/plan/plan-script.ts';

const bytes = new Uint8Array(readFileSync(new URL('../../docs/examples/three-custodians.yaml', import.meta.url)));
const example = parsePlan(bytes, 'three-custodians.yaml');

test('the example renders as 13 numbered steps under a header with the grouped SHA-256', () => {
  const lines = renderScript(example.plan, { fileName: 'three-custodians.yaml', sha256: example.sha256 });
  assert.equal(lines[0], 'CEREMONY SCRIPT: Three-custodian DKEK ceremony (rehearsal)');
  assert.equal(lines[2], `plan SHA-256     : ${groupHex(example.sha256)}`);
  assert.match(lines[3]!, /built-in simulator/);
  assert.deepEqual(lines.slice(4, 8), ['operator         : oscar', 'security officer : olivia', 'custodians       : alice, bob and carol', 'witnesses        : wendy and walter']);
  const numbered = lines.filter((l) => /^ ?\d+\. /.test(l));
  assert.equal(numbered.length, 13);
  const expected = ['INITIALIZE', 'CREATE SHARE', 'CREATE SHARE', 'CREATE SHARE', 'IMPORT SHARE', 'IMPORT SHARE', 'IMPORT SHARE', 'READ AND RECORD THE KCV', 'GENERATE KEY', 'BACK UP', 'RESTORE', 'VERIFY THE RESTORED KEY', 'SIGN-OFF'];
  numbered.forEach((l, i) => assert.ok(l.startsWith(`${String(i + 1).padStart(2)}. ${expected[i]}`), l));
  assert.ok(lines.some((l) => l.includes('IMPORT SHARE carol.pbe — carol (share 3 of 3)')));
  assert.ok(lines.some((l) => l.includes('SIGN-OFF — the witnesses (wendy and walter) and the custodians (alice, bob and carol)')));
  for (const l of lines) assert.ok(l.length <= 100, `line too long: ${l}`);
});

test('an expected KCV is read in groups; replacing restores and password shares are spelled out', () => {
  const text = `version: 1
name: t
device:
  reader: Pico
roles:
  custodians: [alice, bob, carol]
shareFiles:
  - file: team.pbe
    pwdShares: 2/3
    custodians: [alice, bob, carol]
steps:
  - step: initialize
    dkekShares: 1
  - step: import-share
    file: team.pbe
    custodians: [alice, carol]
  - step: expect-kcv
    kcv: "0767001241a0cb44"
  - step: restore
    file: old/key-3.bin
    keyRef: 3
    replaceAllowed: true
  - step: sign-off
    who: custodians
`;
  const p = parsePlan(new TextEncoder().encode(text));
  assert.equal(describeStep(p.plan, 1).title, 'IMPORT SHARE team.pbe — alice and carol (share 1 of 1)');
  assert.equal(describeStep(p.plan, 2).title, 'CHECK THE KCV: it must be 0767 0012 41A0 CB44');
  assert.match(describeStep(p.plan, 3).body, /A key already at reference 3 IS REPLACED/);
  const script = renderScript(p.plan, { fileName: 't.yaml', sha256: p.sha256 }).join('\n');
  assert.match(script, /reader whose name contains "Pico"/);
  assert.match(script, /witnesses {8}: none/);
});
