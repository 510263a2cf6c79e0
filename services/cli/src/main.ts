#!/usr/bin/env node
// yx: the Yixing command line. See app.ts for the commands.
import { run } from './app.ts';

process.exitCode = await run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
