// The revenue chart, drawn by the vendored Chart.js (loaded before this module as the global `Chart`).
import { money } from "./format.js";

let chart = null;

function periodLabel(iso, interval) {
  const day = iso.slice(0, 10);
  if (interval === "month") return day.slice(0, 7);
  if (interval === "week") return `week of ${day}`;
  return day;
}

export function drawRevenue(canvas, points, interval, currency) {
  chart?.destroy();
  canvas.setAttribute("aria-label", `Revenue by ${interval}: ${points.length} periods`);
  chart = new window.Chart(canvas, {
    type: "bar",
    data: {
      labels: points.map((p) => periodLabel(p.period_start, interval)),
      datasets: [
        {
          label: "Revenue",
          data: points.map((p) => p.revenue_cents),
          backgroundColor: "#3569d4",
          borderRadius: 3,
          maxBarThickness: 48,
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      scales: {
        x: { grid: { display: false } },
        y: { beginAtZero: true, ticks: { precision: 0, callback: (value) => money(value, currency) } },
      },
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (item) => money(item.parsed.y, currency) } },
      },
    },
  });
}
