#!/usr/bin/env node
// Entry of the `hoshi` host CLI: loads the TypeScript tools through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../firmware/host/cli.ts');
