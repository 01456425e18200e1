import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Series {
  label: string;
  values: number[];
  color: string;
  /** Drawn as bars (usage per day) rather than a line. */
  bars?: boolean;
  dash?: number[];
}

/**
 * A uPlot time-series chart: `at` in epoch seconds. The figures are also in a visually hidden table, so that a
 * screen reader (and a test) reads what the canvas draws.
 */
export function Chart({ title, at, series, height = 180, bands }: { title: string; at: number[]; series: Series[]; height?: number; bands?: { from: number; to: number; color: string }[] }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return undefined;
    const opts: uPlot.Options = {
      width: Math.max(300, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: false, y: false } },
      series: [{}, ...series.map((s) => ({
        label: s.label, stroke: s.color, width: 2, ...(s.dash ? { dash: s.dash } : {}),
        ...(s.bars ? { fill: `${s.color}55`, paths: uPlot.paths.bars!({ size: [0.6, 40] }) } : {}),
      }))],
      axes: [{}, { size: 50 }],
      hooks: bands?.length ? {
        drawClear: [(u: uPlot) => {
          const { ctx } = u;
          for (const band of bands) {
            const x0 = u.valToPos(band.from, 'x', true);
            const x1 = u.valToPos(band.to, 'x', true);
            ctx.fillStyle = band.color;
            ctx.fillRect(x0, u.bbox.top, Math.max(1, x1 - x0), u.bbox.height);
          }
        }],
      } : {},
    };
    const plot = new uPlot(opts, [at, ...series.map((s) => s.values)] as uPlot.AlignedData, el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(300, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [at, series, height, bands]);
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      <div ref={box} class="plot" role="img" aria-label={`${title}: ${series.map((s) => `${s.label} ${s.values.reduce((a, b) => a + b, 0)}`).join(', ')}`} />
    </figure>
  );
}
