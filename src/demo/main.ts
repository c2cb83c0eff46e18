import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../common/clock.ts';
import { createLogger } from '../common/logger.ts';
import { moduleUrl } from '../common/module-url.ts';
import { HISTOGRAM_DRIFT_APP } from '../common/names.ts';
import { Modelwatch } from '../project/modelwatch.ts';
import { fitLinearRegression } from './weather-model.ts';
import { loadSeattleWeather, type WeatherDay } from './seattle-weather.ts';

const FEATURES = ['precipitation', 'temp_min', 'wind'] as const;
const LABEL = 'temp_max';
const BASE_PERIOD_MINUTES = 10;

export interface DemoOptions {
  home?: string;
  storeUrl?: string;
  tsdbUrl?: string;
  streamUrl?: string;
  /** Requests sent per window. @default 120 */
  requestsPerWindow?: number;
  out?: (line: string) => void;
}

export interface DemoWindowReport {
  window: number;
  traffic: string;
  windowStart: string;
  generalDrift: number;
  status: string;
  topFeatures: { feature: string; hellinger: number; tvd: number }[];
}

/**
 * The seed flow on the embedded default: train a model on winter days of 2012–2013, log it
 * with its training set, serve it with tracking, enable monitoring, send winter traffic from
 * a later year and then summer traffic, and drive a manual clock through the windows.
 */
