#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so the CLI works without a build step.
import { register } from 'tsx/esm/api';

register();
const { runCli } = await import(new URL('../src/cli/main.ts', import.meta.url).href);
await runCli(process.argv);
