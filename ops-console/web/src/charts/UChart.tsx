/** A small uPlot wrapper: created once per mount, `setData` on new data, resized with its box. */
import { useEffect, useRef } from 'react';
import uPlot, { type AlignedData, type Options } from 'uplot';
import { CITY_TZ } from '../../../../norms/local-time';

/**
 * Mexican time axis (the default of a time chart): ticks dd/mm when they step by days or more,
 * else 24-hour HH:mm (with dd/mm at local midnight); the legend dd/mm/aaaa HH:mm. In the city's
 * time zone, not the browser's.
 */
export function mxTimeTicks(timeZone: string) {
  const day = new Intl.DateTimeFormat('es-MX', { timeZone, day: '2-digit', month: '2-digit' });
  const hm = new Intl.DateTimeFormat('es-MX', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const full = new Intl.DateTimeFormat('es-MX', { timeZone, day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  return {
    /** tick labels for splits (epoch seconds) `incr` seconds apart */
    ticks(splits: number[], incr: number): string[] {
      return splits.map((x) => {
        const d = new Date(x * 1000);
        if (incr >= 86_400) return day.format(d);
        const t = hm.format(d);
        return t === '00:00' ? `${day.format(d)}\n${t}` : t;
      });
    },
    legend: (x: number) => full.format(new Date(x * 1000)).replace(',', ''),
  };
}

export interface UChartProps {
  data: AlignedData;
  series: { label: string; color: string; bars?: boolean }[];
  height?: number;
  yLabel?: string;
  /** x values are epoch seconds (time axis) */
  time?: boolean;
  testId?: string;
  /** fixed x range (same units as x) so one bucket does not stretch the axis over years */
  xRange?: [number, number];
  /** x tick and legend text (e.g. dd/mm for days); default: uPlot's own */
  xFormat?: (x: number) => string;
  /** allowed x tick steps (e.g. whole days: [1, 2, 7]) */
  xIncrs?: number[];
  /** legend label of x (default uPlot's "Time") */
  xLabel?: string;
  /** y axis from 0 (bars of totals) */
  yFromZero?: boolean;
  /** the city's time zone for a time axis without xFormat (the console's `timeZone`) */
  timeZone?: string;
}

export function UChart({ data, series, height = 180, yLabel, time = true, testId, xRange, xFormat, xIncrs, xLabel, yFromZero, timeZone = CITY_TZ }: UChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const key = series.map((s) => s.label + s.color).join('|');

  useEffect(() => {
    const el = box.current!;
    const mx = time && !xFormat ? mxTimeTicks(timeZone) : null;
    const opts: Options = {
      width: el.clientWidth || 400,
      height,
      scales: {
        x: xRange ? { time, range: () => xRange } : { time },
        ...(yFromZero ? { y: { range: (_u: uPlot, _min: number, max: number): [number, number] => [0, max > 0 ? max * 1.1 : 1] } } : {}),
      },
      axes: [
        {
          stroke: '#cbd5e1',
          grid: { stroke: '#1e293b' },
          ticks: { stroke: '#334155' },
          font: '14px system-ui',
          ...(xFormat
            ? { values: (_u: uPlot, splits: number[]) => splits.map(xFormat) }
            : mx
              ? { values: (_u: uPlot, splits: number[], _ax: number, _space: number, incr: number) => mx.ticks(splits, incr) }
              : {}),
          ...(xIncrs ? { incrs: xIncrs } : {}),
        },
        { stroke: '#cbd5e1', grid: { stroke: '#1e293b' }, ticks: { stroke: '#334155' }, font: '14px system-ui', label: yLabel, labelFont: '14px system-ui' },
      ],
      legend: { show: true },
      series: [
        {
          ...(xLabel ? { label: xLabel } : {}),
          ...(xFormat ? { value: (_u: uPlot, v: number | null) => (v === null ? '' : xFormat(v)) } : mx ? { value: (_u: uPlot, v: number | null) => (v === null ? '' : mx.legend(v)) } : {}),
        },
        ...series.map((s) => ({
          label: s.label,
          stroke: s.color,
          width: 2,
          fill: s.bars ? s.color + '88' : undefined,
          paths: s.bars ? uPlot.paths.bars!({ size: [0.8, 40] }) : undefined,
          points: { show: !s.bars, size: 7 },
        })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: el.clientWidth || 400, height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // recreate only when the series change
    // eslint-disable-next-line react-hooks/exhaustive-deps -- recreate only when the series change (see above)
  }, [key, height, time, xRange?.[0], xRange?.[1], xLabel, yFromZero, timeZone]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div ref={box} className="uchart" data-testid={testId} />;
}
