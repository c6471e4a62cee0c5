// What every part of the dashboard shares: element helpers, the notice line, error handling, list pages.
import { ApiError, SessionEnded } from "./api.js";

export const state = { currency: "USD" };
export const $ = (id) => document.getElementById(id);

export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === "dataset") Object.assign(node.dataset, value);
    else if (key in node) node[key] = value;
    else node.setAttribute(key, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export function notify(text, kind = "ok") {
  const notice = $("notice");
  notice.textContent = text;
  notice.className = `notice ${kind}`;
}

// Runs an action of the page: API errors become a notice; an ended session is handled by the sign-in screen.
export async function guarded(action) {
  try {
    return await action();
  } catch (error) {
    if (error instanceof SessionEnded) return undefined;
    if (error instanceof ApiError) notify(error.describe(), "error");
    else notify(`Something went wrong: ${error.message}`, "error");
    return undefined;
  }
}

// A page of a list into its table (replacing what was there on a reset); returns the next page's cursor.
// The store currency, which the analytics answers do not carry, is learnt from the first item.
export function showPage(tableId, moreId, page, reset, row, emptyText) {
  const body = $(tableId).querySelector("tbody");
  if (reset) body.replaceChildren();
  if (reset && page.items.length) state.currency = page.items[0].currency;
  body.append(...page.items.map((item) => row(item)));
  if (reset && !page.items.length) {
    const columns = $(tableId).querySelectorAll("thead th").length;
    body.append(el("tr", {}, el("td", { colSpan: columns, className: "muted" }, emptyText)));
  }
  $(moreId).hidden = !page.next_cursor;
  return page.next_cursor;
}

// Rows of text cells; the last columns (numbers) are right-aligned like their headings.
export function fillTable(id, items, cells) {
  const heads = [...$(id).querySelectorAll("thead th")];
  const body = $(id).querySelector("tbody");
  body.replaceChildren(
    ...items.map((item) =>
      el("tr", {}, ...cells(item).map((text, i) => el("td", { className: heads[i]?.className || "" }, text))),
    ),
  );
  if (!items.length) body.append(el("tr", {}, el("td", { colSpan: heads.length, className: "muted" }, "Nothing in this range.")));
}
