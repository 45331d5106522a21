/**
 * A uPlot chart with what screen readers and tests need beside the canvas: the plotted numbers in
 * `data-series` (JSON) and in a table under a disclosure.
 */
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface Series {
  label: string;
  values: (number | null)[];
  color: string;
  /** Dashed stroke, for reference lines such as a budget or even pacing. */
  dash?: number[];
  /** A second y scale, drawn on the right. */
  right?: boolean;
  bars?: boolean;
}

export interface ChartProps {
  title: string;
  /** x values: unix seconds for a time axis, else indexes into `categories`. */
  x: number[];
  series: Series[];
  categories?: string[];
  /** Caption of the x column in the table. */
  xLabel?: string;
  testId?: string;
}

function xText(props: ChartProps, value: number): string {
  return props.categories ? (props.categories[value] ?? "") : new Date(value * 1000).toISOString().slice(0, 16).replace("T", " ");
}

const fromZero: uPlot.Range.Function = (_plot, min, max) => uPlot.rangeNum(Math.min(0, min), max, 0.1, true);

/** One chart; it redraws when its data change and follows its container's width. */
export function Chart(props: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const { title, x, series, categories } = props;
  useEffect(() => {
    const element = box.current;
    if (!element || x.length === 0) return;
    const width = () => Math.max(280, element.clientWidth);
    const plot = new uPlot(
      {
        width: width(),
        height: 240,
        legend: { show: false },
        // Everything Tally plots is a count or an amount: y axes start at 0, so one bar of 5 does not look like 2 of 3.
        scales: { x: { time: !categories }, y: { range: fromZero }, ...(series.some((s) => s.right) ? { right: { range: fromZero } } : {}) },
        axes: [
          categories ? { values: (_u, ticks) => ticks.map((t) => categories[t] ?? "") } : {},
          {},
          ...(series.some((s) => s.right) ? [{ scale: "right", side: 1 as const, grid: { show: false } }] : []),
        ],
        series: [
          {},
          ...series.map((s) => ({
            label: s.label,
            stroke: s.color,
            width: 2,
            // Reference lines are lines, without a marker at every point.
            ...(s.dash ? { dash: s.dash, points: { show: false } } : {}),
            ...(s.right ? { scale: "right" } : {}),
            ...(s.bars ? { paths: uPlot.paths.bars!({ size: [0.6, 60] }), fill: s.color } : {}),
            spanGaps: false,
          })),
        ],
      },
      [x, ...series.map((s) => s.values)],
      element,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: width(), height: 240 }));
    resize.observe(element);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [JSON.stringify([x, series, categories])]);

  const data = JSON.stringify({ x, series: Object.fromEntries(series.map((s) => [s.label, s.values])) });
  return (
    <figure class="chart" data-series={data} data-testid={props.testId}>
      <figcaption>{title}</figcaption>
      <ul class="legend">
        {series.map((s) => (
          <li key={s.label}>
            <span class={s.dash ? "swatch dashed" : "swatch"} style={{ borderColor: s.color }} aria-hidden="true" />
            {s.label}
            {s.right ? " (right axis)" : ""}
          </li>
        ))}
      </ul>
      {x.length === 0 ? <p>No data in this range.</p> : <div ref={box} class="plot" role="img" aria-label={`${title}: chart; the numbers are in the table below`} />}
      <details>
        <summary>Table of “{title}”</summary>
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">{props.xLabel ?? (categories ? "Key" : "Time (UTC)")}</th>
                {series.map((s) => <th scope="col" key={s.label}>{s.label}</th>)}
              </tr>
            </thead>
            <tbody>
              {x.map((value, i) => (
                <tr key={value}>
                  <th scope="row">{xText(props, value)}</th>
                  {series.map((s) => <td key={s.label}>{s.values[i] ?? ""}</td>)}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
