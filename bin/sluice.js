#!/usr/bin/env node
// The `sluice` command: loads the TypeScript CLI through tsx (a dependency of the project).
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');
