// Recent orders, newest first, with a button for each status change the order may take next.
import { ApiError, getJson, sendJson } from "./api.js";
import { money, shortId, utcMinute } from "./format.js";
import { loadAnalytics } from "./analytics.js";
import { $, el, guarded, notify, showPage } from "./ui.js";

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
const emails = new Map();
let cursor = null;

export async function loadOrders(reset) {
  if (reset) cursor = null;
  const page = await getJson("/orders", {
    limit: PAGE_SIZE,
    status: $("orders-status").value,
    cursor,
  });
  cursor = showPage("orders", "orders-more", page, reset, (order) => orderRow(order), "No orders.");
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
    el("td", { className: "customer", title: order.user_id }, emails.get(order.user_id) || shortId(order.user_id)),
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
    if (!(error instanceof ApiError) || error.status !== 409) {
      for (const button of row.querySelectorAll("button")) button.disabled = false;
      throw error;
    }
    // Someone else moved it first: show the order as it is now, with the moves the API allows.
    const current = await getJson(`/orders/${order.id}`);
    row.replaceWith(orderRow(current, error.problem.allowed || NEXT_STATUSES[current.status]));
    notify(`${error.describe()} The order is ${current.status} now.`, "error");
    await loadAnalytics();
  }
}

// Orders carry the buyer's id; the email is looked up once per buyer.
async function showCustomerEmails(orders) {
  const unknown = [...new Set(orders.map((order) => order.user_id))].filter((id) => !emails.has(id));
  await Promise.all(
    unknown.map(async (id) => {
      try {
        emails.set(id, (await getJson(`/users/${id}`)).email);
      } catch (error) {
        if (!(error instanceof ApiError)) throw error;
      }
    }),
  );
  for (const cell of $("orders").querySelectorAll("td.customer")) {
    const email = emails.get(cell.title);
    if (email) cell.textContent = email;
  }
}

$("orders-status").addEventListener("change", () => guarded(() => loadOrders(true)));
$("orders-more").addEventListener("click", () => guarded(() => loadOrders(false)));
