// The sales figures for a range of UTC days: summary tiles, the revenue chart, the top lists, CSV downloads.
import { call, getJson } from "./api.js";
import { count, money, percent } from "./format.js";
import { drawRevenue } from "./revenue-chart.js";
import { $, el, fillTable, guarded, notify, state } from "./ui.js";

const TOP_LIMIT = 10;
const DAY_MS = 24 * 60 * 60 * 1000;

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

export function setDefaultRange() {
  const today = new Date();
  $("range-to").value = isoDay(today);
  $("range-from").value = isoDay(new Date(today.getTime() - 29 * DAY_MS));
}

// [start, end) in UTC: from the first day's midnight to the midnight after the last day.
function rangeParams() {
  const from = $("range-from").value;
  const to = $("range-to").value;
  const end = new Date(new Date(`${to}T00:00:00Z`).getTime() + DAY_MS);
  return { start: `${from}T00:00:00Z`, end: end.toISOString().replace(".000Z", "Z") };
}

function reportParams(report) {
  const params = rangeParams();
  if (report === "revenue") params.interval = $("range-interval").value;
  if (report === "top-products" || report === "top-customers") params.limit = TOP_LIMIT;
  return params;
}

export async function loadAnalytics() {
  const [summary, revenue, products, customers] = await Promise.all([
    getJson("/analytics/summary", reportParams("summary")),
    getJson("/analytics/revenue", reportParams("revenue")),
    getJson("/analytics/top-products", reportParams("top-products")),
    getJson("/analytics/top-customers", reportParams("top-customers")),
  ]);
  renderTiles(summary);
  renderRevenue(revenue);
  fillTable("top-products", products.items, (item) => [
    item.name,
    item.sku,
    count(item.units_sold),
    money(item.revenue_cents, state.currency),
  ]);
  fillTable("top-customers", customers.items, (item) => [
    item.email ?? "(erased account)",
    count(item.order_count),
    money(item.revenue_cents, state.currency),
  ]);
}

function renderTiles(summary) {
  $("tile-revenue").textContent = money(summary.revenue_cents, state.currency);
  $("tile-orders").textContent = count(summary.order_count);
  $("tile-aov").textContent = money(summary.average_order_value_cents, state.currency);
  $("tile-customers").textContent = count(summary.customer_count);
  $("tile-cancellation").textContent = percent(summary.cancellation_rate);
  $("tile-statuses").textContent = Object.entries(summary.by_status)
    .map(([status, n]) => `${status} ${count(n)}`)
    .join(" · ");
}

function renderRevenue(revenue) {
  $("revenue-title").textContent = `Revenue by ${revenue.interval}`;
  drawRevenue($("revenue-chart"), revenue.points, revenue.interval, state.currency);
  fillTable("revenue-table", revenue.points, (point) => [
    point.period_start.slice(0, 10),
    count(point.order_count),
    money(point.revenue_cents, state.currency),
  ]);
}

$("range").addEventListener("submit", (event) => {
  event.preventDefault();
  if ($("range-from").value > $("range-to").value) {
    notify("The first day must not be after the last day.", "error");
    return;
  }
  notify("");
  guarded(loadAnalytics);
});
$("range-interval").addEventListener("change", () => guarded(loadAnalytics));

// CSV downloads: fetched with the token, saved from a Blob (a plain link could not carry the token).

function filenameOf(response, report) {
  const match = /filename="?([^";]+)"?/.exec(response.headers.get("Content-Disposition") || "");
  return match ? match[1] : `${report}.csv`;
}

for (const button of document.querySelectorAll("button.csv")) {
  button.addEventListener("click", () =>
    guarded(async () => {
      const report = button.dataset.report;
      const query = new URLSearchParams({ ...reportParams(report), format: "csv" });
      const response = await call(`/analytics/${report}?${query}`, { accept: "text/csv" });
      if (!(response.headers.get("Content-Type") || "").startsWith("text/csv")) {
        notify("This server does not offer the reports as CSV.", "error");
        return;
      }
      const url = URL.createObjectURL(await response.blob());
      const link = el("a", { href: url, download: filenameOf(response, report) });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    }),
  );
}
