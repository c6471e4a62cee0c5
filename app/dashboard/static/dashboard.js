// The admin dashboard: sign-in, the sales figures, recent orders and the catalogue, all through the public API.
import { ApiError, SessionEnded, call, getJson, sendJson, signIn, signOut, whenSessionEnds } from "./api.js";
import { count, money, parseAmount, percent, plainAmount, shortId, utcMinute } from "./format.js";
import { drawRevenue } from "./revenue-chart.js";

// The order state machine: the statuses an admin may move an order to from each status. A refused change
// (409) names the allowed ones itself, and then its list is shown instead.
export const NEXT_STATUSES = {
  pending: ["paid", "cancelled"],
  paid: ["shipped", "cancelled"],
  shipped: ["delivered"],
  delivered: [],
  cancelled: [],
};
const ACTION_LABELS = { paid: "Mark paid", shipped: "Mark shipped", delivered: "Mark delivered", cancelled: "Cancel" };
const PAGE_SIZE = 20;
const TOP_LIMIT = 10;
const DAY_MS = 24 * 60 * 60 * 1000;

const $ = (id) => document.getElementById(id);
const state = { currency: "USD", ordersCursor: null, productsCursor: null, emails: new Map() };

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function notify(text, kind = "ok") {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = `notice ${kind}`;
}

// Runs an action of the page: API errors become a notice; an ended session is handled by the sign-in screen.
async function guarded(action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof SessionEnded) return undefined;
    if (error instanceof ApiError) notify(error.describe(), "error");
    else notify(`Something went wrong: ${error.message}`, "error");
    return undefined;
  }
}

// ---- signing in and out ----------------------------------------------------------------------------------

function showSignIn(message = "") {
  $("dashboard").hidden = true;
  $("account").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("password").value = "";
}

whenSessionEnds(() => showSignIn("Your session has ended; sign in again."));

$("sign-in-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const button = event.submitter || event.target.querySelector("button");
  button.disabled = true;
  $("sign-in-error").textContent = "";
  try {
    await signIn($("email").value.trim(), $("password").value);
    const me = await getJson("/users/me");
    if (me.role !== "admin") {
      await signOut();
      showSignIn(`${me.email} is not an admin account. The dashboard is for shop admins only.`);
      return;
    }
    $("account-email").textContent = me.email;
    $("password").value = "";
    $("sign-in").hidden = true;
    $("account").hidden = false;
    $("dashboard").hidden = false;
  } catch (error) {
    if (error instanceof SessionEnded) return;
    const message = error instanceof ApiError && error.status === 401 ? "Wrong email or password." : error.message;
    showSignIn(message);
  } finally {
    button.disabled = false;
  }
  if (!$("dashboard").hidden) await guarded(loadEverything);
});

$("sign-out").addEventListener("click", async () => {
  await signOut();
  showSignIn("Signed out.");
});

async function loadEverything() {
  notify("");
  await Promise.all([loadProducts(true), loadOrders(true)]);
  await loadAnalytics();
}

