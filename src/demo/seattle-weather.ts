import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

/** One day of the Seattle weather data set (vega-datasets). */
export interface WeatherDay {
  date: string;
  month: number;
  year: number;
  precipitation: number;
  temp_max: number;
  temp_min: number;
  wind: number;
  weather: string;
}

/** Reads the real public Seattle weather data (2012–2015) that the vega-datasets package ships. */
export function loadSeattleWeather(): WeatherDay[] {
  const require = createRequire(import.meta.url);
  // The package exports only its JS entry; the data folder sits beside its build folder.
  const file = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', 'seattle-weather.csv');
  const [header, ...lines] = fs.readFileSync(file, 'utf8').trim().split('\n');
  const cols = header!.split(',');
  return lines.map((line) => {
    const cells = line.split(',');
    const get = (name: string) => cells[cols.indexOf(name)]!;
    const date = get('date');
    return {
      date,
      year: Number(date.slice(0, 4)),
      month: Number(date.slice(5, 7)),
      precipitation: Number(get('precipitation')),
      temp_max: Number(get('temp_max')),
      temp_min: Number(get('temp_min')),
      wind: Number(get('wind')),
      weather: get('weather'),
    };
  });
}
