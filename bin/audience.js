#!/usr/bin/env node
// Runs dist/'s JavaScript when `npm run build` made it from the sources as they are now, else
// the TypeScript sources through tsx (a dependency), so no build step is needed (util/built.mjs).
import { importModule } from '../src/util/built.mjs';

const { main, exitWhenFlushed } = await importModule(new URL('../src/cli/main.ts', import.meta.url));
exitWhenFlushed(await main(process.argv.slice(2)));
