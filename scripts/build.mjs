// Bundles the two commands (and the key-derivation worker) into dist/ so that plain `node` runs
// them and start-up does not pay for resolving hundreds of modules.
import { build } from 'esbuild';
import { chmodSync } from 'node:fs';

// Ink imports react-devtools-core (not a dependency) only when DEV=true; an ESM bundle would still
// resolve it at load time, so it is replaced by an empty module.
const noDevtools = {
  name: 'no-react-devtools',
  setup(b) {
    b.onResolve({ filter: /^react-devtools-core$/ }, () => ({ path: 'react-devtools-core', namespace: 'empty' }));
    b.onLoad({ filter: /.*/, namespace: 'empty' }, () => ({ contents: 'export default {};', loader: 'js' }));
  },
};

const entries = {
  'hsm-ceremony': 'app/cli/main.ts',
  'hsm-custodian': 'custodian-client/main.ts',
  // The share-file key derivation runs in this worker so no event loop blocks for seconds.
  'kdf-worker': 'protocol/dkek/kdf-worker.ts',
};

await build({
  entryPoints: entries,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: false,
  legalComments: 'none',
  // Optional native PC/SC bindings are loaded at run time only when present.
  external: ['smartcard', 'pcsclite'],
  plugins: [noDevtools],
  banner: {
    js: "#!/usr/bin/env node\nimport { createRequire as __hsmCreateRequire } from 'node:module'; const require = __hsmCreateRequire(import.meta.url);",
  },
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
});
for (const name of ["hsm-ceremony", "hsm-custodian"]) chmodSync(`dist/${name}.js`, 0o755);
