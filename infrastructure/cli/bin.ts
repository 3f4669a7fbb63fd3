#!/usr/bin/env -S node --max-semi-space-size=2
// The flag caps V8's young generation at 2 x 2 MB (default 2 x 16 MB on 64-bit): about 20 MB less
// resident memory at idle and after bursts, for a few more scavenges (docs/performance.md). Run as
// `node dist/infrastructure/cli/bin.js`, pass it yourself (or NODE_OPTIONS); docs/operations.md.
import { createProgram } from './program.js';

createProgram()
  .parseAsync(process.argv)
  .catch((error: unknown) => {
    process.stderr.write(`edgeport: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
