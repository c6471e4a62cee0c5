// The catalogue (inactive products too), with price and stock edits.
import { getJson, sendJson } from "./api.js";
import { count, money, parseAmount, plainAmount } from "./format.js";
import { $, el, guarded, notify, showPage } from "./ui.js";

const PAGE_SIZE = 20;
let cursor = null;

export async function loadProducts(reset) {
  if (reset) cursor = null;
  const q = $("catalogue-q").value.trim();
  const page = await getJson("/products", { limit: PAGE_SIZE, q, cursor });
  cursor = showPage("catalogue", "catalogue-more", page, reset, (p) => productRow(p), "No products.");
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
