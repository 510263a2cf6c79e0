// `npm test`: every check and every test. Lint, format, types and the proto contract
// (buf lint, and buf breaking against the baseline infra/proto/breaking.ts picks) first
// (fast, no servers), then the test files under node:test, with the container engine
// and the fixture images made ready here (idempotently) for testcontainers.
//
// Arguments narrow the test files and skip the static checks, for quick iterations:
// `npm test -- tests/integration/mongo.test.ts`. CI runs it without arguments.
import { randomUUID } from 'node:crypto';
import { buildAgent } from '../agent/build.ts';
import { buildConsole } from '../console/build.ts';
import { breakingArgs, protoBaseline } from '../proto/breaking.ts';
import { capture, run } from './exec.ts';
import { reapOrphanedFixtures } from './fixture-reaper.ts';
import { ensureDebianMirror, ensureDebianRoot, ensureDebianServicesRoot } from './os-roots.ts';
import { repoRoot } from './paths.ts';
import { ensureAlertmanager, ensurePrometheus } from './prometheus-programs.ts';
import { ensureContainerEngine, ensureHostPrograms, ensureMailpit, ensureTestImages, proveContainerEngine } from './toolchain.ts';

const step = (name: string): void => {
  process.stderr.write(`\n== ${name}\n`);
};

async function main(): Promise<void> {
  const files = process.argv.slice(2).filter((a) => a !== '--');
  const opts = { cwd: repoRoot };

  if (files.length === 0) {
    step('lint and format (biome ci)');
    await run('biome', ['ci', '--reporter=summary', '.'], opts);
    step('types (tsc --noEmit)');
    await run('tsc', ['-p', 'tsconfig.json', '--noEmit'], opts);
    step('types of the console in the browser (tsc --noEmit, DOM and JSX)');
    await run('tsc', ['-p', 'services/console/src/web/tsconfig.json', '--noEmit'], opts);
    step('proto lint (buf lint)');
    await run('buf', ['lint'], opts);
    const baseline = await protoBaseline(repoRoot);
    step(`proto compatibility (buf breaking against the ${baseline.why})`);
    const breaking = breakingArgs(baseline);
    if (breaking) await run('buf', breaking, opts);
  }

  step('test infrastructure (container engine, images)');
  const engine = await ensureContainerEngine();
  const reaped = await reapOrphanedFixtures(engine);
  if (reaped.containers.length + reaped.forwards.length > 0) {
    process.stderr.write(
      `removed what dead test runs left: ${reaped.containers.length} containers, ${reaped.forwards.length} port forwards\n`,
    );
  }
  const images = await ensureTestImages(engine);
  await proveContainerEngine(engine, images.nats);
  step('SMTP server for the email receiver tests (Mailpit, cached)');
  const mailpit = await ensureMailpit();
  step("Alertmanager for the receiver tests (Debian's prometheus-alertmanager, not as a service)");
  await ensureAlertmanager();
  step("Prometheus and promtool for the rules' and the scrape tests (Debian's prometheus, not as a service)");
  await ensurePrometheus();
  step('OS roots and package mirrors (debootstrap, cached)');
  await ensureHostPrograms('os-roots');
  const debianRoot = await ensureDebianRoot();
  const debianServicesRoot = await ensureDebianServicesRoot();
  const debianMirror = await ensureDebianMirror();
  step('agent executables (npm run build:agent)');
  await ensureHostPrograms('agent', 'packages');
  const agent = await buildAgent();
  process.stderr.write(`yx-agent ${agent.version} (commit ${agent.commit}) for ${agent.executables.map((e) => e.arch).join(', ')}\n`);
  step('console (npm run build:console) and the browser its tests drive (Debian chromium)');
  await ensureHostPrograms('browser');
  const consoleBuild = await buildConsole();
  process.stderr.write(`console ${consoleBuild.built ? 'built' : 'up to date'} in ${Math.round(consoleBuild.ms)} ms\n`);
  const runId = randomUUID();
  const env = {
    ...process.env,
    YX_DEBIAN_ROOT_TAR: debianRoot,
    YX_DEBIAN_SERVICES_ROOT_TAR: debianServicesRoot,
    YX_DEBIAN_MIRROR: debianMirror,
    DOCKER_HOST: engine.dockerHost,
    TESTCONTAINERS_RYUK_DISABLED: 'true',
    YX_NATS_IMAGE: images.nats,
    YX_MONGO_IMAGE: images.mongo,
    YX_MAILPIT: mailpit,
    YX_TEST_RUN_ID: runId,
  };
  process.stderr.write(`engine ${engine.cli} at ${engine.dockerHost}; images ${images.nats}, ${images.mongo}\n`);

  step('tests (node --test)');
  const patterns = files.length > 0 ? files : ['services/*/src/**/*.test.ts', 'tests/**/*.test.ts'];
  try {
    // Tests wait on containers and processes far more than on the CPU.
    await run('node', ['--test', '--test-concurrency=3', '--test-reporter=spec', ...patterns], { ...opts, env });
  } finally {
    // Without Ryuk, remove whatever this run's fixtures left behind (a crashed test).
    const left = await capture(engine.cli, ['ps', '-aq', '--filter', `label=yixing.test-run=${runId}`], { env });
    const ids = left.stdout.split('\n').filter(Boolean);
    if (ids.length > 0) await capture(engine.cli, ['rm', '-f', ...ids], { env });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`\nnpm test: ${err.message}\n`);
  process.exit(1);
});
