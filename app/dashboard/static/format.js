// Money is integer minor units (cents) in the API; these turn it into text and back without floating point.

const formatters = new Map();

function formatter(currency) {
  if (!formatters.has(currency)) {
    formatters.set(currency, new Intl.NumberFormat(undefined, { style: "currency", currency }));
  }
  return formatters.get(currency);
}

// How many minor units digits the currency has: 2 for USD and EUR, 0 for JPY.
export function minorDigits(currency) {
  return formatter(currency).resolvedOptions().maximumFractionDigits;
}

function splitMinor(cents, digits) {
  const negative = cents < 0;
  const text = String(Math.abs(Math.round(cents))).padStart(digits + 1, "0");
  const whole = text.slice(0, text.length - digits) || "0";
  return { negative, whole, fraction: text.slice(text.length - digits) };
}

// "$1,234.50" from 123450 cents; the integer and fraction parts are formatted apart, so no float rounds them.
export function money(cents, currency) {
  const digits = minorDigits(currency);
  const { negative, whole, fraction } = splitMinor(cents, digits);
  const parts = formatter(currency).formatToParts(negative ? -1 : 1);
  const wholeText = new Intl.NumberFormat(undefined, { useGrouping: true }).format(BigInt(whole));
  let out = "";
  for (const part of parts) {
    if (part.type === "integer") out += wholeText;
    else if (part.type === "fraction") out += fraction;
    else out += part.value;
  }
  return out;
}

// "1234.50" for an input field.
export function plainAmount(cents, currency) {
  const digits = minorDigits(currency);
  const { negative, whole, fraction } = splitMinor(cents, digits);
  return `${negative ? "-" : ""}${whole}${digits ? `.${fraction}` : ""}`;
}

// 123450 from "1234.5" or "1234.50"; null for anything that is not a plain non-negative amount.
export function parseAmount(text, currency) {
  const digits = minorDigits(currency);
  const pattern = digits ? new RegExp(`^(\\d{1,12})(?:[.,](\\d{0,${digits}}))?$`) : /^(\d{1,12})$/;
  const match = pattern.exec(text.trim());
  if (!match) return null;
  const fraction = (match[2] || "").padEnd(digits, "0");
  return Number(match[1]) * 10 ** digits + Number(fraction || "0");
}

export function count(n) {
  return new Intl.NumberFormat().format(n);
}

export function percent(rate) {
  return new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 }).format(rate);
}

// "2026-11-26 10:00" from an ISO timestamp, in UTC like the API.
export function utcMinute(iso) {
  return new Date(iso).toISOString().slice(0, 16).replace("T", " ");
}

export function utcDay(iso) {
  return new Date(iso).toISOString().slice(0, 10);
}

export function shortId(id) {
  return id.slice(0, 8);
}