// ---- the date range and the analytics --------------------------------------------------------------------

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function setDefaultRange() {
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

async function loadAnalytics() {
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
    item.email,
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

// Rows of text cells; the last columns (numbers) are right-aligned like their headings.
function fillTable(id, items, cells) {
  const heads = [...$(id).querySelectorAll("thead th")];
  const body = $(id).querySelector("tbody");
  body.replaceChildren(
    ...items.map((item) =>
      el("tr", {}, ...cells(item).map((text, i) => el("td", { className: heads[i]?.className || "" }, text))),
    ),
  );
  if (!items.length) body.append(el("tr", {}, el("td", { colSpan: heads.length, className: "muted" }, "Nothing in this range.")));
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

// ---- CSV downloads: fetched with the token, saved from a Blob (a plain link could not carry the token) ------

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

// ---- recent orders and their status actions --------------------------------------------------------------

async function loadOrders(reset) {
  if (reset) state.ordersCursor = null;
  const page = await getJson("/orders", {
    limit: PAGE_SIZE,
    status: $("orders-status").value,
    cursor: state.ordersCursor,
  });
  const body = $("orders").querySelector("tbody");
  if (reset) body.replaceChildren();
  if (page.items.length && reset) state.currency = page.items[0].currency;
  body.append(...page.items.map((order) => orderRow(order)));
  if (reset && !page.items.length) body.append(el("tr", {}, el("td", { colSpan: 7, className: "muted" }, "No orders.")));
  state.ordersCursor = page.next_cursor;
  $("orders-more").hidden = !page.next_cursor;
  await showCustomerEmails(page.items);
}

function orderRow(order, allowed = NEXT_STATUSES[order.status] || []) {
  const items = order.items.map((line) => `${line.quantity} × ${line.name}`).join(", ");
  const actions = allowed.map((next) =>
    el("button", { type: "button", className: `action to-${next}`, dataset: { status: next } }, ACTION_LABELS[next] || next),
  );
  const row = el(
    "tr",
    { dataset: { orderId: order.id, userId: order.user_id } },
    el("td", { className: "when" }, utcMinute(order.created_at)),
    el("td", { title: order.id }, shortId(order.id)),
    el("td", { className: "customer", title: order.user_id }, state.emails.get(order.user_id) || shortId(order.user_id)),
    el("td", { className: "items" }, items),
    el("td", { className: "num" }, money(order.total_cents, order.currency)),
    el("td", {}, el("span", { className: `status status-${order.status}` }, order.status)),
    el("td", { className: "actions" }, ...actions),
  );
  for (const button of actions) {
    button.addEventListener("click", () => guarded(() => changeStatus(order, button.dataset.status, row)));
  }
  return row;
}

async function changeStatus(order, next, row) {
  if (next === "cancelled" && !window.confirm(`Cancel order ${shortId(order.id)}? Its stock goes back to the catalogue.`)) {
    return;
  }
  for (const button of row.querySelectorAll("button")) button.disabled = true;
  try {
    const updated = await sendJson("PATCH", `/orders/${order.id}/status`, { status: next });
    row.replaceWith(orderRow(updated));
    notify(`Order ${shortId(order.id)} is now ${updated.status}.`);
    await loadAnalytics();
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 409) throw error;
    // Someone else moved it first: show the order as it is now, with the moves the API allows.
    const current = await getJson(`/orders/${order.id}`);
    row.replaceWith(orderRow(current, error.problem.allowed || NEXT_STATUSES[current.status]));
    notify(`${error.describe()} The order is ${current.status} now.`, "error");
  }
}

// Orders carry the buyer's id; the email is looked up once per buyer.
async function showCustomerEmails(orders) {
  const unknown = [...new Set(orders.map((order) => order.user_id))].filter((id) => !state.emails.has(id));
  await Promise.all(
    unknown.map(async (id) => {
      try {
        state.emails.set(id, (await getJson(`/users/${id}`)).email);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }),
  );
  for (const cell of $("orders").querySelectorAll("td.customer")) {
    const email = state.emails.get(cell.title);
    if (email) cell.textContent = email;
  }
}

$("orders-status").addEventListener("change", () => guarded(() => loadOrders(true)));
$("orders-more").addEventListener("click", () => guarded(() => loadOrders(false)));

// ---- the catalogue: price and stock edits ----------------------------------------------------------------

async function loadProducts(reset) {
  if (reset) state.productsCursor = null;
  const page = await getJson("/products", { limit: PAGE_SIZE, q: $("catalogue-q").value.trim(), cursor: state.productsCursor });
  const body = $("catalogue").querySelector("tbody");
  if (reset) body.replaceChildren();
  if (page.items.length && reset) state.currency = page.items[0].currency;
  body.append(...page.items.map((product) => productRow(product)));
  if (reset && !page.items.length) body.append(el("tr", {}, el("td", { colSpan: 6, className: "muted" }, "No products.")));
  state.productsCursor = page.next_cursor;
  $("catalogue-more").hidden = !page.next_cursor;
}

function productRow(product) {
  const price = el("input", {
    type: "text",
    inputMode: "decimal",
    className: "price",
    value: plainAmount(product.price_cents, product.currency),
    "aria-label": `Price of ${product.sku} in ${product.currency}`,
  });
  const stock = el("input", {
    type: "number",
    min: "0",
    step: "1",
    className: "stock",
    value: String(product.stock),
    "aria-label": `Stock of ${product.sku}`,
  });
  const save = el("button", { type: "button", className: "save", "aria-label": `Save ${product.sku}` }, "Save");
  const row = el(
    "tr",
    { dataset: { productId: product.id } },
    el("td", {}, product.sku),
    el("td", {}, product.name),
    el("td", {}, el("span", { className: product.is_active ? "status" : "status status-cancelled" }, product.is_active ? "active" : "inactive")),
    el("td", {}, price, ` ${product.currency}`),
    el("td", {}, stock),
    el("td", {}, save),
  );
  save.addEventListener("click", () => guarded(() => saveProduct(product, row, price.value, stock.value)));
  return row;
}

async function saveProduct(product, row, priceText, stockText) {
  const priceCents = parseAmount(priceText, product.currency);
  if (priceCents === null || priceCents < 1) {
    notify(`${product.sku}: the price must be an amount like ${plainAmount(1250, product.currency)}.`, "error");
    return;
  }
  if (!/^\d+$/.test(stockText.trim())) {
    notify(`${product.sku}: the stock must be a whole number, 0 or more.`, "error");
    return;
  }
  const changes = {};
  if (priceCents !== product.price_cents) changes.price_cents = priceCents;
  if (Number(stockText) !== product.stock) changes.stock = Number(stockText);
  if (!Object.keys(changes).length) {
    notify(`${product.sku}: nothing to save.`);
    return;
  }
  const updated = await sendJson("PATCH", `/products/${product.id}`, changes);
  row.replaceWith(productRow(updated));
  notify(
    `Saved ${updated.sku}: ${money(updated.price_cents, updated.currency)}, ${count(updated.stock)} in stock.`,
  );
}

$("catalogue-search").addEventListener("submit", (event) => {
  event.preventDefault();
  guarded(() => loadProducts(true));
});
$("catalogue-more").addEventListener("click", () => guarded(() => loadProducts(false)));

setDefaultRange();