export async function runDemo(opts: DemoOptions = {}): Promise<DemoWindowReport[]> {
  const out = opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
  const perWindow = opts.requestsPerWindow ?? 120;
  const days = loadSeattleWeather();
  const winter = (d: WeatherDay) => d.month === 12 || d.month <= 2;
  const summer = (d: WeatherDay) => d.month >= 6 && d.month <= 8;
  const training = days.filter((d) => winter(d) && (d.year === 2012 || (d.year === 2013 && d.month <= 2)));
  const likeTraining = days.filter((d) => winter(d) && d.year >= 2014);
  const shifted = days.filter((d) => summer(d) && d.year >= 2014);

  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const mw = await Modelwatch.open({
    ...(opts.home ? { home: opts.home } : {}),
    ...(opts.storeUrl ? { storeUrl: opts.storeUrl } : {}),
    ...(opts.tsdbUrl ? { tsdbUrl: opts.tsdbUrl } : {}),
    ...(opts.streamUrl ? { streamUrl: opts.streamUrl } : {}),
    clock,
    logger: createLogger('modelwatch', process.env.MODELWATCH_LOG_LEVEL ?? 'warn'),
    background: false,
    resume: false,
  });
  try {
    const project = await mw.getOrCreateProject('demo', { description: 'Seattle weather: daily maximum temperature' });
    // A run continues where the previous run's clock stopped, so windows never go back in time.
    const rec = await project.record();
    const resumeAt = Number(rec.labels.demoClockMs ?? 0);
    if (resumeAt > clock.now()) clock.set(resumeAt);
    const periodMs = BASE_PERIOD_MINUTES * 60_000;

    out(`modelwatch demo — home ${mw.platform.options.home}`);
    out(`training: ${training.length} winter days (2012-01 … 2013-02); traffic: winter 2014–15, then summer 2014–15`);
    const weights = fitLinearRegression([...FEATURES], training.map((d) => FEATURES.map((f) => d[f])), training.map((d) => d[LABEL]));
    out(`model: ${LABEL} = ${weights.intercept.toFixed(2)} ${FEATURES.map((f, i) => `${weights.coefficients[i]! >= 0 ? '+' : '-'} ${Math.abs(weights.coefficients[i]!).toFixed(3)}·${f}`).join(' ')}`);

    const model = await project.logModel('weather', {
      model: weights,
      trainingSet: training.map((d) => ({ precipitation: d.precipitation, temp_min: d.temp_min, wind: d.wind, temp_max: d.temp_max })),
      labelColumn: LABEL,
    });
    await project.enableModelMonitoring({ basePeriod: BASE_PERIOD_MINUTES, deployHistogramDataDriftApp: true });

    const fn = await project.setFunction('weather-serving', { kind: 'serving' });
    fn.addModel('weather', {
      modelPath: fileURLToPath(moduleUrl('./weather-model.ts', import.meta.url)),
      className: 'WeatherModel',
      modelUri: model.uri,
    });
    fn.setTracking({ samplingPercentage: 100 });
    await project.deployFunction(fn);

    const plan = [
      { traffic: 'winter (like training)', data: likeTraining },
      { traffic: 'winter (like training)', data: likeTraining },
      { traffic: 'summer (shifted season)', data: shifted },
      { traffic: 'summer (shifted season)', data: shifted },
    ];
    const reports: DemoWindowReport[] = [];
    out('');
    out('window  start (UTC)           traffic                   general_drift  status               most drifted features');
    for (const [i, step] of plan.entries()) {
      // Each window starts on the wall-clock grid; the grace period after the previous one
      // means the window in between stays empty, and the controller skips it.
      const windowStart = Math.ceil(clock.now() / periodMs) * periodMs;
      clock.set(windowStart);
      for (let r = 0; r < perWindow; r++) {
        const d = step.data[(i * perWindow + r) % step.data.length]!;
        await fn.invoke('/v2/models/weather/infer', {
          id: `w${i}-r${r}-${windowStart}`,
          inputs: [{ name: 'input-0', shape: [1, FEATURES.length], datatype: 'FP64', data: FEATURES.map((f) => d[f]) }],
        });
        clock.advance(Math.floor(periodMs / perWindow));
      }
      clock.set(windowStart + periodMs + 61_000); // past the window end and the 60 s grace
      await mw.runUntilIdle();
      const endpoint = (await project.listModelEndpoints())[0];
      const res = endpoint
        ? (await project.listResults({ endpointId: endpoint.id, app: HISTOGRAM_DRIFT_APP, name: 'general_drift', start: windowStart, end: windowStart + 1 }))[0]
        : undefined;
      if (!res) throw new Error(`window ${i + 1} produced no general_drift result`);
      const features = (res.extraData.features ?? {}) as Record<string, { hellinger: number; tvd: number }>;
      const top = Object.entries(features)
        .map(([feature, m]) => ({ feature, hellinger: m.hellinger, tvd: m.tvd }))
        .sort((a, b) => b.hellinger + b.tvd - (a.hellinger + a.tvd))
        .slice(0, 3);
      const status = String(res.extraData.driftStatus ?? res.status);
      reports.push({ window: i + 1, traffic: step.traffic, windowStart: new Date(windowStart).toISOString(), generalDrift: res.value, status, topFeatures: top });
      out(
        `${String(i + 1).padEnd(8)}${new Date(windowStart).toISOString().slice(0, 16).padEnd(22)}${step.traffic.padEnd(26)}${res.value.toFixed(3).padEnd(15)}${status.padEnd(21)}${top.map((t) => `${t.feature} (${t.hellinger.toFixed(2)})`).join(', ')}`,
      );
    }
    await mw.platform.store.updateProject('demo', { labels: { ...rec.labels, demoClockMs: String(clock.now()) } });

    const endpoint = (await project.listModelEndpoints())[0]!;
    const events = await project.listEvents({ endpointId: endpoint.id });
    out('');
    out(`endpoint ${endpoint.name} (${endpoint.id.slice(0, 12)}…): drift status ${endpoint.driftStatus}, ${endpoint.errorCount} errors, ${events.length} drift events recorded`);
    out('see it: npx modelwatch endpoints list --project demo --json');
    out('        npx modelwatch functions list --project demo --json');
    return reports;
  } finally {
    await mw.close();
  }
}

function parseArgs(argv: string[]): DemoOptions {
  const o: DemoOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const v = () => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${a} needs a value`);
      return x;
    };
    if (a === '--home') o.home = v();
    else if (a === '--store-url') o.storeUrl = v();
    else if (a === '--tsdb-url') o.tsdbUrl = v();
    else if (a === '--stream-url') o.streamUrl = v();
    else if (a === '--requests-per-window') o.requestsPerWindow = Number(v());
    else throw new Error(`unknown option ${a} (options: --home, --store-url, --tsdb-url, --stream-url, --requests-per-window)`);
  }
  return o;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  runDemo(parseArgs(process.argv.slice(2))).then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
