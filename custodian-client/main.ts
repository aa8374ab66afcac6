/**
 * hsm-custodian: the program a key custodian runs on their own terminal to join a ceremony.
 * Joining over the network arrives with the split-knowledge work (docs/protocol.md); until then the
 * command says so plainly instead of pretending.
 */
import { EXIT_CODES } from '../protocol/errors.ts';

const args = process.argv.slice(2);
if (args[0] === '--version') {
  console.log('hsm-custodian 0.1.0');
  process.exit(0);
}
console.error('hsm-custodian: error: joining a ceremony over the network is not available in this version');
console.error('hsm-custodian: hint: run the ceremony in single-operator mode with hsm-ceremony for now');
process.exit(EXIT_CODES.usage);
