import { parseArgs } from 'node:util';
import type { CliIo, Command } from '../command.ts';
import { DEVICE_OPTIONS_HELP, DeviceSecrets, deviceOptions, openCard, type CardSession } from '../device-options.ts';
import { formatKeyListing } from '../../card/key-list.ts';
import { decodeCertificate, publicKeyJson } from '../../ceremony/operations/public-key.ts';

export const keys: Command = {
  path: ['keys'],
  summary: 'list the keys on the device (key reference, ID, label, type, size, certificate holder)',
  help: `usage: hsm-ceremony keys [device options] [--json]

Lists the keys as pkcs15-tool -D does: for each key its key reference, ID, label, type and size,
and the holder of its certificate or CV request. Key reference 0 is the device authentication key.
No PIN is needed.

${DEVICE_OPTIONS_HELP}`,
  async run(argv: string[], io: CliIo) {
    const { values } = parseArgs({ args: argv, strict: true, options: deviceOptions });
    const secrets = new DeviceSecrets(values, io);
    let card: CardSession | undefined;
    try {
      card = await openCard(values, io, { changesCard: false, secrets });
      const list = await card.hsm.listKeys();
      if (values.json) {
        const out = list.map((k) => {
          const pk = k.cert ? decodeCertificate(k.cert)?.publicKey : null;
          return {
            keyRef: k.keyRef,
            deviceKey: k.deviceKey,
            id: k.id,
            label: k.label,
            type: k.type,
            bits: k.bits,
            certificate: k.certificate ? { kind: k.certificate.kind, holder: k.certificate.holder } : null,
            publicKey: pk ? publicKeyJson(pk) : null,
          };
        });
        io.stdout.write(JSON.stringify({ device: card.device.description, keys: out }) + '\n');
      } else if (list.length === 0) {
        io.stdout.write('no keys on the device\n');
      } else {
        io.stdout.write(formatKeyListing(list) + '\n');
      }
      return 0;
    } finally {
      secrets.wipe();
      await card?.close();
    }
  },
};
