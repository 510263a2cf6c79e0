#!/usr/bin/env node
// yx-agent: with no command the service (service.ts); with one, that command: migrate,
// assess, rollback (the standalone one-click commands: no control plane, progress on the
// terminal), enrol or version. Each is loaded only when asked for: a standalone migration
// needs neither the bus, the database client nor metrics, and loading all of
// @yixing/common cost about a second of every run (BENCHMARKS.md).
import nodeModule from 'node:module';

// Run from source by Node (not the Bun-built executable): the compiled modules and their
// stripped TypeScript are cached between runs, about 0.4 s of CPU less at each start.
nodeModule.enableCompileCache?.();

const command = process.argv[2];

async function runCommand(name: string): Promise<number> {
  if (name === 'enrol') {
    const { runEnrol } = await import('./enrol/enrol.command.ts');
    return runEnrol(process.argv.slice(3), process.env, process.stdout, process.stderr);
  }
  const { runStandalone } = await import('./standalone/migrate.command.ts');
  return runStandalone(process.argv.slice(2), process.stdout, process.stderr);
}

if (command === undefined) {
  await import('./service.ts');
} else if (command === 'version') {
  const { versionLine } = await import('./build-info.ts');
  process.stdout.write(versionLine());
} else {
  // What runMain does for a service, without its logger: a rejection nobody handled is a
  // bug, said on stderr, and the command goes on (its state file is what a rerun resumes).
  process.on('unhandledRejection', (reason) => {
    process.stderr.write(
      `yx-agent: unhandled promise rejection (a bug), going on: ${reason instanceof Error ? reason.stack : String(reason)}\n`,
    );
  });
  try {
    // Traces only when asked for (OTEL_EXPORTER_OTLP_ENDPOINT): the SDK comes with the full @yixing/common.
    const { tracingConfigured } = await import('@yixing/common/base');
    if (tracingConfigured()) (await import('@yixing/common')).startTracing('yx-agent');
    process.exitCode = await runCommand(command);
  } catch (err) {
    process.stderr.write(`yx-agent: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
